"""threadline and the ceiling as import targets for granian (bench/run.py --http-server granian,
issue 14), to compare the server with uvicorn on both. Settings come from THREADLINE_* as for
`threadline serve`; granian must be importable (installed aside, see docs/performance.md).

Under granian threadline has none of threadline.protocol's deadlines on heads and on slow
readers: this is for measuring only.
"""

from __future__ import annotations

import gc
from typing import Any

from ceiling import app as ceiling

from threadline.app import create_app
from threadline.config import settings_from_env
from threadline.serving import GC_THRESHOLDS

__all__ = ["ceiling", "threadline"]


def threadline() -> Any:
    """The app as `threadline serve` builds it (granian --factory granian_app:threadline),
    with the collector's thresholds `threadline serve` sets."""
    gc.set_threshold(*GC_THRESHOLDS)
    return create_app(settings_from_env())
