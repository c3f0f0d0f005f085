"""MLproject entry script of the leaderboard (``mlflow run . -e leaderboard``).

Usage: ``python experiments/leaderboard.py dataset=all rank_by=matched_auc_all``. Under
``mlflow run`` the tables and the charts are logged into the run MLflow created for the
entry point (tagged ``recsys.kind=leaderboard`` so later leaderboards skip it).
"""

from __future__ import annotations

import sys

from recsys.cli.leaderboard import leaderboard_command

OPTIONS = {"dataset": "--dataset", "rank_by": "--rank-by"}


def to_cli_arguments(argv: list[str]) -> list[str]:
    """``["dataset=books", "rank_by=mrr"]`` -> ``["--dataset", "books", "--rank-by", "mrr"]``;
    an empty value means the option's default (every dataset, matched_auc_all)."""
    args: list[str] = []
    for token in argv:
        key, sep, value = token.lstrip("-").partition("=")
        if not sep or key not in OPTIONS:
            raise SystemExit(
                f"error: the leaderboard takes only dataset=D and rank_by=METRIC, got {token!r}"
            )
        if value:
            args += [OPTIONS[key], value]
    return args


if __name__ == "__main__":
    leaderboard_command.main(  # the entry point's purpose is the logged report: --log
        args=[*to_cli_arguments(sys.argv[1:]), "--log"], prog_name="experiments/leaderboard.py"
    )
