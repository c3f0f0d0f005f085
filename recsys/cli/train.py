"""`recsys train METHOD`: one tracked run of one method on one dataset."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from recsys.cli import show_stage_messages
from recsys.cli.prepare import SAME_AS_PARAM, data_dir_option, products_option, quiet_option
from recsys.config import DATASET_FORMS, DataConfig, search_space
from recsys.data.errors import DataError
from recsys.methods import get_method, method_names
from recsys.tracking.params import (
    ParameterError,
    describe_params,
    refuse_repeats,
    split_assignment,
)

EPILOG = (
    "Methods: "
    + ", ".join(method_names())
    + ". Parameters are flat KEY=VALUE pairs validated against the method's settings "
    "before any work starts (an unknown key or a bad value fails at once, naming it); "
    "`recsys train METHOD --help-params` lists every parameter of METHOD with its type, "
    "default and meaning. Example: recsys train skipgram --dataset synthetic-small "
    "-P dim=64 -P epochs=2"
)


def parse_assignments(assignments: tuple[str, ...]) -> dict[str, str]:
    """``("dim=64", "lr=0.1")`` -> ``{"dim": "64", "lr": "0.1"}``; a repeated key fails."""
    try:
        pairs = [split_assignment(assignment) for assignment in assignments]
        refuse_repeats((key for key, _ in pairs), how="{key}=...")
        return dict(pairs)
    except ParameterError as error:
        raise click.BadParameter(str(error), param_hint="-P") from error


def params_help(method_name: str) -> str:
    """The parameter table of a method: dataset settings, then the method's own."""
    method = get_method(method_name)
    lines = [f"{method_name}: {method.description}", ""]
    for title, model in (("dataset", DataConfig), (method_name, method.config_class)):
        lines.append(f"{title} parameters:")
        for name, annotation, default, description in describe_params(model):
            lines.append(f"  {name} ({annotation}, default {default})")
            if description:
                lines.append(f"      {description}")
        lines.append("")
    space = search_space(method.config_class)
    lines.append(
        f"search space of `recsys tune {method_name}` (LOW:HIGH ranges, (log) on a log scale, "
        "A|B choices; --space KEY=LOW:HIGH or KEY=A|B narrows one, -P KEY=VALUE fixes it):"
    )
    lines += [f"  {name}: {tunable}" for name, tunable in space.items()] or ["  (nothing to tune)"]
    return "\n".join(lines) + "\n"


@click.command("train", epilog=EPILOG)
@click.argument("method", type=click.Choice(method_names()), metavar="METHOD")
@click.option(
    "--dataset",
    "-d",
    default=None,
    metavar="D",
    help=f"{DATASET_FORMS}; for a pairs file, -P columns=... --products FILE "
    "[default: synthetic-small]",
)
@data_dir_option
@products_option(SAME_AS_PARAM)
@click.option(
    "-P",
    "--param",
    "assignments",
    multiple=True,
    metavar="KEY=VALUE",
    help="a method or dataset parameter; repeat for several (see --help-params)",
)
@click.option(
    "--tracking-uri",
    default=None,
    metavar="URI",
    help="MLflow tracking server or store [default: $MLFLOW_TRACKING_URI, else "
    "sqlite:///mlflow.db in the working directory]",
)
@click.option("--help-params", is_flag=True, help="list METHOD's parameters and exit")
@quiet_option()
def train_command(
    method: str,
    dataset: str | None,
    data_dir: Path | None,
    products: Path | None,
    assignments: tuple[str, ...],
    tracking_uri: str | None,
    help_params: bool,
    quiet: bool,
) -> None:
    """Train METHOD on a dataset and log the run to MLflow.

    The run carries the validated parameters, dataset tags (source, checksum, counts),
    AUC all / seen / cold-start, PR-AUC, per-batch loss and sampled AUC, minutes, peak
    memory, figures, the embeddings and a pyfunc model (runs:/<run id>/model) that scores
    pairs and lists similar products. Prints the run id.
    """
    if help_params:
        click.echo(params_help(method))
        return
    if products is not None:  # as -P products=FILE, so giving both is a repeat
        assignments = (*assignments, f"products={products}")
    params: dict[str, object] = dict(parse_assignments(assignments))
    if dataset is not None:
        params["dataset"] = dataset
    if data_dir is not None:
        params["data_dir"] = data_dir
    if not quiet:
        show_stage_messages(others=logging.INFO)
    from recsys.tracking.run import run_method  # MLflow and torch load only when training
    from recsys.tracking.server import TrackingServerError
    from recsys.training.checkpoint import CheckpointMismatch

    try:
        run_id = run_method(method, params, tracking_uri=tracking_uri, progress=not quiet)
    except (ParameterError, TrackingServerError, DataError, CheckpointMismatch) as err:
        raise click.ClickException(str(err)) from err
    click.echo(run_id)
