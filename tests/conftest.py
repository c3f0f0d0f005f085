"""Shared fixtures: the real Amazon samples in ../shared/data, a planted toy dataset and a
temporary MLflow store per test (no test writes to ./mlflow.db).

Creating an MLflow sqlite store runs all of its schema migrations (seconds); the store is
created once per session and copied for each test, which keeps each test's store private.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from recsys.data.dataset import (
    RELATION_ALSO_BOUGHT,
    PairTable,
    PreparedDataset,
    ValidationPairs,
)
from recsys.training.batching import PairBatch

REPO_ROOT = Path(__file__).resolve().parents[1]
LAUNCHER_ENV = ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME")


@pytest.fixture(autouse=True)
def _work_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs in its own folder: MLflow puts a fresh store's artifacts (and
    ``recsys`` its default ``./data``) under the working folder, which is otherwise the
    repository pytest started in. Tests name repository files by ``REPO_ROOT``."""
    monkeypatch.chdir(tmp_path)


def shared_data_dir() -> Path:
    """``$RECSYS_SHARED_DATA`` or ``<repo>/../shared/data`` (where CI puts it)."""
    return Path(os.environ.get("RECSYS_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def samples_folder(name: str, probe: str, what: str) -> Path:
    """``shared/data/<name>`` when it holds ``probe``; else the test skips, saying why."""
    folder = shared_data_dir() / name
    if not (folder / probe).exists():
        pytest.skip(f"real {what} samples not found under {folder} (set RECSYS_SHARED_DATA)")
    return folder


@pytest.fixture(scope="session")
def amazon_samples() -> Path:
    """Folder of the real Amazon metadata samples."""
    return samples_folder("amazon", "meta_Digital_Music.json.gz", "Amazon")


@pytest.fixture(scope="session")
def snap_samples() -> Path:
    """Folder of the real SNAP samples."""
    return samples_folder("snap", "Music0601.txt", "SNAP")


def random_pair_batch(
    rng: np.random.Generator,
    n_items: int,
    n_pairs: int,
    negatives: int,
    shared_by: int = 1,
    device: str = "cpu",
) -> PairBatch:
    """Random pairs over ``n_items`` (repeated rows likely), one row of negatives per
    ``shared_by`` pairs: the batches the tensor steps are checked against autograd on."""
    return PairBatch(
        center=torch.as_tensor(rng.integers(0, n_items, n_pairs), device=device),
        context=torch.as_tensor(rng.integers(0, n_items, n_pairs), device=device),
        negatives=torch.as_tensor(
            rng.integers(0, n_items, (-(-n_pairs // shared_by), negatives)), device=device
        ),
        target=None,
        progress=1.0,
        shared_by=shared_by,
    )


def make_planted_dataset(
    n_clusters: int = 20, cluster_size: int = 25, pairs_per_item: int = 6, seed: int = 0
) -> PreparedDataset:
    """A small dataset with known answers: products co-purchase only within their cluster.

    Validation positives are held-out within-cluster pairs; negatives are uniform random
    cross-cluster pairs. A method that learns anything scores AUC well above 0.5 here.
    Brand equals the cluster (side information that carries the signal); 10% of items get
    no training pair at all, so the seen / unseen / cold-start slices are all populated.
    """
    rng = np.random.default_rng(seed)
    n_items = n_clusters * cluster_size
    cluster = np.repeat(np.arange(n_clusters), cluster_size)
    a = np.repeat(np.arange(n_items), pairs_per_item)
    b = cluster[a] * cluster_size + rng.integers(0, cluster_size, a.size)
    keep = a != b
    a, b = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep])
    key = np.unique(a.astype(np.int64) * n_items + b)
    a, b = (key // n_items).astype(np.int32), (key % n_items).astype(np.int32)
    order = rng.permutation(a.size)
    a, b = a[order], b[order]
    n_val = a.size // 3
    held_out = np.zeros(n_items, dtype=bool)
    held_out[rng.choice(n_items, n_items // 10, replace=False)] = True
    train_mask = np.ones(a.size, dtype=bool)
    train_mask[:n_val] = False
    train_mask &= ~(held_out[a] | held_out[b])
    va, vb = a[:n_val], b[:n_val]
    na = rng.integers(0, n_items, n_val).astype(np.int32)
    nb = rng.integers(0, n_items, n_val).astype(np.int32)
    cross = cluster[na] != cluster[nb]
    na, nb = na[cross], nb[cross]
    vocab = np.zeros(n_items, dtype=bool)
    vocab[a[train_mask]] = True
    vocab[b[train_mask]] = True
    val_a = np.concatenate([va, na])
    val_b = np.concatenate([vb, nb])
    products = pd.DataFrame(
        {
            "item_id": np.arange(n_items, dtype=np.int32),
            "asin": [f"P{i:06d}" for i in range(n_items)],
            "title": [f"product {i}" for i in range(n_items)],
            "brand": [f"brand{c}" for c in cluster],
            "category_1": [f"cat{c % 4}" for c in cluster],
            "category_2": [f"cat{c % 4}/{c}" for c in cluster],
            "category_3": [None] * n_items,
            "price": (10.0 + cluster).astype(np.float32),
            "sales_rank": np.full(n_items, np.nan, dtype=np.float32),
            "has_metadata": np.ones(n_items, dtype=bool),
        }
    )
    return PreparedDataset(
        name="planted",
        products=products,
        train=PairTable(
            item_a=a[train_mask],
            item_b=b[train_mask],
            weight=np.ones(int(train_mask.sum()), dtype=np.float32),
            relations=np.full(int(train_mask.sum()), RELATION_ALSO_BOUGHT, dtype=np.uint8),
        ),
        validation=ValidationPairs(
            item_a=val_a,
            item_b=val_b,
            label=np.concatenate([np.ones(va.size), np.zeros(na.size)]).astype(np.int8),
            seen=vocab[val_a] & vocab[val_b],
        ),
        manifest={"source": "planted", "n_clusters": n_clusters},
    )


@pytest.fixture()
def planted_dataset() -> PreparedDataset:
    """A fresh 500-product planted dataset (see make_planted_dataset)."""
    return make_planted_dataset()


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialized, empty MLflow sqlite database file to copy."""
    from mlflow.tracking import MlflowClient  # imported on use: data tests need no MLflow

    path = tmp_path_factory.mktemp("store-template") / "mlflow.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(path.parent)  # the Default experiment's artifacts: not in the repository
        MlflowClient(f"sqlite:///{path}").search_experiments()  # creates and migrates it
    return path


def private_store(empty_store: Path, folder: Path) -> str:
    """Copy the empty store into ``folder``; its sqlite URI. The template's Default
    experiment keeps its artifacts where the template was made (the repository, as pytest
    starts there): the copy's keeps them in ``folder``, so no test writes into the tree."""
    shutil.copy(empty_store, folder / "mlflow.db")
    with contextlib.closing(sqlite3.connect(folder / "mlflow.db")) as store, store:
        store.execute(
            "UPDATE experiments SET artifact_location = ? WHERE experiment_id = 0",
            (str(folder / "mlruns" / "0"),),
        )
    return f"sqlite:///{folder / 'mlflow.db'}"


@pytest.fixture()
def tracking_uri(
    empty_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """``sqlite:///<tmp>/mlflow.db``, with artifacts under <tmp>/mlruns (the working dir)."""
    import mlflow

    uri = private_store(empty_store, tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    for launcher_env in LAUNCHER_ENV:
        monkeypatch.delenv(launcher_env, raising=False)
    monkeypatch.chdir(tmp_path)  # the default artifact root ./mlruns lands in tmp_path
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    yield uri
    mlflow.set_tracking_uri(previous)
