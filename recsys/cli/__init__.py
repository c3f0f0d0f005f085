"""The `recsys` command line: thin click commands that parse options and call the package.

Each command lives in its own module here and is registered below.
"""

from __future__ import annotations

import click

from recsys import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="recsys")
def main() -> None:
    """Learn item-to-item product embeddings from co-purchase data, tracked with MLflow.

    Typical flow: `recsys prepare DATASET`, then `recsys train METHOD --dataset DATASET`,
    then `recsys leaderboard`. Every command has --help.
    """


# Commands register themselves here, one import per module (keeps this file conflict-free).
from recsys.cli.leaderboard import leaderboard_command  # noqa: E402

main.add_command(leaderboard_command)
from recsys.cli.main_job import main_command  # noqa: E402

main.add_command(main_command)
from recsys.cli.train import train_command  # noqa: E402

main.add_command(train_command)
from recsys.cli.prepare import prepare_command  # noqa: E402

main.add_command(prepare_command)
