"""The leaderboard: the best finished run of every method, per dataset, from the tracking server.

Everything comes from the tracking server through ``MlflowClient.search_experiments`` and
``search_runs`` with filter strings, never from files on disk, so the same command ranks a
laptop's ``mlflow.db`` and a team's PostgreSQL-backed server alike. Only runs that
finished (status FINISHED) and carry a method tag count; failed and running runs are
ignored, as are earlier leaderboard runs (tag ``recsys.kind=leaderboard``).

The pure parts (:func:`rows_from_runs`, :func:`build_leaderboard`) take plain run records,
so they are tested without a server; :func:`fetch_method_runs` and :func:`log_leaderboard`
are the only functions that talk to MLflow.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from mlflow import MlflowClient
from mlflow.entities import Run, ViewType

from recsys.tracking import names

PRIMARY_DATASETS = ("electronics", "books")  # shown first, in this order
EXPERIMENT_BATCH = 100  # experiment ids per search_runs call (REST servers cap the list)
PAGE_SIZE = 1000  # runs per search_runs page

# Runs that are not method runs say what they are, so rankings can leave them out.
TAG_KIND = "recsys.kind"
KIND_LEADERBOARD = "leaderboard"  # a leaderboard report (this module)
KIND_MAIN = "main"  # the parent run of a `recsys main` job
TAG_MAIN_RUN = "recsys.main_run"  # on a method run: the id of the main job that started it


@dataclass(frozen=True)
class LeaderboardRow:
    """One line of a dataset's table: a run of ours, or a published reference number.

    Reference rows carry ``source`` (where the number was published) instead of a run id.
    """

    method: str
    variant: str
    auc_all: float | None
    auc_seen: float | None
    auc_cold_start: float | None
    minutes: float | None
    run_id: str = ""
    source: str = ""  # non-empty marks a reference row (not a run on this server)

    @property
    def is_reference(self) -> bool:
        return bool(self.source)

    @property
    def label(self) -> str:
        """The method as shown: ``mf (binary)``, ``side_info (learned)``, ``skipgram``."""
        return f"{self.method} ({self.variant})" if self.variant else self.method


@dataclass(frozen=True)
class DatasetTable:
    """A dataset's ranked rows plus, for Electronics, the study's reference numbers."""

    dataset: str
    rows: list[LeaderboardRow]  # best finished run per method, AUC all descending
    references: list[LeaderboardRow] = field(default_factory=list)
    n_runs: int = 0  # finished method runs considered for this dataset


@dataclass(frozen=True)
class Leaderboard:
    """Every dataset's table, in display order, and the server they came from."""

    tracking_uri: str
    tables: list[DatasetTable]

    @property
    def is_empty(self) -> bool:
        return not self.tables


# Published numbers on Amazon Electronics (the study this project reproduces, and the EGES
# paper: Wang et al., "Billion-scale Commodity Embedding for E-commerce Recommendation in
# Alibaba", KDD 2018, Amazon Electronics column). None = not reported.
ELECTRONICS_REFERENCES: tuple[LeaderboardRow, ...] = (
    LeaderboardRow("skipgram", "PyTorch", 0.9554, 0.9855, None, 23.63, source="study"),
    LeaderboardRow("mf_sequences", "", 0.9320, None, None, 70.39, source="study"),
    LeaderboardRow("word2vec", "gensim", 0.9082, 0.9735, None, 2.58, source="study"),
    LeaderboardRow("mf", "", 0.7951, None, None, 45.0, source="study"),
    LeaderboardRow("side_info", "with side info", 0.9575, None, None, None, source="EGES paper"),
    LeaderboardRow("skipgram", "no side info", 0.9327, None, None, None, source="EGES paper"),
)


def canonical_dataset(dataset: str) -> str:
    """``electronics`` for ``electronics`` and ``/data/meta_Electronics.json.gz`` alike.

    The dataset tag holds the dataset as given (a registry name or a file path); ordering
    and reference numbers go by this canonical form. Synthetic datasets keep their
    ``synthetic-`` prefix, so they never get the real data's reference numbers.
    """
    return names.dataset_label(dataset).lower().removeprefix("meta_")


def reference_rows(dataset: str) -> list[LeaderboardRow]:
    """Published reference numbers for a dataset (only real Electronics has any)."""
    return list(ELECTRONICS_REFERENCES) if canonical_dataset(dataset) == "electronics" else []


