"""Data flows one way: a lower package never imports a higher one (docs/architecture.md).

Checked on the source with ``ast`` (imports inside functions count too), so a lazy import
cannot hide an arrow that runs against the flow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "recsys"

# package -> the recsys packages it must never import. The shared types
# (recsys.embeddings, recsys.callbacks, recsys.typing, recsys.config) sit below them all.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "data": ("graph", "training", "evaluation", "models", "tracking", "cli", "methods"),
    "graph": ("training", "evaluation", "models", "tracking", "cli", "methods"),
    "evaluation": ("training", "models", "tracking", "cli", "methods"),
    "training": ("models", "tracking", "cli", "methods"),
    "models": ("tracking", "cli"),
    "tracking": ("cli",),
}
SHARED_MODULES = ("embeddings.py", "callbacks.py", "typing.py", "config.py")


def _imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def _violations(files: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in files:
        for module in sorted(_imported_modules(path)):
            parts = module.split(".")
            if parts[0] == "recsys" and len(parts) > 1 and parts[1] in forbidden:
                found.append(f"{path.relative_to(PACKAGE.parent)} imports {module}")
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_never_imports_a_higher_layer(package: str) -> None:
    files = sorted((PACKAGE / package).rglob("*.py"))
    assert files, f"recsys/{package} has no modules"
    assert _violations(files, FORBIDDEN[package]) == []


def test_shared_types_import_no_layer() -> None:
    layers = ("data", "graph", "training", "evaluation", "models", "tracking", "cli", "methods")
    assert _violations([PACKAGE / name for name in SHARED_MODULES], layers) == []


def test_the_check_sees_a_violation(tmp_path: Path) -> None:
    """The checker itself finds an arrow against the flow (it must be able to fail)."""
    module = PACKAGE / "data" / "_layering_probe.py"
    try:
        module.write_text("def f():\n    from recsys.models.base import Method\n")
        assert _violations([module], FORBIDDEN["data"]) == [
            "recsys/data/_layering_probe.py imports recsys.models.base"
        ]
    finally:
        module.unlink()
