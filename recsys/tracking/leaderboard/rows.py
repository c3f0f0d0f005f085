"""The leaderboard's rows: the best finished run (or seed group) of every method, per dataset.

Pure functions on plain run records ``(run_id, tags, metrics)``, so they are tested
without a server: :func:`build_leaderboard` groups runs by dataset, merges the runs of a
``recsys main --seeds N`` job into one row, keeps each method's best, ranks by the chosen
metric and marks rows whose 95% interval overlaps the leader's as tied.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import t as t_dist

from recsys.methods import BASELINE_METHODS
from recsys.tracking import names
from recsys.tracking.names import TAG_KIND, TAG_SEED_GROUP

PRIMARY_DATASETS = ("electronics", "books")  # shown first, in this order

# Metrics a leaderboard can rank by (--rank-by); each may carry _ci_low / _ci_high.
RANKABLE_METRICS: tuple[str, ...] = (
    names.METRIC_AUC_ALL,
    names.METRIC_AUC_SEEN,
    names.METRIC_AUC_COLD_START,
    names.METRIC_PR_AUC,
    names.METRIC_MATCHED_AUC_ALL,
    names.METRIC_MATCHED_AUC_SEEN,
    names.METRIC_MATCHED_AUC_COLD_START,
    names.METRIC_RECALL_AT_10,
    names.METRIC_RECALL_AT_100,
    names.METRIC_NDCG_AT_10,
    names.METRIC_MRR,
)
# Degree-matched AUC: under the study's negatives (uniform over distinct products)
# popularity alone scores high on real data and would lead the board and become the
# champion; against negatives drawn as often per product as its positives it is at chance.
DEFAULT_RANK_BY = names.METRIC_MATCHED_AUC_ALL


def check_rank_by(metric: str) -> str:
    """``metric`` if the leaderboard can rank by it.

    Raises:
        ValueError: naming ``--rank-by`` and the metrics it accepts.
    """
    if metric not in RANKABLE_METRICS:
        raise ValueError(
            f"--rank-by: unknown metric {metric!r}; choose one of: {', '.join(RANKABLE_METRICS)}"
        )
    return metric


@dataclass(frozen=True)
class LeaderboardRow:
    """One line of a dataset's table: a run of ours, or a published reference number.

    Reference rows carry ``source`` (where the number was published) instead of a run id.
    ``values`` holds every rankable metric the run logged and its 95% interval bounds;
    ``tied`` marks a row whose interval of the ranking metric overlaps the leader's.
    """

    method: str
    variant: str
    auc_all: float | None
    auc_seen: float | None
    auc_cold_start: float | None
    minutes: float | None
    run_id: str = ""
    source: str = ""  # non-empty marks a reference row (not a run on this server)
    values: dict[str, float] = field(default_factory=dict)
    tied: bool = False
    seed_group: str = ""  # runs of one `recsys main --seeds N` job and method share it
    n_seeds: int = 1  # runs averaged into this row
    spread: dict[str, float] = field(default_factory=dict)  # metric -> sd over seeds
    tuned: bool = False  # trained with a tuning study's best settings (recsys.tuned=true)
    settings: str = ""  # the run's settings away from its method's defaults (recsys.settings)

    @property
    def is_reference(self) -> bool:
        return bool(self.source)

    @property
    def is_baseline(self) -> bool:
        """Popularity and the graph baselines: what the learned methods must beat."""
        return self.method in BASELINE_METHODS

    @property
    def label(self) -> str:
        """The method as shown: ``mf (binary)``, ``side_info (learned)``, ``skipgram``,
        ``skipgram (tuned)``, ``mf (binary, tuned)``."""
        notes = [n for n in (self.variant, "tuned" if self.tuned else "") if n]
        return f"{self.method} ({', '.join(notes)})" if notes else self.method

    def value(self, metric: str) -> float | None:
        """The metric's value (the AUC fields for reference rows), None when not logged."""
        if metric in self.values:
            return self.values[metric]
        return getattr(self, metric, None) if metric in ("auc_all", "auc_seen") else None

    def interval(self, metric: str) -> tuple[float, float] | None:
        low = self.values.get(f"{metric}{names.CI_LOW_SUFFIX}")
        high = self.values.get(f"{metric}{names.CI_HIGH_SUFFIX}")
        return None if low is None or high is None else (low, high)


