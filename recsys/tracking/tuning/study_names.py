"""A study's default name, and whether a study was tuned on the data at hand.

A default name is ``<method>-<dataset label>`` (``mf-pairs.csv``), so two files of one name
(``a/pairs.csv``, ``b/pairs.csv``) would share it, and the second would be refused the
first's study. As the registry names champion models
(:func:`recsys.tracking.leaderboard.registry.champion_model_name`), the plain name is used
when it is free or its study holds the same data; else 8 hex digits follow it. They hash
the data key (the file's content and every data setting), not the path: workers on other
machines read the same data from other paths and must find the same study.
"""

from __future__ import annotations

import hashlib
from typing import Any

import optuna

from recsys.data.dataset import PreparedDataset
from recsys.tracking import names
from recsys.tracking.run_info import data_key, dataset_checksum

# Study attributes that say which data it was tuned on, beside its identity: recorded by
# the first worker that runs with them, not compared when another joins (the checksum
# and the fixed data settings are), and read by `recsys main --tuned`.
DATA_KEY_ATTR = "data_key"  # the prepared data's key: content and every data setting
DATASET_GIVEN_ATTR = "dataset_given"  # --dataset as the creating worker gave it


def plain_study_name(method: str, dataset: str) -> str:
    """``<method>-<dataset label>``, e.g. ``skipgram-meta_Digital_Music``."""
    return f"{method}-{names.dataset_label(dataset)}"


def default_study_name(
    storage: optuna.storages.BaseStorage, method: str, dataset: str, data: PreparedDataset
) -> str:
    """The plain name when no study has it or its study was tuned on ``data`` (so a study
    tuned before keeps its name), else the plain name, ``-`` and 8 hex digits of the
    SHA-256 of ``data``'s key (``mf-pairs.csv-1f0c2a9e``)."""
    plain = plain_study_name(method, dataset)
    recorded = _study_attrs(storage, plain)
    if not recorded or not data_difference(recorded, data):
        return plain
    return f"{plain}-{hashlib.sha256(data_key(data).encode()).hexdigest()[:8]}"


def _study_attrs(storage: optuna.storages.BaseStorage, name: str) -> dict[str, Any]:
    """The user attributes of the study ``name`` (empty when there is none)."""
    try:
        study_id = storage.get_study_id_from_name(name)
    except KeyError:
        return {}
    return dict(storage.get_study_user_attrs(study_id))


def data_difference(attrs: dict[str, Any], data: PreparedDataset) -> str:
    """How the data of a study (its user ``attrs``) differs from ``data``; empty when it
    is the same data: the same data key when the study records one, else the same content
    checksum (studies made before the key was recorded)."""
    checksum = dataset_checksum(data)
    if attrs.get("checksum") != checksum:
        return f"content checksum {_short(attrs.get('checksum'))}, now {_short(checksum)}"
    recorded_key = attrs.get(DATA_KEY_ATTR)
    if recorded_key and recorded_key != data_key(data):
        return (
            "the same content, other data settings (split, filters, weights, columns, products "
            f"file or prepared format): data key {recorded_key}, now {data_key(data)}"
        )
    return ""


def _short(checksum: Any) -> str:
    """A checksum's first 12 hex digits (``prepared:`` kept), enough to tell two apart."""
    text = str(checksum or "(none)")
    prefix, colon, digest = text.rpartition(":")
    return f"{prefix}{colon}{digest[:12]}"
