"""`recsys tune METHOD`: an Optuna study of one method's settings, then a tuned run."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from recsys.cli import show_stage_messages
from recsys.cli.prepare import data_dir_option, quiet_option
from recsys.cli.train import parse_assignments
from recsys.config import DATASET_FORMS
from recsys.data.errors import DataError
from recsys.methods import method_names
from recsys.tracking import names
from recsys.tracking.params import ParameterError
from recsys.tracking.tuning.errors import StudyError

EPILOG = (
    "Trials train on an inner split of the TRAINING pairs and are scored there (never on "
    "the validation pairs the leaderboard reports); each is a run nested under this "
    "command's tune run. Then the best settings train on all training pairs as an "
    "ordinary run tagged recsys.tuned=true, which the leaderboard shows as 'METHOD "
    "(tuned)'. Workers on several machines share a study: start `recsys tune METHOD "
    "--study NAME --storage postgresql://... --trials N --no-final` on each; together they "
    "stop at N trials. Example: recsys tune skipgram --dataset synthetic-small --trials 20 "
    "--space 'lr=0.005:0.05,dim=64|128' -P epochs=3"
)


@click.command("tune", epilog=EPILOG)
@click.argument("method", type=click.Choice(method_names()), metavar="METHOD")
@click.option(
    "--dataset",
    "-d",
    default=None,
    metavar="D",
    help=f"{DATASET_FORMS} [default: synthetic-small]",
)
@data_dir_option
@click.option(
    "--trials",
    type=int,
    required=True,
    metavar="N",
    help="the study's number of trials, every worker's and every state counted "
    "(a study that already holds N runs none, then the tuned run)",
)
@click.option(
    "--study",
    default=None,
    metavar="NAME",
    help="the Optuna study to create or join [default: METHOD-<dataset label>, plus 8 hex "
    "digits of the data's key when a study of other data has that name]; "
    "a name made for another method, dataset or settings is refused",
)
@click.option(
    "--storage",
    default=None,
    metavar="URL",
    envvar="RECSYS_STUDY_STORAGE",
    help="Optuna storage: sqlite:///FILE or postgresql://user:password@host/db "
    "(shared by workers on many machines) [default: $RECSYS_STUDY_STORAGE, else "
    "optuna.db beside a local tracking store, else in $RECSYS_CACHE_DIR or "
    "~/.cache/recsys]",
)
@click.option(
    "--space",
    "space",
    multiple=True,
    metavar="KEY=LOW:HIGH,KEY=A|B",
    help="narrow the search space (see `recsys train METHOD --help-params`); "
    "repeatable or comma-separated; quote it in a shell, where | is a pipe",
)
@click.option(
    "-P",
    "--param",
    "assignments",
    multiple=True,
    metavar="KEY=VALUE",
    help="a dataset parameter or a fixed method setting (not searched); repeatable",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="start no new trial after this long (the running one finishes)",
)
@click.option(
    "--metric",
    type=click.Choice(list(names.TUNE_OBJECTIVES)),
    default=names.DEFAULT_TUNE_OBJECTIVE,
    show_default=True,
    help="what trials maximise, on the inner split (matched_: degree-matched negatives, the "
    "leaderboard's ranking; the study's negatives reward popularity)",
)
@click.option(
    "--inner-fraction",
    type=click.FloatRange(0, 0.5, min_open=True, max_open=True),
    default=None,
    help="share of the training pairs held out to score trials "
    "[default: the dataset's validation_fraction, 1/3]",
)
@click.option(
    "--pruner",
    type=click.Choice(["median", "none"]),
    default="median",
    show_default=True,
    help="median: stop a trial whose epoch metric falls below "
    "the median of earlier trials at that epoch (after 5 trials, from epoch 2)",
)
@click.option(
    "--seed",
    type=int,
    default=42,
    show_default=True,
    help="seed of the TPE sampler (trial k draws with seed+k)",
)
@click.option(
    "--final/--no-final",
    default=True,
    show_default=True,
    help="after the sweep, train the best settings on all training pairs as a run "
    "tagged recsys.tuned=true (workers sharing a study: --no-final on all but one)",
)
@click.option(
    "--ranking-floor/--no-ranking-floor",
    default=True,
    show_default=True,
    help="the first trial trains the defaults, and the best is chosen among trials whose "
    "recall@10 on the inner split is at least theirs (tuning AUC alone traded most of "
    "the walk methods' ranking for a tie)",
)
@click.option(
    "--tracking-uri",
    default=None,
    metavar="URI",
    help="MLflow tracking server or store [default: $MLFLOW_TRACKING_URI, else "
    "sqlite:///mlflow.db in the working directory]",
)
@quiet_option()
def tune_command(
    method: str,
    dataset: str | None,
    data_dir: Path | None,
    trials: int,
    study: str | None,
    storage: str | None,
    space: tuple[str, ...],
    assignments: tuple[str, ...],
    timeout: float | None,
    metric: str,
    inner_fraction: float | None,
    pruner: str,
    seed: int,
    final: bool,
    ranking_floor: bool,
    tracking_uri: str | None,
    quiet: bool,
) -> None:
    """Search METHOD's settings on a dataset with Optuna (TPE, median pruning), then train
    the best as a tuned run. Prints the tuned run's id (or the tune run's with --no-final).
    """
    from recsys.tracking.server import TrackingServerError
    from recsys.tracking.tuning.job import TuneRequest, run_tune  # optuna loads on use
    from recsys.tracking.tuning.space import parse_space

    params: dict[str, object] = dict(parse_assignments(assignments))
    if dataset is not None:
        params["dataset"] = dataset
    if data_dir is not None:
        params["data_dir"] = str(data_dir)
    if not quiet:
        show_stage_messages()
    logging.getLogger("optuna").setLevel(logging.WARNING)  # our own line per trial instead
    try:
        request = TuneRequest(
            method=method,
            trials=trials,
            params=params,
            space=parse_space(space),
            study=study,
            storage=storage,
            timeout_s=timeout,
            metric=metric,
            inner_fraction=inner_fraction,
            seed=seed,
            pruner=pruner,  # type: ignore[arg-type]
            final=final,
            ranking_floor=ranking_floor,
        )
        result = run_tune(
            request,
            tracking_uri=tracking_uri,
            progress=not quiet,
            echo=lambda line: None if quiet else click.echo(line, err=True),
        )
    except (ParameterError, TrackingServerError, DataError, StudyError) as err:
        raise click.ClickException(str(err)) from err
    counts = ", ".join(f"{n} {state}" for state, n in result.counts.items() if n)
    best = "none" if result.best_value is None else f"{result.best_value:.4f}"
    click.echo(
        f"study {result.study}: {counts or 'no trials'}; best {metric} {best} "
        f"{result.best_params}; tune run {result.parent_run_id}",
        err=True,
    )
    if not result.ok:
        raise SystemExit(1)
    click.echo(result.final_run_id or result.parent_run_id)