@dataclass(frozen=True)
class DatasetTable:
    """A dataset's ranked rows plus, for Electronics, the study's reference numbers."""

    dataset: str
    rows: list[LeaderboardRow]  # best finished run per method, the board's rank_by descending
    references: list[LeaderboardRow] = field(default_factory=list)
    n_runs: int = 0  # finished method runs considered for this dataset
    # Runs under this dataset name left out: scored on other data than its newest run's (the
    # file's content or a data setting changed, :func:`same_data`).
    other_data_runs: int = 0
    # The dataset's statistics (data.<key> metrics without the prefix) from its newest run
    # that logged them; empty when none did (runs from before they were logged).
    statistics: dict[str, float] = field(default_factory=dict)
    # The newest run's data tags (recsys.data_key, recsys.checksum): what a registered
    # champion must have been scored on to be compared with this table's leader.
    data_tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Leaderboard:
    """Every dataset's table, in display order, and the server they came from.

    ``unranked`` maps a dataset whose runs log no value of the ranking metric (a cold-start
    AUC on data without a cold-start slice) to its run count: it has no table, and the
    output says so instead of leaving it out without a word. ``rank_by`` is the metric every
    table is ranked by (the board's alone: a board of unranked datasets has no table).
    """

    tracking_uri: str
    tables: list[DatasetTable]
    unranked: dict[str, int] = field(default_factory=dict)
    rank_by: str = DEFAULT_RANK_BY

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
    suffixes = ("", names.CI_LOW_SUFFIX, names.CI_HIGH_SUFFIX)
    values = {
        f"{metric}{suffix}": value
        for metric in RANKABLE_METRICS
        for suffix in suffixes
        if (value := _finite(metrics.get(f"{metric}{suffix}"))) is not None
    }
    return LeaderboardRow(
        method=tags.get(names.TAG_METHOD, "?"),
        variant=tags.get(names.TAG_VARIANT, ""),
        auc_all=_finite(metrics.get(names.METRIC_AUC_ALL)),
        auc_seen=_finite(metrics.get(names.METRIC_AUC_SEEN)),
        auc_cold_start=_finite(metrics.get(names.METRIC_AUC_COLD_START)),
        minutes=_finite(metrics.get(names.METRIC_TRAIN_MINUTES)),
        run_id=run_id,
        values=values,
        seed_group=tags.get(TAG_SEED_GROUP, ""),
        tuned=tags.get(names.TAG_TUNED) == "true",
        settings=tags.get(names.TAG_SETTINGS, ""),
    )


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def aggregate_seeds(rows: Sequence[LeaderboardRow]) -> LeaderboardRow:
    """One row for the runs of a seed group: means, the sd over seeds, and per metric an
    interval spanning every run's own 95% interval and the seeds' t-interval of the mean
    (wide on purpose: a leaderboard must not call a seed's luck a win). A metric none of
    the runs logged an interval of (``pr_auc``) gets none: the seeds' spread alone leaves
    out the validation sample's noise, so it is no 95% interval of the metric."""
    first = rows[0]
    if len(rows) == 1:
        return first
    values: dict[str, float] = {}
    spread: dict[str, float] = {}
    for metric in RANKABLE_METRICS:
        samples = np.array([r.values[metric] for r in rows if metric in r.values])
        if samples.size == 0:
            continue
        mean = float(samples.mean())
        sd = float(samples.std(ddof=1)) if samples.size > 1 else 0.0
        half = float(t_dist.ppf(0.975, samples.size - 1)) * sd / np.sqrt(samples.size)
        lows = [r.values[f"{metric}{names.CI_LOW_SUFFIX}"] for r in rows if r.interval(metric)]
        highs = [r.values[f"{metric}{names.CI_HIGH_SUFFIX}"] for r in rows if r.interval(metric)]
        values[metric], spread[metric] = mean, sd
        if not lows or not highs:
            continue
        values[f"{metric}{names.CI_LOW_SUFFIX}"] = min([mean - half, *lows])
        values[f"{metric}{names.CI_HIGH_SUFFIX}"] = max([mean + half, *highs])
    return dataclasses.replace(
        first,
        auc_all=values.get(names.METRIC_AUC_ALL),
        auc_seen=values.get(names.METRIC_AUC_SEEN),
        auc_cold_start=values.get(names.METRIC_AUC_COLD_START),
        minutes=_mean([r.minutes for r in rows]),
        values=values,
        n_seeds=len(rows),
        spread=spread,
    )


def merge_seed_groups(rows: Iterable[LeaderboardRow]) -> list[LeaderboardRow]:
    """Rows of one seed group become one aggregated row; other rows pass unchanged."""
    singles: list[LeaderboardRow] = []
    groups: dict[str, list[LeaderboardRow]] = {}
    for row in rows:
        if row.seed_group:
            groups.setdefault(row.seed_group, []).append(row)
        else:
            singles.append(row)
    return singles + [aggregate_seeds(group) for group in groups.values()]


def best_per_method(
    rows: Iterable[LeaderboardRow], rank_by: str = DEFAULT_RANK_BY
) -> list[LeaderboardRow]:
    """Keep each (method, variant, tuned)'s representative row; rank them by ``rank_by``.

    Tuned and default runs of a method are separate rows, side by side.

    A method's row is its best run, except that a seed group's mean (``--seeds N``) stands
    for the method unless a run beats it beyond its 95% interval: the best of several single
    runs is partly their luck, the mean of N seeds is the better estimate. Rows without the
    metric cannot be ranked and are dropped. Equal values keep the first row seen, so the
    order of the input (newest first, from search_runs) breaks them. A row whose 95%
    interval of ``rank_by`` overlaps the leader's is marked ``tied``.
    """
    candidates: dict[tuple[str, str, str], list[LeaderboardRow]] = {}
    for row in rows:
        if row.value(rank_by) is not None:
            key = (row.method, row.variant, str(row.tuned))
            candidates.setdefault(key, []).append(row)
    best = [_representative(group, rank_by) for group in candidates.values()]
    ranked = sorted(best, key=lambda r: (-(r.value(rank_by) or 0.0), r.label))
    return mark_ties(ranked, rank_by)


