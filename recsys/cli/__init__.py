"""The `recsys` command line: thin click commands that parse options and call the package.

Each command lives in its own module here and is registered below.
"""

from __future__ import annotations

import os
from typing import Any

import click

from recsys import __version__

DEBUG_ENV = "RECSYS_DEBUG"


class OneLineErrors(click.Group):
    """Every command's unexpected error as one ``Error:`` line naming its type, not a
    traceback; ``--debug`` (or ``RECSYS_DEBUG=1``) re-raises it with the traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:
            if debug_enabled():
                raise
            first_line = (str(error).strip().splitlines() or [""])[0]
            raise click.ClickException(
                f"{type(error).__name__}: {first_line} (run with --debug for the traceback)"
            ) from error


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
