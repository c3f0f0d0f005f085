"""The `recsys` command line: thin click commands that parse options and call the package.

Each command lives in its own module here and is registered below.
"""

from __future__ import annotations

import logging
import os
import signal
import warnings
from typing import Any

import click

from recsys import __version__

DEBUG_ENV = "RECSYS_DEBUG"
# MLflow's INFO lines that repeat for every run (system metrics started / stopped, input
# example validated) and ask nothing of the reader; its warnings still show.
MLFLOW_CHATTER = ("mlflow.system_metrics", "mlflow.pyfunc")


def show_stage_messages(others: int = logging.WARNING) -> None:
    """Print recsys's stage messages as plain lines, other libraries' from level ``others``
    (MLflow's per-run bookkeeping stays off: :data:`MLFLOW_CHATTER`)."""
    logging.basicConfig(level=others, format="%(message)s")
    logging.getLogger("recsys").setLevel(logging.INFO)


class OneLineErrors(click.Group):
    """Every command's unexpected error as one ``Error:`` line naming its type, not a
    traceback; ``--debug`` (or ``RECSYS_DEBUG=1``) re-raises it with the traceback. A stop
    signal ends with ``Stopped by SIGINT.`` (or SIGTERM) and the shell's status for it,
    128 + the signal's number, after what the tracking layer said it kept."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt as stop:  # Ctrl-C or SIGTERM: not Click's bare "Aborted!"
            name = str(getattr(stop, "signal_name", "SIGINT"))  # the tracking layer's stop
            click.echo(f"Stopped by {name}.", err=True)
            number = signal.Signals.__members__.get(name, signal.SIGINT)
            raise click.exceptions.Exit(128 + number.value) from None
        except Exception as error:
            if debug_enabled():
                raise
            locked = locked_store_message(error)
            if locked:
                raise click.ClickException(locked) from error
            first_line = (str(error).strip().splitlines() or [""])[0]
            raise click.ClickException(
                f"{type(error).__name__}: {first_line} (run with --debug for the traceback)"
            ) from error


def locked_store_message(error: BaseException) -> str:
    """What to do when another process held the sqlite tracking store past MLflow's wait
    (its ``OperationalError: database is locked`` named neither store nor remedy); "" for
    any other error."""
    chain: BaseException | None = error
    while chain is not None and "database is locked" not in str(chain):
        chain = chain.__cause__ or chain.__context__
    if chain is None:
        return ""
    import mlflow  # only on this error: the CLI's import stays light

    return (
        f"tracking store {mlflow.get_tracking_uri()} is locked by another process (sqlite: "
        "database is locked): let that process finish and run again, or give another "
        "--tracking-uri; nothing of this command was logged past what it printed"
    )


def one_line_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    line: str | None = None,
) -> str:
    """A warning as the command line shows it: ``Warning: <message>``, without the source
    file and line that Python prints (``--debug`` keeps them)."""
    return f"Warning: {message}\n"


def debug_enabled() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip().lower() in ("1", "true", "yes")


@click.group(
    cls=OneLineErrors,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="recsys")
@click.option(
    "--debug",
    is_flag=True,
    help=f"show the traceback of an unexpected error (or set {DEBUG_ENV}=1)",
)
def main(debug: bool) -> None:
    """Learn item-to-item product embeddings from co-purchase data, tracked with MLflow.

    Typical flow: `recsys prepare DATASET`, then `recsys train METHOD --dataset DATASET`,
    then `recsys leaderboard`. Every command has --help.
    """
    if debug:
        os.environ[DEBUG_ENV] = "1"
    _quiet_bookkeeping(click.get_current_context())


def _quiet_bookkeeping(context: click.Context) -> None:
    """For the command's duration: MLflow's per-run INFO lines off (with or without
    --quiet) and, without --debug, warnings as one line."""
    chatter = [logging.getLogger(name) for name in MLFLOW_CHATTER]
    levels = [logger.level for logger in chatter]
    for logger in chatter:
        logger.setLevel(logging.WARNING)
    shown_before = warnings.formatwarning
    if not debug_enabled():
        warnings.formatwarning = one_line_warning

    def restore() -> None:
        for logger, level in zip(chatter, levels, strict=True):
            logger.setLevel(level)
        warnings.formatwarning = shown_before

    context.call_on_close(restore)


# Commands register themselves here, one import per module (keeps this file conflict-free).
from recsys.cli.leaderboard import leaderboard_command  # noqa: E402

main.add_command(leaderboard_command)
from recsys.cli.main_job import main_command  # noqa: E402

main.add_command(main_command)
from recsys.cli.train import train_command  # noqa: E402

main.add_command(train_command)
from recsys.cli.prepare import prepare_command  # noqa: E402

main.add_command(prepare_command)
from recsys.cli.describe import describe_command  # noqa: E402

main.add_command(describe_command)
from recsys.cli.tune import tune_command  # noqa: E402

main.add_command(tune_command)