def _representative(rows: Sequence[LeaderboardRow], rank_by: str) -> LeaderboardRow:
    """The row with the most seeds (the best of those), unless another row's value lies
    above its interval; then the best such row. With single runs only: the best run."""

    def value(row: LeaderboardRow) -> float:
        return row.value(rank_by) or -math.inf

    most_seeds = max(r.n_seeds for r in rows)
    top = max((r for r in rows if r.n_seeds == most_seeds), key=value)  # first of equals
    interval = top.interval(rank_by)
    ceiling = interval[1] if interval is not None else value(top)
    beyond = [r for r in rows if value(r) > ceiling]
    return max(beyond, key=value) if beyond else top


def mark_ties(ranked: list[LeaderboardRow], rank_by: str) -> list[LeaderboardRow]:
    """Rows after the leader whose ``rank_by`` interval reaches the leader's are ``tied``."""
    if not ranked:
        return ranked
    leader = ranked[0].interval(rank_by)
    marked = [ranked[0]]
    for row in ranked[1:]:
        own = row.interval(rank_by)
        tied = leader is not None and own is not None and own[1] >= leader[0]
        marked.append(dataclasses.replace(row, tied=tied))
    return marked


def dataset_statistics_of(metrics: Mapping[str, float]) -> dict[str, float]:
    """A run's ``data.<key>`` metrics, keyed without the prefix."""
    prefix = names.METRIC_DATA_PREFIX
    return {k.removeprefix(prefix): v for k, v in metrics.items() if k.startswith(prefix)}


DATA_TAGS = (names.TAG_DATA_KEY, names.TAG_CHECKSUM)  # what :func:`same_data` compares


def same_data(newest: Mapping[str, str], tags: Mapping[str, str]) -> bool:
    """Whether a run was scored on the same prepared data as the dataset's newest run: the
    same data key (input content and data settings), else, for runs logged before the key,
    the same input checksum; runs that record neither are taken as the same."""
    for tag in DATA_TAGS:
        if tag in newest and tag in tags:
            return newest[tag] == tags[tag]
    return True


def build_leaderboard(
    tracking_uri: str,
    runs: Sequence[tuple[str, Mapping[str, str], Mapping[str, float]]],
    rank_by: str = DEFAULT_RANK_BY,
) -> Leaderboard:
    """Group (run_id, tags, metrics) records by dataset and rank each dataset's methods.

    Runs of a kind (leaderboard reports, job parents, tuning trials scored on an inner
    split) and runs without a method tag are skipped here too, so the function is safe on
    any list of runs, not only on the filtered result of :func:`fetch_method_runs`.

    ``runs`` come newest first. A dataset's table holds only the runs scored on the same
    data as its newest run (:func:`same_data`): after the file behind a name changed, or a
    run changed a data setting, older scores are not comparable and are counted as left out.
    """
    by_dataset: dict[str, list[LeaderboardRow]] = {}
    newest: dict[str, Mapping[str, str]] = {}
    other_data: dict[str, int] = {}
    statistics: dict[str, dict[str, float]] = {}
    for run_id, tags, metrics in runs:
        if TAG_KIND in tags or names.TAG_METHOD not in tags:
            continue
        dataset = tags.get(names.TAG_DATASET, "unknown")
        if not same_data(newest.setdefault(dataset, tags), tags):
            other_data[dataset] = other_data.get(dataset, 0) + 1
            continue
        by_dataset.setdefault(dataset, []).append(row_from_run(run_id, tags, metrics))
        logged = dataset_statistics_of(metrics)
        if logged and dataset not in statistics:  # the first (newest) run that has them
            statistics[dataset] = logged
    tables = [
        DatasetTable(
            dataset=dataset,
            rows=best_per_method(merge_seed_groups(by_dataset[dataset]), rank_by),
            references=reference_rows(dataset),
            n_runs=len(by_dataset[dataset]),
            other_data_runs=other_data.get(dataset, 0),
            statistics=statistics.get(dataset, {}),
            data_tags={k: v for k, v in newest[dataset].items() if k in DATA_TAGS},
        )
        for dataset in order_datasets(by_dataset)
    ]
    return Leaderboard(
        tracking_uri=tracking_uri,
        tables=[t for t in tables if t.rows],
        unranked={t.dataset: t.n_runs for t in tables if not t.rows},
        rank_by=rank_by,
    )
