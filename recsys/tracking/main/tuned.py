"""`recsys main --tuned`: each method's best settings from its tuning study, if it has one.

A method without a study of the dataset runs with its defaults, and the job says so; one
whose studies of a dataset of the same label were tuned on other data (another file of
the same name, the file since edited, other split settings) stops the job before any run;
a method with a study of this data runs with the study's best settings (under any explicit
``-P``) and is tagged ``recsys.tuned=true``, so the leaderboard shows it as ``METHOD (tuned)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import optuna

from recsys.data.dataset import PreparedDataset
from recsys.tracking import names
from recsys.tracking.run import validate_params
from recsys.tracking.run_info import variant_of
from recsys.tracking.tuning.best import TunedSettings, tuned_settings
from recsys.tracking.tuning.storage import masked


def find_tuned(
    methods: Sequence[str],
    dataset: str,
    data: PreparedDataset,
    storage: optuna.storages.RDBStorage,
    storage_url: str,
    echo: Callable[[str], None],
    given: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, TunedSettings]:
    """Each method's best settings on ``data`` (prepared from ``dataset``) in the storage
    (:func:`recsys.tracking.tuning.storage.open_storage` of ``storage_url``); says which
    methods have none, and which tuned settings an explicit ``-P`` (``given``: method ->
    its explicit params) overrides.

    Raises:
        StudyError: a method's studies were tuned on other data than ``data``.
    """
    found: dict[str, TunedSettings] = {}
    echo(f"Tuned settings from {masked(storage_url)}:")
    for method in methods:
        settings = tuned_settings(storage, method, dataset, data)
        if settings is None:
            echo(f"  {method}: no tuning study of {dataset} with a finished trial: defaults")
            continue
        found[method] = settings
        echo(f"  {method}: {settings.describe((given or {}).get(method))}")
    return found


def tuned_run_tags(
    method: str, params: Mapping[str, Any], settings: TunedSettings, storage_url: str
) -> dict[str, str]:
    """The tags of a method run trained with a study's best settings."""
    _, data_config, config = validate_params(method, params)
    variant = variant_of(method, config)
    return {
        names.TAG_TUNED: "true",
        names.TAG_STUDY: settings.study,
        names.TAG_STUDY_STORAGE: masked(storage_url),
        "recsys.study_best_trial": str(settings.trial),
        names.TAG_RUN_NAME: names.run_name(method, variant, data_config.dataset) + " (tuned)",
    }
