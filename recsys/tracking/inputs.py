"""The prepared dataset as MLflow dataset inputs, so the UI's Dataset column and filters work.

Each run logs two inputs: the training pairs (context ``training``) and the validation
pairs (context ``validation``) of its prepared dataset, named after the dataset, with the
metadata file as source and the prepared data's key as digest (the input's content and
every data setting: another split seed or fraction of one file is another dataset, as the
leaderboard keeps it apart; :func:`recsys.tracking.run_info.data_key`). Only metadata is
logged (an MLflow ``MetaDataset``): the tables stay in the data folder. The dataset's
statistics go with them as ``data.<key>`` metrics, which the leaderboard prints, and the
descriptive ones also as params (3 significant digits), so runs can be filtered by the
shape of their data (``params.`data.seen_share` LIKE '0.89%'``) and compared in the UI's
parameter columns.
"""

from __future__ import annotations

import math
import warnings

import mlflow
from mlflow.data.dataset_source_registry import resolve_dataset_source
from mlflow.data.meta_dataset import MetaDataset
from mlflow.exceptions import MlflowException

from recsys.config import DataConfig
from recsys.data.dataset import PreparedDataset
from recsys.data.statistics import stored_statistics
from recsys.tracking import names
from recsys.tracking.run_info import data_key

DIGEST_CHARS = 16  # MLflow shows short digests; 16 hex digits of sha256 stay unique enough
# Statistics that describe the data's shape, logged as params too (the counts of train and
# validation pairs are params already, from the manifest).
DESCRIPTIVE_STATISTICS = (
    "products", "pairs", "degree_median", "degree_max", "degree1_share", "degree_gini",
    "metadata_share", "seen_share", "cold_start_share", "clustering", "same_category_share",
)  # fmt: skip


def log_dataset_inputs(dataset: PreparedDataset, data_config: DataConfig) -> MetaDataset:
    """Log the training and validation pairs of ``dataset`` as inputs of the active run.

    Returns the validation input, which the model's metrics are linked to.
    """
    source_path = str(dataset.manifest.get("source") or data_config.dataset)
    with warnings.catch_warnings():  # "can be interpreted in multiple ways": a local file
        warnings.simplefilter("ignore", UserWarning)
        source = resolve_dataset_source(source_path)
    digest = data_key(dataset)[:DIGEST_CHARS]
    label = names.dataset_label(data_config.dataset)
    logged = []
    for context, suffix in (("training", "train"), ("validation", "validation")):
        # MetaDataset leaves `profile` abstract in its stubs; MLflow itself builds it this way.
        inputs = MetaDataset(source, name=f"{label}-{suffix}", digest=digest)  # type: ignore[abstract]
        _log_input_once_more_if_raced(inputs, context)
        logged.append(inputs)
    return logged[-1]


def _log_input_once_more_if_raced(inputs: MetaDataset, context: str) -> None:
    """Log ``inputs``; retried once, because a dataset is one row per experiment.

    Two first runs on a dataset both find its row missing and both insert it; the SQL store
    refuses the second (a unique-key error). Logged again, the input links to the row the
    other run wrote; a second failure is real and raised.
    """
    try:
        mlflow.log_input(inputs, context=context)
    except MlflowException:
        mlflow.log_input(inputs, context=context)


def statistics_params(statistics: dict[str, float | int]) -> dict[str, str]:
    """The descriptive statistics as ``data.<key>`` params, counts exact and shares 3
    significant digits (NaN left out), so one dataset's runs share the strings a filter
    compares (``data.products`` = '4187', not '4.19e+03')."""
    return {
        f"{names.METRIC_DATA_PREFIX}{key}": _param_text(statistics[key])
        for key in DESCRIPTIVE_STATISTICS
        if key in statistics and not math.isnan(statistics[key])
    }


def _param_text(value: float | int) -> str:
    """A whole number as its digits, any other number to 3 significant digits."""
    return str(int(value)) if float(value).is_integer() else f"{value:.3g}"


def log_dataset_statistics(dataset: PreparedDataset) -> dict[str, float]:
    """Log ``dataset``'s statistics on the active run as ``data.<key>`` metrics, and the
    descriptive ones as params too (NaN, e.g. no categories, is left out); computed once per
    prepared folder (:func:`recsys.data.statistics.stored_statistics`). Returns the metrics."""
    statistics = stored_statistics(dataset)
    metrics = {
        f"{names.METRIC_DATA_PREFIX}{key}": float(value)
        for key, value in statistics.items()
        if not math.isnan(value)
    }
    mlflow.log_metrics(metrics)
    mlflow.log_params(statistics_params(statistics))
    return metrics
