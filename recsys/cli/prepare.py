"""`recsys prepare DATASET`: parse, split and cache a dataset, then say what it holds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from pydantic import ValidationError

from recsys.config import DATASET_FORMS, DataConfig
from recsys.data.errors import DataError

if TYPE_CHECKING:
    from recsys.data.dataset import PreparedDataset

# CLI option -> DataConfig field, so a validation error names the option the user typed.
OPTION_OF_FIELD = {
    "dataset": "DATASET",
    "data_dir": "--data-dir",
    "study_filters": "--no-study-filters",
    "validation_fraction": "--validation-fraction",
    "split_seed": "--seed",
    "columns": "--columns",
    "header": "--header / --no-header",
    "products": "--products",
}
FIELDS = DataConfig.model_fields

EPILOG = (
    f"DATASET is {DATASET_FORMS}. electronics and books are UCSD's 2014 category files, "
    "read from DATA_DIR/raw/ or downloaded there; synthetic data is generated once "
    "(synthetic-electronics-v1, synthetic-books-v1: the first generator); a twin is "
    "fitted to FILE once and cached in DATA_DIR/twins/ (SCALE 1 is FILE's size). A data "
    "file may be gzip-compressed, its format detected from its content: Amazon metadata "
    "of 2014 or 2018; a pairs file has two product-id columns, optional weight and "
    "relation columns, a header or not, and # comments skipped. The result is cached in "
    "DATA_DIR/prepared/, keyed by the file's sha256 and these settings: running again "
    "loads it."
)


def build_config(**values: Any) -> DataConfig:
    """A validated DataConfig from the options given (None = the default)."""
    given = {name: value for name, value in values.items() if value is not None}
    try:
        return DataConfig(**given)
    except ValidationError as error:
        problem = error.errors()[0]
        field = str(problem["loc"][0]) if problem["loc"] else "dataset"
        raise click.BadParameter(
            str(problem["msg"]), param_hint=OPTION_OF_FIELD.get(field, field)
        ) from error


data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="where raw files and prepared datasets live [default: $RECSYS_DATA_DIR or ./data]",
)


def products_option(note: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--products FILE``; ``note`` follows the description (where -P also sets it)."""
    return click.option(
        "--products",
        type=click.Path(path_type=Path),  # checked when read: one error line, exit 1
        default=None,
        metavar="FILE",
        help=f"{FIELDS['products'].description}{note}",
    )


SAME_AS_PARAM = " (the same as -P products=FILE)"


def quiet_option(
    help_text: str = "no progress bars or stage messages",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``-q/--quiet/--no-progress``: one flag, one meaning in every command that shows
    progress; ``help_text`` says what else the command leaves out or keeps."""
    return click.option("--quiet", "-q", "--no-progress", is_flag=True, help=help_text)


def dataset_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """DATASET and the options that say how to read and split it (shared with `describe`)."""
    options: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
        click.argument("dataset", required=False, metavar="[DATASET]"),
        data_dir_option,
        click.option(
            "--study-filters/--no-study-filters",
            default=None,
            help=f"{FIELDS['study_filters'].description} [default: on]",
        ),
        click.option(
            "--validation-fraction",
            type=float,
            default=None,
            metavar="F",
            help=f"{FIELDS['validation_fraction'].description}, in (0, 1) [default: 1/3]",
        ),
        click.option(
            "--seed",
            type=int,
            default=None,
            metavar="N",
            help=f"{FIELDS['split_seed'].description} [default: {FIELDS['split_seed'].default}]",
        ),
        click.option(
            "--columns",
            default=None,
            metavar="A,B[,W[,R]]",
            help=f"{FIELDS['columns'].description}",
        ),
        click.option(
            "--header/--no-header",
            default=None,
            help=f"{FIELDS['header'].description}",
        ),
        products_option(),
    ]
    for option in reversed(options):  # as stacked decorators: the first listed is outermost
        command = option(command)
    return command


def prepare_for_options(*, progress: bool, **values: Any) -> PreparedDataset:
    """The prepared (or cached) dataset named by :func:`dataset_options`' values."""
    config = build_config(
        dataset=values["dataset"],
        data_dir=values["data_dir"],
        study_filters=values["study_filters"],
        validation_fraction=values["validation_fraction"],
        split_seed=values["seed"],
        columns=values["columns"],
        header=values["header"],
        products=values["products"],
    )
    # Imported here: `recsys --help` should not pay for pandas and the parser.
    from recsys.data.prepare import prepare_dataset

    try:
        return prepare_dataset(config, progress=progress)
    except DataError as error:
        raise click.ClickException(str(error)) from error


@click.command("prepare", epilog=EPILOG)
@dataset_options
@quiet_option("no progress bars; print only the cache folder")
def prepare_command(quiet: bool, **dataset: Any) -> None:
    """Parse DATASET into products and weighted pairs, split them, and cache the result.

    Prints the records read and kept, products, unique pairs per relation type, the
    train/validation sizes (every dataset carries both validation protocols: the study's
    negatives, uniform over the distinct validation products, and degree-matched ones,
    beside the same positives), what was skipped (malformed lines, a truncated file) and the
    cache folder. DATASET defaults to synthetic-small.
    """
    prepared = prepare_for_options(progress=not quiet, **dataset)
    from recsys.data.summary import describe_prepared

    click.echo(str(prepared.folder) if quiet else describe_prepared(prepared))
