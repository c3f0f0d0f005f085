"""Click commands run by MLproject entry scripts (`mlflow run . -e main|tune|leaderboard`).

The user of ``mlflow run`` typed ``-P rank_by=auc``, not ``--rank-by auc``: an error names
the parameter as they gave it, as one ``Error:`` line like the ``recsys`` commands', with
no usage line of a script they never called.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import NoReturn

import click

from recsys.tracking.parent import record_project_run_error
from recsys.tracking.server import TrackingServerError


def entry_error(message: str) -> NoReturn:
    """Exit as the CLI does on a bad parameter: one ``Error:`` line, status 2."""
    click.echo(f"Error: {message}", err=True)
    raise SystemExit(2)


def script_error(error: Exception) -> int:
    """What a plain entry script (train, prepare) does with an error it stops on: record
    it on the run ``mlflow run`` made (unless the store itself is what failed), print one
    ``Error:`` line; returns the exit status."""
    if not isinstance(error, TrackingServerError):  # an unusable store cannot take it
        record_project_run_error(error)
    print(f"Error: {error}", file=sys.stderr)
    return 2


def mlflow_wording(message: str, options: Mapping[str, str]) -> str:
    """``message`` with each command option (``--rank-by``) written as the MLflow parameter
    it came from (``-P rank_by``); ``options`` maps parameter names to options."""
    for key, option in sorted(options.items(), key=lambda item: -len(item[1])):
        message = message.replace(option, f"-P {key}")
    return message


def run_entry_command(
    command: click.Command, args: list[str], options: Mapping[str, str]
) -> NoReturn:
    """Run ``command`` with ``args`` (translated from the entry point's parameters); its
    errors name the parameters (``options``: parameter name -> option) and exit non-zero."""
    try:
        command.main(args=args, prog_name="mlflow run", standalone_mode=False)
    except click.exceptions.Exit as stop:
        raise SystemExit(stop.exit_code) from None
    except click.Abort:
        click.echo("Aborted!", err=True)
        raise SystemExit(1) from None
    except click.ClickException as error:
        message = mlflow_wording(error.format_message(), options)
        if error.exit_code == click.UsageError.exit_code:  # a bad -P: the store is fine
            record_project_run_error(click.ClickException(message))
        click.echo(f"Error: {message}", err=True)
        raise SystemExit(error.exit_code) from None
    sys.exit(0)
