"""The layers import downwards only: nothing below api/ imports threadline.api (or the dashboard,
the app or the CLI, which sit on top of it)."""

from __future__ import annotations

import ast
from pathlib import Path

import threadline

PACKAGE = Path(threadline.__file__).parent
# The layers above the HTTP glue; everything else is below it.
UPPER = ("api", "dashboard", "app", "cli", "__main__")
FORBIDDEN = tuple(f"threadline.{name}" for name in UPPER)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _lower_modules() -> list[Path]:
    return [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0].removesuffix(".py") not in UPPER
    ]


def test_lower_layers_never_import_the_http_layer() -> None:
    modules = _lower_modules()
    assert PACKAGE / "services.py" in modules and PACKAGE / "store" / "idempotency.py" in modules
    offending = {
        str(path.relative_to(PACKAGE)): sorted(
            name for name in _imports(path) if name.startswith(FORBIDDEN)
        )
        for path in modules
    }
    assert {path: names for path, names in offending.items() if names} == {}
