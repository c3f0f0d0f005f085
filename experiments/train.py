"""MLproject entry script: one tracked run of one method (``mlflow run . -e METHOD``).

Usage: ``python experiments/train.py METHOD key=value ... [--key value ...]``.
``key=value`` pairs come from the entry point's declared parameters, ``--key value`` from
undeclared ``-P`` options (MLflow appends those); an empty value means "the default". All
of them go to :func:`recsys.tracking.run.run_method`, whose pydantic schemas validate
them before any work, so ``-P dim=-3`` fails naming ``dim``.
"""

from __future__ import annotations

import logging
import sys

from recsys.cli.entry_points import script_error
from recsys.tracking.mlproject import entry_arguments
from recsys.tracking.params import ParameterError
from recsys.tracking.run import run_method
from recsys.tracking.server import TrackingServerError


def parse_arguments(argv: list[str]) -> tuple[str, dict[str, str]]:
    """``[METHOD, "dim=64", "--lr", "0.1"]`` -> ``(METHOD, {"dim": "64", "lr": "0.1"})``."""
    if not argv or "=" in argv[0] or argv[0].startswith("-"):
        raise ValueError("usage: train.py METHOD key=value ... [--key value ...]")
    method, rest = argv[0], argv[1:]
    return method, {key: value for key, value in entry_arguments(rest) if value != ""}


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        method, params = parse_arguments(argv)
        run_id = run_method(method, params)
    except (ValueError, ParameterError, TrackingServerError) as err:
        return script_error(err)
    print(run_id)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
