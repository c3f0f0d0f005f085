"""Embeddings on disk and as an MLflow pyfunc model that scores pairs and finds neighbours.

Two request shapes, told apart by their columns:

* ``product1, product2`` (asins): one row per pair -> ``score`` (a float, or None when
  either product is unknown or missing: JSON ``null``, never ``NaN``) and ``known`` (both
  products have a trained vector);
* ``product`` (asin): one row per query -> ``similar`` (the top-k asins, never the query
  itself), ``scores`` and ``known``; an unknown or missing product gets empty lists and
  ``known = False``.

Both echo the ids as given, None (``null``) where one is missing. Product ids of any
scalar type are read as the vocabulary's text, the same way in Python and over HTTP
(:mod:`recsys.tracking.pyfunc_input`): 7, 7.0 and " 7 " are product "7", and a missing id
makes its own row unknown. A dict of lists (``{"product": [...]}``) is read as rows, as
its DataFrame would be. ``k`` is a predict parameter (``params={"k": 10}``, default 10)
capped by ``max_k`` (default 1,000), both declared in the signature, so ``mlflow models
serve`` accepts them.
Bad input raises MLflow's ``INVALID_PARAMETER_VALUE``, so the HTTP 400 body names the
problem. Scores come from :meth:`ItemEmbeddings.score` and
:meth:`ItemEmbeddings.most_similar`, the very code evaluation used, so a served score
equals the score behind the run's AUC; the model's metadata (``score``) says what it is.

The model carries the ``recsys`` source it was logged with (MLflow's ``code_paths``) and
pins what loading imports, so it loads and serves where ``recsys`` is not installed
(``mlflow models serve`` in its own virtualenv, ``mlflow models build-docker``, another
machine), with the code that scored its run.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import mlflow
import numba
import numpy as np
import pandas as pd
import pyarrow
import pydantic
import scipy
from mlflow.models.signature import ModelSignature
from mlflow.pyfunc import PythonModel, PythonModelContext
from mlflow.types import ColSpec, DataType, ParamSchema, ParamSpec, Schema
from mlflow.types.schema import AnyType
from scipy import sparse

from recsys.embeddings import BIAS_TERMS, ItemEmbeddings
from recsys.tracking.pyfunc_input import (
    invalid,
    json_frame,
    request_frame,
    vocabulary_rows,
)

MODEL_CODE = Path(__file__).with_name("pyfunc_entry.py")
DEFAULT_K = 10
DEFAULT_MAX_K = 1000  # a top-k list longer than this is almost surely a mistake (memory)
EMBEDDINGS_ARTIFACT = "embeddings"  # key of the embeddings folder in the model's artifacts
PAIR_COLUMNS = ("product1", "product2")
QUERY_COLUMN = "product"


def save_embeddings(model: ItemEmbeddings, asins: pd.Series, folder: Path) -> Path:
    """Write vectors.npy (vectors.npz when sparse), known.npy, [bias.npy], [context.npy],
    vocabulary.parquet and meta.json.

    ``vocabulary.parquet`` maps item_id (row of vectors.npy) to asin and known, so the
    vectors are usable without the prepared dataset.
    """
    if len(asins) != model.n_items:
        raise ValueError(f"{len(asins)} asins for {model.n_items} embedding rows")
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(model.vectors, sparse.csr_matrix):  # graph baselines: adjacency rows
        sparse.save_npz(folder / "vectors.npz", model.vectors)
    else:
        np.save(folder / "vectors.npy", model.vectors)
    np.save(folder / "known.npy", model.known)
    if model.bias is not None:
        np.save(folder / "bias.npy", model.bias)
    if model.context is not None:
        np.save(folder / "context.npy", model.context)
    pd.DataFrame(
        {
            "item_id": np.arange(model.n_items, dtype=np.int32),
            "asin": asins.astype(str).to_numpy(),
            "known": model.known,
        }
    ).to_parquet(folder / "vocabulary.parquet", index=False)
    meta = {
        "similarity": model.similarity,
        "n_items": model.n_items,
        "dim": model.dim,
        "has_bias": model.bias is not None,
        "has_context": model.context is not None,
        "sparse": model.is_sparse,
        "score": score_description(model),
        "extra_keys": sorted(model.extra),  # not stored: method-specific, not needed to score
    }
    (folder / "meta.json").write_text(json.dumps(meta, indent=2))
    return folder


def load_embeddings(folder: Path) -> tuple[ItemEmbeddings, pd.DataFrame]:
    """Read what :func:`save_embeddings` wrote: (embeddings, vocabulary table)."""
    meta = json.loads((folder / "meta.json").read_text())
    bias_path, context_path = folder / "bias.npy", folder / "context.npy"
    sparse_path = folder / "vectors.npz"
    model = ItemEmbeddings(
        vectors=(
            sparse.load_npz(sparse_path).tocsr()
            if sparse_path.exists()
            else np.load(folder / "vectors.npy")
        ),
        known=np.load(folder / "known.npy"),
        similarity=meta["similarity"],
        bias=np.load(bias_path) if bias_path.exists() else None,
        context=np.load(context_path) if context_path.exists() else None,
    )
    return model, pd.read_parquet(folder / "vocabulary.parquet")


class EmbeddingModel(PythonModel):
    """Pair scores and top-k neighbours by asin, from a run's saved embeddings."""

    def load_context(self, context: PythonModelContext) -> None:
        self.embeddings, vocabulary = load_embeddings(Path(context.artifacts[EMBEDDINGS_ARTIFACT]))
        self.asins = vocabulary["asin"].to_numpy(dtype=object)
        self.index = pd.Index(self.asins)

    def _lookup(self, asins: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """(item ids, known mask); unknown or missing asins get id 0 and known False.

        Ids are read as the vocabulary writes them (:func:`vocabulary_rows`)."""
        ids = vocabulary_rows(self.index, asins)
        found = ids >= 0
        ids = np.where(found, ids, 0).astype(np.int32)
        return ids, found & self.embeddings.known[ids]

    def score_pairs(self, frame: pd.DataFrame) -> pd.DataFrame:
        """One score per (product1, product2) row; None where a product is unknown."""
        ids_a, known_a = self._lookup(frame[PAIR_COLUMNS[0]])
        ids_b, known_b = self._lookup(frame[PAIR_COLUMNS[1]])
        known = known_a & known_b
        scores = np.full(len(frame), None, dtype=object)  # None -> JSON null, not NaN
        scores[known] = self.embeddings.score(ids_a[known], ids_b[known]).astype(float).tolist()
        return json_frame(
            {
                PAIR_COLUMNS[0]: frame[PAIR_COLUMNS[0]].to_numpy(dtype=object),
                PAIR_COLUMNS[1]: frame[PAIR_COLUMNS[1]].to_numpy(dtype=object),
                "score": scores,
                "known": known,
            }
        )

    def top_k(self, frame: pd.DataFrame, k: int) -> pd.DataFrame:
        """The k most similar known products of each query; empty lists when unknown."""
        ids, known = self._lookup(frame[QUERY_COLUMN])
        similar: list[list[str]] = [[] for _ in range(len(frame))]
        scores: list[list[float]] = [[] for _ in range(len(frame))]
        if known.any() and k > 0:
            top_ids, top_scores = self.embeddings.most_similar(ids[known], k)
            for row, neighbours, values in zip(
                np.flatnonzero(known), top_ids, top_scores, strict=True
            ):
                similar[row] = self.asins[neighbours].tolist()
                scores[row] = values.astype(float).tolist()
        return json_frame(
            {
                QUERY_COLUMN: frame[QUERY_COLUMN].to_numpy(dtype=object),
                "known": known,
                "similar": similar,
                "scores": scores,
            }
        )

    def predict(
        self,
        context: PythonModelContext | None,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Pair scores for ``product1, product2`` input, top-k for ``product`` input."""
        frame = request_frame(model_input)
        has_pair_columns = all(c in frame for c in PAIR_COLUMNS)
        query_only = QUERY_COLUMN in frame and not (
            has_pair_columns and frame[list(PAIR_COLUMNS)].notna().any().any()
        )
        if has_pair_columns and not query_only:
            return self.score_pairs(frame)
        if QUERY_COLUMN in frame:
            return self.top_k(frame, _k_param(params or {}))
        # MLflow drops columns the signature does not name before predict sees the input.
        got = ", ".join(map(str, frame.columns)) or "none of them"
        raise invalid(
            f"input needs columns {', '.join(PAIR_COLUMNS)} (pair scores) or "
            f"{QUERY_COLUMN} (top-k similar products); got {got}"
        )


def _k_param(params: dict[str, Any]) -> int:
    """``k`` from the predict params, checked against ``max_k``."""
    try:
        k = int(params.get("k", DEFAULT_K))
        max_k = int(params.get("max_k", DEFAULT_MAX_K))
    except (TypeError, ValueError) as error:
        raise invalid(f"k and max_k must be integers ({error})") from None
    if k < 0:
        raise invalid(f"k must be >= 0, got {k}")
    if k > max_k:
        raise invalid(f"k={k:,} is above max_k={max_k:,}; pass a larger max_k to allow it")
    return k


# What each term of a model's bias adds to a pair score (ItemEmbeddings.extra[BIAS_TERMS]),
# as "each product's ...".
BIAS_TERM_TEXT = {
    "learned": "learned bias",
    "log_degree": "log(1 + training degree)",
    "degree_prior": "degree prior (beta x log(1 + training degree), beta fitted on training "
    "pairs only)",
    "csls": "hubness offset (CSLS: minus half its mean score with its nearest products)",
    "csls_partial": "hubness offset if it is known only by side information (CSLS: minus half "
    "its mean score with its nearest products, beyond the others' mean)",
}


def score_description(model: ItemEmbeddings) -> str:
    """What a pair score means, for the model's metadata and the README."""
    terms = [BIAS_TERM_TEXT.get(t, f"{t} term") for t in model.extra.get(BIAS_TERMS, ())]
    if model.bias is not None and not terms:
        terms = ["bias"]
    notes = ["higher = more related", "compare scores within one model only"]
    if model.dim == 0 and not model.is_sparse:  # popularity: nothing but the bias
        return f"sum of the two products' {' plus '.join(terms)}; " + "; ".join(notes)
    kind = "cosine" if model.similarity == "cosine" else "dot product"
    if model.is_sparse:
        what = f"{kind} of the two products' training-adjacency rows"
    elif model.context is not None:
        what = (
            "mean of cos(center_a, context_b) and cos(center_b, context_a) of the two "
            "products' center (input) and context (output) vectors"
        )
        # A bias term (the degree prior) moves every pair of its products, related or not.
        unrelated = "about 0 for unrelated products"
        notes.insert(1, f"{unrelated} before the added terms" if terms else unrelated)
        notes.append("a product scored against itself is not meaningful")
    else:
        what = f"{kind} of the two products' vectors"
    if terms:
        what += f", plus each product's {' and '.join(terms)}"
    if model.similarity == "dot_sigmoid":
        what = f"sigmoid of ({what}): an estimated co-purchase probability"
    return what + "; " + "; ".join(notes)


def model_signature() -> ModelSignature:
    """Input columns (all optional: either mode's set) and the ``k`` parameter."""
    # Any scalar type: the model itself reads ids as the vocabulary's text, so Python callers
    # may pass integer ids as HTTP callers can (a string column would refuse int64).
    inputs = Schema(
        [
            ColSpec(AnyType(), PAIR_COLUMNS[0], required=False),
            ColSpec(AnyType(), PAIR_COLUMNS[1], required=False),
            ColSpec(AnyType(), QUERY_COLUMN, required=False),
        ]
    )
    params = ParamSchema(
        [
            ParamSpec("k", DataType.long, DEFAULT_K),
            ParamSpec("max_k", DataType.long, DEFAULT_MAX_K),
        ]
    )
    return ModelSignature(inputs=inputs, params=params)


def pip_requirements() -> list[str]:
    """What loading the model imports, pinned to this environment (skips MLflow's slow
    inference): the ``recsys`` modules it needs travel with it (:func:`package_source`)."""
    return [
        f"mlflow=={mlflow.__version__}",
        f"numba=={numba.__version__}",
        f"numpy=={np.__version__}",
        f"pandas=={pd.__version__}",
        f"pyarrow=={pyarrow.__version__}",
        f"pydantic=={pydantic.VERSION}",
        f"scipy=={scipy.__version__}",
    ]


def package_source(folder: Path) -> Path:
    """A copy of the ``recsys`` package's source in ``folder`` (no ``__pycache__``: bytecode
    and numba's caches belong to this machine), for the model's ``code_paths``."""
    package = Path(__file__).resolve().parents[1]
    target = folder / package.name
    shutil.copytree(package, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def log_embedding_model(
    embeddings_folder: Path,
    input_example: pd.DataFrame,
    name: str = "model",
    metadata: dict[str, Any] | None = None,
) -> Any:
    """Log the pyfunc model of an embeddings folder into the active run, with the
    ``recsys`` source that loads it.

    Returns:
        MLflow's ModelInfo (``model_uri`` loads it).
    """
    try:
        with tempfile.TemporaryDirectory(prefix="recsys-code-") as code:
            return mlflow.pyfunc.log_model(
                name=name,
                python_model=str(MODEL_CODE),  # models from code: no pickle (pyfunc_entry.py)
                artifacts={EMBEDDINGS_ARTIFACT: str(embeddings_folder)},
                code_paths=[str(package_source(Path(code)))],
                signature=model_signature(),
                input_example=input_example,
                pip_requirements=pip_requirements(),
                metadata=metadata,
            )
    finally:
        release_loaded_model()


def release_loaded_model() -> None:
    """Drop the model MLflow keeps after loading a models-from-code file.

    Loading runs pyfunc_entry.py, whose ``set_model`` stores the instance in the module
    global ``mlflow.models.model.__mlflow_model__``; ``log_model`` loads the model once to
    check the input example, so without this the last run's embeddings (their vectors,
    context vectors and unit-length copies: 0.9 GB for skipgram at Electronics scale) stay
    in memory until the next model is loaded, raising every later method's peak in one
    ``recsys main`` process.
    """
    from mlflow.models import model as mlflow_model_module

    if isinstance(getattr(mlflow_model_module, "__mlflow_model__", None), EmbeddingModel):
        mlflow_model_module.__mlflow_model__ = None
