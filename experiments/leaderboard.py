"""MLproject entry script of the leaderboard (``mlflow run . -e leaderboard``).

Usage: ``python experiments/leaderboard.py dataset=all``. Under ``mlflow run`` the tables
and the chart are logged into the run MLflow created for the entry point (tagged
``recsys.kind=leaderboard`` so later leaderboards skip it).
"""

from __future__ import annotations

import sys

from recsys.cli.leaderboard import leaderboard_command


def to_cli_arguments(argv: list[str]) -> list[str]:
    """``["dataset=books"]`` -> ``["--dataset", "books"]``; an empty value means every dataset."""
    args: list[str] = []
    for token in argv:
        key, sep, value = token.lstrip("-").partition("=")
        if not sep or key != "dataset":
            raise SystemExit(f"error: the leaderboard takes only dataset=D, got {token!r}")
        if value:
            args += ["--dataset", value]
    return args


if __name__ == "__main__":
    leaderboard_command.main(
        args=to_cli_arguments(sys.argv[1:]), prog_name="experiments/leaderboard.py"
    )
