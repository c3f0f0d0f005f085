"""The command line starts without the heavy libraries: `recsys --help` and option errors
answer in about a second, and each command loads MLflow, torch or Optuna when it runs."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "mlflow", "optuna", "gensim", "pandas", "matplotlib")


def _loaded_after(statement: str) -> list[str]:
    """The HEAVY modules a fresh interpreter holds after running ``statement``."""
    code = f"import sys\n{statement}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_the_command_line_loads_no_heavy_library_until_a_command_runs() -> None:
    assert _loaded_after("import recsys.cli") == []


def test_the_check_sees_a_heavy_import() -> None:
    assert "mlflow" in _loaded_after("import recsys.cli\nimport recsys.tracking.server")
