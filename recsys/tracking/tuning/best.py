"""The best settings a study found for a method on a dataset (`recsys main --tuned`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import optuna

from recsys.config import DataConfig
from recsys.data.dataset import PreparedDataset
from recsys.tracking import names
from recsys.tracking.params import flat_fields
from recsys.tracking.tuning.baseline import best_trial
from recsys.tracking.tuning.errors import StudyError
from recsys.tracking.tuning.study_names import (
    DATASET_GIVEN_ATTR,
    data_difference,
    default_study_name,
)


@dataclass(frozen=True)
class TunedSettings:
    """A study's best trial: its settings (sampled and fixed), value and where it is."""

    study: str
    trial: int
    value: float
    metric: str
    params: dict[str, Any]  # method settings only: the dataset is the caller's

    def describe(self, given: Mapping[str, Any] | None = None) -> str:
        """The study, its trial and the settings a run uses: an explicit ``-P`` (in
        ``given``) wins over the tuned value, so that one is shown as ``(given; tuned V)``."""
        given = given or {}
        settings = ", ".join(
            f"{k}={given[k]} (given; tuned {v})" if k in given else f"{k}={v}"
            for k, v in self.params.items()
        )
        return (
            f"study {self.study!r}, trial {self.trial} ({self.metric} {self.value:.4f} on its "
            f"inner split): {settings}"
        )


def tuned_settings(
    storage: optuna.storages.RDBStorage, method: str, dataset: str, data: PreparedDataset
) -> TunedSettings | None:
    """The best settings of ``method`` on ``dataset`` in ``storage``, None without a study.

    Studies record the dataset by its label (a file's name without ``.json[.gz]``), so one
    of another file with the same name, or of the same file edited since, matches the
    label too; only a study tuned on ``data`` itself counts: the same prepared data key
    when the study records one, else the same content checksum (as ``recsys tune`` checks
    a study it joins). Several studies may count (other names, spaces or fixed settings):
    the one ``recsys tune`` names by default for this data (:func:`default_study_name`) is
    preferred, else the one with the most trials. The best trial is the study's own rule
    (:func:`best_trial`: the ranking floor when the study has it). Values of the study's
    fixed ``-P`` settings count as its settings; dataset parameters among them do not (the
    caller's dataset is used).

    Raises:
        StudyError: studies of ``method`` match the label, none was tuned on ``data``.
    """
    labelled = [
        summary
        for summary in optuna.get_all_study_summaries(storage, include_best_trial=True)
        if summary.user_attrs.get("method") == method
        and summary.user_attrs.get("dataset") == names.dataset_label(dataset)
        and summary.best_trial is not None
    ]
    if not labelled:
        return None
    default = default_study_name(storage, method, dataset, data)

    def preference(summary: optuna.study.StudySummary) -> tuple[bool, int]:
        return summary.study_name == default, summary.n_trials

    matching = [s for s in labelled if not data_difference(s.user_attrs, data)]
    if not matching:
        other = max(labelled, key=preference)
        raise StudyError(_other_data_message(other, method, dataset, data))
    chosen = max(matching, key=preference)
    best = best_trial(optuna.load_study(study_name=chosen.study_name, storage=storage))
    assert best is not None  # a complete trial exists (filtered above); the default qualifies
    data_fields = set(flat_fields(DataConfig))
    fixed = dict(chosen.user_attrs.get("fixed_params", {}))
    params = {k: v for k, v in {**fixed, **best.params}.items() if k not in data_fields}
    return TunedSettings(
        chosen.study_name,
        best.number,
        float(best.value or 0.0),
        str(chosen.user_attrs.get("metric", "")),
        params,
    )


def _other_data_message(
    study: optuna.study.StudySummary, method: str, dataset: str, data: PreparedDataset
) -> str:
    tuned_on = study.user_attrs.get(DATASET_GIVEN_ATTR) or (
        f"a dataset labelled {study.user_attrs.get('dataset')!r}"
    )
    return (
        f"--tuned: study {study.study_name!r} of {method} was tuned on {tuned_on}, not on "
        f"{dataset} ({data_difference(study.user_attrs, data)}); tune {method} on this "
        f"dataset first (recsys tune {method} --dataset {dataset} makes it a study of its "
        "own), or drop --tuned"
    )
