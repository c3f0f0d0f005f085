"""`recsys main`: every method on one dataset, then the leaderboard (the README's first command)."""

from __future__ import annotations

from pathlib import Path

import click

from recsys.cli import show_stage_messages
from recsys.cli.prepare import SAME_AS_PARAM, data_dir_option, products_option, quiet_option
from recsys.config import DATASET_FORMS, DataConfig
from recsys.data.errors import DataError
from recsys.tracking.params import ParameterError
from recsys.tracking.tuning.errors import StudyError


@click.command("main")
@click.option(
    "--dataset",
    default=DataConfig.model_fields["dataset"].default,
    show_default=True,
    metavar="D",
    help=f"{DATASET_FORMS}. Synthetic data is generated locally: no download.",
)
@data_dir_option
@products_option(SAME_AS_PARAM)
@click.option(
    "--methods",
    default="all",
    show_default=True,
    metavar="all|M1,M2",
    help="`all` or a comma list of registered methods, run in that order (not empty).",
)
@click.option(
    "-P",
    "--param",
    "param_pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="a parameter for every chosen method that has it (`-P epochs=2`), or for one "
    "method (`-P skipgram.dim=64`). Repeatable. Each method's defaults otherwise. A key "
    "that no chosen method has, or one scoped to a method not in --methods, is an error "
    "(after checking it against that method's settings).",
)
@click.option(
    "--seeds",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    metavar="N",
    help="train each method N times with seeds seed, seed+1, ... on the same split; the "
    "leaderboard shows the mean, the spread, and ties whose intervals overlap the leader's. "
    "Deterministic methods without a training seed (popularity, itemknn, adamic_adar) run "
    "once, and the job says so.",
)
@click.option(
    "--tracking-uri",
    default=None,
    metavar="URI",
    help="MLflow tracking server or store (default: $MLFLOW_TRACKING_URI, else "
    "sqlite:///mlflow.db in the working directory).",
)
@click.option(
    "--tuned",
    is_flag=True,
    help="train each method with the best settings its tuning study found on DATASET "
    "(`recsys tune`); methods without a study use their defaults, and the job says which. "
    "Tuned runs are tagged recsys.tuned=true and shown as 'METHOD (tuned)'.",
)
@click.option(
    "--storage",
    default=None,
    metavar="URL",
    envvar="RECSYS_STUDY_STORAGE",
    help="where --tuned looks for studies [default: $RECSYS_STUDY_STORAGE, else "
    "optuna.db beside a local tracking store, else in $RECSYS_CACHE_DIR or "
    "~/.cache/recsys].",
)
@quiet_option("no progress bars or stage messages; the job's line per method run stays")
@click.option("--progress", "_progress", is_flag=True, hidden=True)  # the default; kept working
def main_command(
    dataset: str,
    data_dir: Path | None,
    products: Path | None,
    methods: str,
    param_pairs: tuple[str, ...],
    seeds: int,
    tracking_uri: str | None,
    tuned: bool,
    storage: str | None,
    quiet: bool,
    _progress: bool,
) -> None:
    """Prepare DATASET, train and evaluate every method as its own run, print the leaderboard.

    Each method run is a top-level run tagged recsys.main_run=<the id of the job's own
    run, tagged recsys.kind=main>, so the MLflow UI lists one row per method; the job
    ends with the link to the UI's comparison of them. A method that fails is recorded as a FAILED
    run (tag recsys.error, artifact error.txt) and the job goes on; the exit status is 1
    when any method failed, after the summary and the leaderboard of the rest.
    """
    # MLflow and torch load only when the job runs: `recsys --help` stays quick.
    from recsys.tracking.main.job import parse_overrides, resolve_methods, run_main_job
    from recsys.tracking.main.summary import format_summary
    from recsys.tracking.server import TrackingServerError

    progress = not quiet
    if products is not None:  # as -P products=FILE, so giving both is a repeat
        param_pairs = (*param_pairs, f"products={products}")
    if progress:  # our stage messages; gensim's INFO chatter stays off
        show_stage_messages()
    try:
        result = run_main_job(
            dataset,
            resolve_methods(methods),
            parse_overrides(param_pairs, data_dir),
            seeds=seeds,
            tracking_uri=tracking_uri,
            progress=progress,
            echo=lambda line: click.echo(line, err=True),
            tuned=tuned,
            storage=storage,
        )
    except (ParameterError, TrackingServerError, DataError, StudyError) as err:
        raise click.ClickException(str(err)) from err
    if result.leaderboard is not None:
        click.echo(result.leaderboard.text)
        click.echo(result.leaderboard.champion_lines, nl=False)
    click.echo(format_summary(result), nl=False)
    if not result.ok:
        raise SystemExit(1)
