"""MLproject entry script of the tuning job (``mlflow run . -e tune``).

Usage: ``python experiments/tune.py method=M dataset=D trials=N study= storage= space=
timeout= metric=matched_auc_all final=true ranking_floor=true [--key value]``. The declared
parameters become ``recsys tune`` options (an empty value keeps the option's default);
undeclared ``-P`` options arrive as ``--key value`` and become fixed settings
(``-P epochs=2``). Under ``mlflow run`` the run MLflow created for the entry point is the
tune run; trials and the tuned run are nested under it.
"""

from __future__ import annotations

import sys

from recsys.cli.entry_points import entry_error, run_entry_command
from recsys.cli.tune import tune_command
from recsys.tracking.mlproject import entry_arguments

OPTIONS = ("dataset", "trials", "study", "storage", "space", "timeout", "metric")
FLAGS = ("final", "ranking_floor")  # true / false -> --final / --no-final
TRUE = ("true", "1", "yes")
# How an error names each parameter's option; 'METHOD' is the command's argument.
NAMES = {
    "method": "'METHOD'",
    **{key: f"--{key}" for key in OPTIONS},
    **{key: f"--{key.replace('_', '-')}" for key in FLAGS},
    **{f"{key}=false": f"--no-{key.replace('_', '-')}" for key in FLAGS},
}


def to_cli_arguments(argv: list[str]) -> list[str]:
    """``["method=mf", "trials=5", "final=false", "--dim", "64"]`` ->
    ``["mf", "--trials", "5", "--no-final", "-P", "dim=64"]``."""
    try:
        pairs = entry_arguments(argv)
    except ValueError as err:
        entry_error(str(err))
    method: list[str] = []
    args: list[str] = []
    for key, value in pairs:
        if value == "":
            continue
        if key == "method":
            method = [value]
        elif key in FLAGS:
            flag = key.replace("_", "-")
            args.append(f"--{flag}" if value.strip().lower() in TRUE else f"--no-{flag}")
        elif key in OPTIONS:
            args += [f"--{key}", value]
        else:
            args += ["-P", f"{key}={value}"]
    return method + args


if __name__ == "__main__":
    run_entry_command(tune_command, to_cli_arguments(sys.argv[1:]), NAMES)
