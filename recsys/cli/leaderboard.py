"""`recsys leaderboard`: rank the best finished run of every method, per dataset."""

from __future__ import annotations

import click

from recsys.tracking.leaderboard.rows import DEFAULT_RANK_BY, RANKABLE_METRICS, check_rank_by


@click.command("leaderboard")
@click.option(
    "--tracking-uri",
    default=None,
    metavar="URI",
    help="MLflow tracking server or store to rank (default: $MLFLOW_TRACKING_URI, else "
    "sqlite:///mlflow.db in the working directory).",
)
@click.option(
    "--dataset",
    default=None,
    metavar="D",
    help="only this dataset: its name (electronics, synthetic-small, ...), the file path it was "
    "trained on, or that file's name with or without its extensions (meta_Books, pairs.csv); "
    "`all` (the default) = every dataset.",
)
@click.option(
    "--rank-by",
    default=DEFAULT_RANK_BY,
    show_default=True,
    metavar="METRIC",
    help=f"the metric each dataset's methods are ranked by: {', '.join(RANKABLE_METRICS)}; "
    f"the registry's champion follows {DEFAULT_RANK_BY} only (--log with another metric "
    "moves no alias).",
)
@click.option(
    "--log/--no-log",
    default=False,
    show_default=True,
    help="also record the tables (Markdown, HTML), the charts and the curves in a run tagged "
    "recsys.kind=leaderboard; looking at the leaderboard logs nothing.",
)
def leaderboard_command(
    tracking_uri: str | None, dataset: str | None, rank_by: str, log: bool
) -> None:
    """Print the leaderboard: per dataset, each method's best finished run by --rank-by.

    Both protocols (the study's and degree-matched negatives), recall@10 and NDCG@10 over
    the whole catalog, each with half its 95% interval; a method whose interval of the
    ranking metric overlaps the leader's is marked tied. Popularity and the graph
    baselines (itemknn, adamic_adar) are marked [baseline]: what the embeddings must beat.

    Runs are found on the tracking server by their tags (recsys.method, recsys.dataset);
    failed and running runs and earlier leaderboard runs are ignored. Electronics and
    Books come first; the Electronics table also lists the study's published numbers,
    marked as references.

    An empty server prints what to do and exits 0; an unknown --dataset exits 1 and lists
    the datasets that have runs; runs none of which logs the --rank-by metric exit 1 saying
    so (with other tables, a line under them says so); an unreachable server exits 1
    naming its URI, as does an sqlite store file that does not exist unless --log (only
    logging creates a store: a misspelled path is not taken for an empty one).
    """
    # MLflow loads only when a command runs: `recsys --help` stays quick.
    from mlflow import MlflowClient

    from recsys.tracking.leaderboard.query import known_datasets
    from recsys.tracking.leaderboard.report import publish_leaderboard
    from recsys.tracking.leaderboard.tables import empty_message, unranked_lines
    from recsys.tracking.server import TrackingServerError, check_tracking_uri

    if dataset in ("", "all"):
        dataset = None
    try:
        check_rank_by(rank_by)
    except ValueError as err:
        message = str(err).removeprefix("--rank-by: ")
        raise click.BadParameter(message, param_hint="--rank-by") from None
    try:
        uri = check_tracking_uri(tracking_uri, create_store=log)
    except TrackingServerError as err:
        raise click.ClickException(str(err)) from err
    client = MlflowClient(tracking_uri=uri)
    report = publish_leaderboard(client, dataset, rank_by=rank_by, log=log)
    if report.board.is_empty:
        if report.board.unranked:
            raise click.ClickException("; ".join(unranked_lines(report.board)))
        if dataset is not None:
            others = known_datasets(client)
            if others:
                raise click.ClickException(
                    f"no finished method runs of dataset {dataset!r} on {uri}; "
                    f"datasets with runs: {', '.join(others)}"
                )
        click.echo(empty_message(uri, dataset), nl=False)
        return
    click.echo(report.text, nl=False)
    if report.run_id:
        click.echo(f"\nLogged as run {report.run_id} (tag recsys.kind=leaderboard).")
        click.echo(report.champion_lines, nl=False)
