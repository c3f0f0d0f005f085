"""MLproject entry script of the `main` job (``mlflow run . -e main``).

Usage: ``python experiments/main.py dataset=D methods=all seeds=1 [--key value]``.
The declared parameters arrive as ``key=value``; undeclared ``-P`` options arrive as
``--key value`` (MLflow appends them) and become overrides for the methods, exactly as
``recsys main -P key=value`` (``-P skipgram.dim=64`` reaches one method only). Under
``mlflow run`` the job's parent run is the run MLflow created for the entry point.
"""

from __future__ import annotations

import sys

from recsys.cli.entry_points import entry_error, run_entry_command
from recsys.cli.main_job import main_command
from recsys.tracking.mlproject import entry_arguments

DECLARED = ("dataset", "methods", "seeds")
OPTIONS = {key: f"--{key}" for key in DECLARED}


def to_cli_arguments(argv: list[str]) -> list[str]:
    """``["dataset=x", "--dim", "64"]`` -> ``["--dataset", "x", "-P", "dim=64"]``.

    An empty declared value keeps the command's default.
    """
    try:
        pairs = entry_arguments(argv)
    except ValueError as err:
        entry_error(str(err))
    args: list[str] = []
    for key, value in pairs:
        if key in DECLARED:
            if value != "":
                args += [f"--{key}", value]
        elif value != "":
            args += ["-P", f"{key}={value}"]
    return args


if __name__ == "__main__":
    run_entry_command(main_command, to_cli_arguments(sys.argv[1:]), OPTIONS)
