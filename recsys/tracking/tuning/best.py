"""The best settings a study found for a method on a dataset (`recsys main --tuned`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import optuna

from recsys.config import DataConfig
from recsys.tracking import names
from recsys.tracking.params import flat_fields
from recsys.tracking.tuning.baseline import best_trial
from recsys.tracking.tuning.job import default_study_name


@dataclass(frozen=True)
class TunedSettings:
    """A study's best trial: its settings (sampled and fixed), value and where it is."""

    study: str
    trial: int
    value: float
    metric: str
    params: dict[str, Any]  # method settings only: the dataset is the caller's

    def describe(self) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return (
            f"study {self.study!r}, trial {self.trial} ({self.metric} {self.value:.4f} on its "
            f"inner split): {settings}"
        )


def tuned_settings(
    storage: optuna.storages.RDBStorage, method: str, dataset: str
) -> TunedSettings | None:
    """The best settings of ``method`` on ``dataset`` in ``storage``, None without a study.

    Several studies may match (other names, spaces or fixed settings): the default-named
    one (``<method>-<dataset label>``) is preferred, else the one with the most trials.
    The best trial is the study's own rule (:func:`best_trial`: the ranking floor when the
    study has it). The dataset is matched by its label (a file's name without ``.json[.gz]``), as
    studies record it. Values of the study's fixed ``-P`` settings count as its settings;
    dataset parameters among them do not (the caller's dataset is used).
    """
    matching = [
        summary
        for summary in optuna.get_all_study_summaries(storage, include_best_trial=True)
        if summary.user_attrs.get("method") == method
        and summary.user_attrs.get("dataset") == names.dataset_label(dataset)
        and summary.best_trial is not None
    ]
    if not matching:
        return None
    default = default_study_name(method, dataset)
    chosen = max(matching, key=lambda s: (s.study_name == default, s.n_trials))
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
