"""The leaderboard's queries: finished method runs from the tracking server.

Everything comes from the tracking server through ``MlflowClient.search_experiments`` and
``search_runs`` with filter strings, never from files on disk, so the same command ranks a
laptop's ``mlflow.db`` and a team's PostgreSQL-backed server alike. Only runs that
finished (status FINISHED) and carry a method tag count; failed and running runs are
ignored, as are earlier leaderboard runs (tag ``recsys.kind=leaderboard``).
"""

from __future__ import annotations

from pathlib import PurePath

from mlflow import MlflowClient
from mlflow.entities import Run, ViewType

from recsys.tracking import names
from recsys.tracking.leaderboard.rows import (
    DEFAULT_RANK_BY,
    Leaderboard,
    build_leaderboard,
    check_rank_by,
    order_datasets,
)

EXPERIMENT_BATCH = 100  # experiment ids per search_runs call (REST servers cap the list)
PAGE_SIZE = 1000  # runs per search_runs page


def method_runs_filter(dataset: str | None = None) -> str:
    """The search_runs filter string: finished runs of a method with AUC all logged (of
    ``dataset`` exactly, when given)."""
    clauses = [
        "attributes.status = 'FINISHED'",
        f"tags.`{names.TAG_METHOD}` LIKE '%'",
        f"metrics.`{names.METRIC_AUC_ALL}` >= 0",
    ]
    if dataset is not None:
        if any(c in dataset for c in "'`%"):
            raise ValueError(f"dataset name {dataset!r} must not contain quotes, backticks or %")
        clauses.append(f"tags.`{names.TAG_DATASET}` = '{dataset}'")
    return " AND ".join(clauses)


def file_stem(dataset: str) -> str:
    """A dataset file's name without its directory and extensions (``/d/pairs.csv`` ->
    ``pairs``, ``meta_Books.json.gz`` -> ``meta_Books``); a registry name or a twin keeps
    its label (a twin is never its real file)."""
    label = names.dataset_label(dataset)
    if label.startswith("synthetic-like-") or ("/" not in dataset and "." not in dataset):
        return label
    name = PurePath(dataset).name
    while (stem := PurePath(name).stem) != name and PurePath(name).suffix[1:].isalpha():
        name = stem
    return name or label


def _active_experiment_ids(client: MlflowClient) -> list[str]:
    ids: list[str] = []
    token: str | None = None
    while True:
        page = client.search_experiments(
            view_type=ViewType.ACTIVE_ONLY, max_results=PAGE_SIZE, page_token=token
        )
        ids.extend(e.experiment_id for e in page)
        token = page.token
        if not token:
            return ids


def _search(client: MlflowClient, experiment_ids: list[str], filter_string: str) -> list[Run]:
    runs: list[Run] = []
    for start in range(0, len(experiment_ids), EXPERIMENT_BATCH):
        token: str | None = None
        while True:
            page = client.search_runs(
                experiment_ids[start : start + EXPERIMENT_BATCH],
                filter_string=filter_string,
                run_view_type=ViewType.ACTIVE_ONLY,
                max_results=PAGE_SIZE,
                order_by=["attributes.start_time DESC"],
                page_token=token,
            )
            runs.extend(page)
            token = page.token
            if not token:
                break
    return runs


def fetch_method_runs(client: MlflowClient, dataset: str | None = None) -> list[Run]:
    """Every finished method run on the server (optionally of one dataset), newest first.

    ``dataset`` is matched exactly against the dataset tag first; when nothing matches it
    is matched by file name without directory and extension, so ``meta_Digital_Music``,
    ``pairs`` and ``/elsewhere/pairs.csv`` find runs tagged ``/data/meta_Digital_Music.json.gz``
    and ``pairs.csv`` (a tag holds the path as the run was given it, relative or not).
    """
    experiment_ids = _active_experiment_ids(client)
    runs = _search(client, experiment_ids, method_runs_filter(dataset))
    if dataset is not None and not runs:
        wanted = file_stem(dataset)
        runs = [
            r
            for r in _search(client, experiment_ids, method_runs_filter())
            if file_stem(r.data.tags.get(names.TAG_DATASET, "")) == wanted
        ]
    return runs


def query_leaderboard(
    client: MlflowClient, dataset: str | None = None, rank_by: str = DEFAULT_RANK_BY
) -> Leaderboard:
    """Fetch the finished method runs from the server and rank them per dataset."""
    runs = fetch_method_runs(client, dataset)
    records = [(r.info.run_id, r.data.tags, r.data.metrics) for r in runs]
    return build_leaderboard(client.tracking_uri, records, check_rank_by(rank_by))


def known_datasets(client: MlflowClient) -> list[str]:
    """Datasets that have at least one finished method run (for a helpful error message)."""
    return order_datasets(
        r.data.tags.get(names.TAG_DATASET, "unknown") for r in fetch_method_runs(client)
    )
