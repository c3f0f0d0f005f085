"""MLproject entry script of the `main` job (``mlflow run . -e main``).

Usage: ``python experiments/main.py dataset=D methods=all profile=auto [--key value ...]``.
The declared parameters arrive as ``key=value``; undeclared ``-P`` options arrive as
``--key value`` (MLflow appends them) and become overrides for the methods, exactly as
``recsys main -P key=value`` (``-P skipgram.dim=64`` reaches one method only). Under
``mlflow run`` the job's parent run is the run MLflow created for the entry point.
"""

from __future__ import annotations

import sys

from recsys.cli.main_job import main_command

DECLARED = ("dataset", "methods", "profile")


def to_cli_arguments(argv: list[str]) -> list[str]:
    """``["dataset=x", "--dim", "64"]`` -> ``["--dataset", "x", "-P", "dim=64"]``.

    An empty declared value keeps the command's default.
    """
    args: list[str] = []
    index = 0
    while index < len(argv):
        token = argv[index]
        if token.startswith("--") and "=" not in token:
            if index + 1 >= len(argv):
                raise SystemExit(f"error: parameter {token} has no value")
            key, value = token[2:], argv[index + 1]
            index += 2
        elif "=" in token:
            key, _, value = token.lstrip("-").partition("=")
            index += 1
        else:
            raise SystemExit(f"error: expected key=value or --key value, got {token!r}")
        if key in DECLARED:
            if value != "":
                args += [f"--{key}", value]
        elif value != "":
            args += ["-P", f"{key}={value}"]
    return args


if __name__ == "__main__":
    main_command.main(args=to_cli_arguments(sys.argv[1:]), prog_name="experiments/main.py")