def order_datasets(datasets: Iterable[str]) -> list[str]:
    """Electronics and Books first (the study's datasets), then the rest alphabetically."""

    def key(dataset: str) -> tuple[int, str, str]:
        canonical = canonical_dataset(dataset)
        rank = PRIMARY_DATASETS.index(canonical) if canonical in PRIMARY_DATASETS else 99
        return rank, canonical, dataset

    return sorted(set(datasets), key=key)


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def row_from_run(
    run_id: str, tags: Mapping[str, str], metrics: Mapping[str, float]
) -> LeaderboardRow:
    """The leaderboard line of one run, from its tags and latest metric values."""
    return LeaderboardRow(
        method=tags.get(names.TAG_METHOD, "?"),
        variant=tags.get(names.TAG_VARIANT, ""),
        auc_all=_finite(metrics.get(names.METRIC_AUC_ALL)),
        auc_seen=_finite(metrics.get(names.METRIC_AUC_SEEN)),
        auc_cold_start=_finite(metrics.get(names.METRIC_AUC_COLD_START)),
        minutes=_finite(metrics.get(names.METRIC_TRAIN_MINUTES)),
        run_id=run_id,
    )


def best_per_method(rows: Iterable[LeaderboardRow]) -> list[LeaderboardRow]:
    """Keep each (method, variant)'s row with the highest AUC all; rank them by it.

    Rows without AUC all cannot be ranked and are dropped. Ties keep the first row seen,
    so the order of the input (newest first, from search_runs) breaks them.
    """
    best: dict[tuple[str, str], LeaderboardRow] = {}
    for row in rows:
        if row.auc_all is None:
            continue
        key = (row.method, row.variant)
        if key not in best or row.auc_all > (best[key].auc_all or -math.inf):
            best[key] = row
    return sorted(best.values(), key=lambda r: (-(r.auc_all or 0.0), r.label))


def build_leaderboard(
    tracking_uri: str, runs: Sequence[tuple[str, Mapping[str, str], Mapping[str, float]]]
) -> Leaderboard:
    """Group (run_id, tags, metrics) records by dataset and rank each dataset's methods.

    Leaderboard runs and runs without a method tag are skipped here too, so the function is
    safe on any list of runs, not only on the filtered result of :func:`fetch_method_runs`.
    """
    by_dataset: dict[str, list[LeaderboardRow]] = {}
    for run_id, tags, metrics in runs:
        if tags.get(TAG_KIND) == KIND_LEADERBOARD or names.TAG_METHOD not in tags:
            continue
        dataset = tags.get(names.TAG_DATASET, "unknown")
        by_dataset.setdefault(dataset, []).append(row_from_run(run_id, tags, metrics))
    tables = [
        DatasetTable(
            dataset=dataset,
            rows=best_per_method(by_dataset[dataset]),
            references=reference_rows(dataset),
            n_runs=len(by_dataset[dataset]),
        )
        for dataset in order_datasets(by_dataset)
    ]
    return Leaderboard(tracking_uri=tracking_uri, tables=[t for t in tables if t.rows])


def method_runs_filter(dataset: str | None = None, *, file_label: bool = False) -> str:
    """The search_runs filter string: finished runs of a method with AUC all logged.

    With ``file_label`` the dataset is matched as the name of a metadata file
    (``meta_Books`` matches a run whose dataset tag is ``/data/meta_Books.json.gz``).
    """
    clauses = [
        "attributes.status = 'FINISHED'",
        f"tags.`{names.TAG_METHOD}` LIKE '%'",
        f"metrics.`{names.METRIC_AUC_ALL}` >= 0",
    ]
    if dataset is not None:
        if any(c in dataset for c in "'`%"):
            raise ValueError(f"dataset name {dataset!r} must not contain quotes, backticks or %")
        value = f"%{dataset}.json%" if file_label else dataset
        operator = "LIKE" if file_label else "="
        clauses.append(f"tags.`{names.TAG_DATASET}` {operator} '{value}'")
    return " AND ".join(clauses)


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

    ``dataset`` is matched exactly against the dataset tag first; when nothing matches and
    it is a bare name, it is matched as a file's name (``meta_Digital_Music``).
    """
    experiment_ids = _active_experiment_ids(client)
    runs = _search(client, experiment_ids, method_runs_filter(dataset))
    if dataset is not None and not runs and names.dataset_label(dataset) == dataset:
        candidates = _search(client, experiment_ids, method_runs_filter(dataset, file_label=True))
        runs = [
            r
            for r in candidates
            if names.dataset_label(r.data.tags.get(names.TAG_DATASET, "")) == dataset
        ]
    return runs


def query_leaderboard(client: MlflowClient, dataset: str | None = None) -> Leaderboard:
    """Fetch the finished method runs from the server and rank them per dataset."""
    runs = fetch_method_runs(client, dataset)
    records = [(r.info.run_id, r.data.tags, r.data.metrics) for r in runs]
    return build_leaderboard(client.tracking_uri, records)


def known_datasets(client: MlflowClient) -> list[str]:
    """Datasets that have at least one finished method run (for a helpful error message)."""
    return order_datasets(
        r.data.tags.get(names.TAG_DATASET, "unknown") for r in fetch_method_runs(client)
    )
