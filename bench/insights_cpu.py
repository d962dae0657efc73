"""CPU cost of labelling a backlog: run_backlog (what `threadline insights run` does) on an
existing database, reporting threads, CPU seconds and CPU milliseconds per thread, and peak RSS.
CPU time moves much less than wall time when the machine is shared.

    THREADLINE_INSIGHTS=off threadline demo --no-serve --events 100000 \\
        --database-url sqlite:////tmp/cpu.db
    PYTHONPATH=. .venv/bin/python bench/insights_cpu.py /tmp/cpu.db

It labels the database in place: copy it first to compare two versions of the code.
"""

from __future__ import annotations

import resource
import sys
import time

from threadline.insights.run import run_backlog


def main() -> int:
    started = time.perf_counter()
    done = run_backlog(
        f"sqlite:///{sys.argv[1]}", project=None, since_us=None, progress=lambda *_: None
    )
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    print(
        f"threads {done.threads_labelled} failed {done.failed} "
        f"wall {time.perf_counter() - started:.0f} s, cpu {cpu:.1f} s, "
        f"{cpu * 1000 / max(done.threads_labelled, 1):.2f} cpu ms per thread, "
        f"peak RSS {usage.ru_maxrss / 1024:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
