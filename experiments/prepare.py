"""MLproject entry script: prepare a dataset (``mlflow run . -e prepare -P dataset=...``).

Usage: ``python experiments/prepare.py key=value ... [--key value ...]`` with DataConfig
parameters; an empty value means the default. Later method runs on the same dataset and
split settings reuse the prepared tables instead of parsing again.
"""

from __future__ import annotations

import logging
import sys

from train import parse_arguments  # experiments/ is the script's folder, so on sys.path

from recsys.cli.entry_points import script_error
from recsys.data.summary import describe_prepared
from recsys.tracking.params import ParameterError
from recsys.tracking.run import run_prepare
from recsys.tracking.server import TrackingServerError


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        _, params = parse_arguments(["prepare", *argv])
        dataset = run_prepare(params)
    except (ValueError, ParameterError, TrackingServerError) as err:
        return script_error(err)
    print(describe_prepared(dataset))  # as `recsys prepare` says it
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
