"""MLproject entry script of the leaderboard (``mlflow run . -e leaderboard``).

Usage: ``python experiments/leaderboard.py dataset=all rank_by=matched_auc_all``. Under
``mlflow run`` the tables and the charts are logged into the run MLflow created for the
entry point (tagged ``recsys.kind=leaderboard`` so later leaderboards skip it).
"""

from __future__ import annotations

import sys

from recsys.cli.entry_points import entry_error, run_entry_command
from recsys.cli.leaderboard import leaderboard_command
from recsys.tracking.mlproject import entry_arguments

OPTIONS = {"dataset": "--dataset", "rank_by": "--rank-by"}


def to_cli_arguments(argv: list[str]) -> list[str]:
    """``["dataset=books", "rank_by=mrr"]`` -> ``["--dataset", "books", "--rank-by", "mrr"]``;
    an empty value means the option's default (every dataset, matched_auc_all)."""
    try:
        pairs = entry_arguments(argv)
    except ValueError as err:
        entry_error(str(err))
    args: list[str] = []
    for key, value in pairs:
        if key not in OPTIONS:
            entry_error(
                f"-P {key}={value}: the leaderboard takes only -P dataset=D and -P rank_by=METRIC"
            )
        if value:
            args += [OPTIONS[key], value]
    return args


if __name__ == "__main__":  # the entry point's purpose is the logged report: --log
    run_entry_command(leaderboard_command, [*to_cli_arguments(sys.argv[1:]), "--log"], OPTIONS)
