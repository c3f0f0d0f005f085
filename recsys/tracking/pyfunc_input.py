"""A pyfunc request's rows and ids as the model reads them, and its answer as strict JSON.

The vocabulary holds each product id as text, the way prepare read it: trimmed, and an
integral number written as ``12.0`` read as ``12`` (:mod:`recsys.data.formats.pairs_file`).
Request ids are put in that form before they are looked up, column by column with whole
array operations (a column that mixes types is the one read value by value), so one
missing id makes its own row unknown and nothing else: pandas stores an integer column
that holds a missing value as floats (7 -> 7.0), which compared as text matched nothing.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

from recsys.data.formats.delimited import INTEGER_TEXT

# An integer written as a float, as the pairs reader takes it (no zero padding: "007" is
# text there, so "007.0" is not 7 here either).
_INTEGRAL_TEXT = re.compile(rf"({INTEGER_TEXT})\.0*")
_LARGEST_INTEGRAL = 2.0**63  # int64's range: beyond it a float is no id prepare wrote


def invalid(message: str) -> MlflowException:
    """An input error MLflow's scoring server answers with HTTP 400 and this message."""
    return MlflowException(message, error_code=INVALID_PARAMETER_VALUE)


def request_frame(model_input: Any) -> pd.DataFrame:
    """The request with one id per row and cell.

    MLflow turns a dict whose values are all lists of strings (``{"product": ["a", "b"]}``)
    into ``pd.DataFrame([input])``: one row holding the lists (lists of other values become
    rows as expected). Such a row is spread out into the rows it lists, a scalar beside
    the lists repeated on each of them.
    """
    frame = pd.DataFrame(model_input)
    if len(frame) != 1:
        return frame
    cells = frame.iloc[0].to_dict()
    lengths = {name: len(cell) for name, cell in cells.items() if _is_list(cell)}
    if not lengths:
        return frame
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{name}: {n}" for name, n in lengths.items())
        raise invalid(f"the id lists differ in length ({shown}); give each column one id per row")
    return pd.DataFrame(
        {name: list(cell) if _is_list(cell) else cell for name, cell in cells.items()},
        index=pd.RangeIndex(next(iter(lengths.values()))),
    )


def canonical_ids(values: pd.Series) -> np.ndarray:
    """Each id as the vocabulary's text (object array), None where it is missing.

    Integers as their digits, integral floats as the integer (7.0 -> "7"), other floats
    as Python writes them, text trimmed of surrounding whitespace as the pairs reader
    trims it.

    Raises:
        MlflowException: a cell holds a list or another container, not one id.
    """
    missing = values.isna().to_numpy()
    kind = values.dtype.kind
    if kind == "f":
        ids = _float_ids(values.to_numpy(dtype=np.float64, na_value=np.nan))
    elif kind in "iub":
        ids = values.astype(str).to_numpy(dtype=object, copy=True)
    elif pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        ids = values.str.strip().to_numpy(dtype=object, copy=True)
    else:  # mixed types: read value by value
        containers = np.flatnonzero(values.map(_is_list).to_numpy(dtype=bool))
        if containers.size:
            raise invalid(
                f"{values.name} holds a {type(values.iloc[containers[0]]).__name__} in row "
                f"{containers[0]}, not an id; give one id per row"
            )
        ids = values.map(_one_id).to_numpy(dtype=object, copy=True)
    ids[missing] = None
    return ids


def vocabulary_rows(vocabulary: pd.Index, values: pd.Series) -> np.ndarray:
    """Row of each id in ``vocabulary`` (unique asins), -1 when unknown or missing."""
    ids = canonical_ids(values)
    rows = vocabulary.get_indexer(ids)
    # Text such as "12.0" is product 12 where no product is named "12.0", as prepare reads
    # a file of integral ids.
    retry = np.flatnonzero(rows < 0) if values.dtype.kind not in "fiub" else np.empty(0)
    if retry.size:
        whole = pd.Series(ids[retry], dtype=object).str.extract(
            f"^{_INTEGRAL_TEXT.pattern}$", expand=False
        )
        found = whole.notna().to_numpy()
        if found.any():
            rows[retry[found]] = vocabulary.get_indexer(whole[found].to_numpy(dtype=object))
    return rows


def json_column(values: pd.Series | np.ndarray) -> np.ndarray:
    """``values`` as an object array with None where missing."""
    column = np.asarray(values, dtype=object).copy()
    column[pd.isna(column)] = None
    return column


def json_frame(columns: dict[str, Any]) -> pd.DataFrame:
    """The answer's frame, every missing value None in an object column.

    MLflow's scoring server writes a prediction frame with ``to_dict(orient="records")``
    and ``json.dump``, which writes a float NaN as a bare ``NaN`` (not JSON) and None as
    ``null``. pandas keeps None only in an object column: pandas 3 builds an object array
    of text and None into its string dtype, whose missing value reads back as NaN.
    """
    frame = pd.DataFrame(columns)
    for name in frame.columns:
        if frame[name].isna().any():
            frame[name] = pd.Series(json_column(frame[name]), index=frame.index, dtype=object)
    return frame


def _float_ids(numbers: np.ndarray) -> np.ndarray:
    """Floats as id text, integral ones as their integer; None for NaN."""
    ids = np.full(numbers.shape, None, dtype=object)
    integral = np.isfinite(numbers) & (np.abs(numbers) < _LARGEST_INTEGRAL)
    integral[integral] = numbers[integral] == np.round(numbers[integral])
    # pandas writes integers as text 5x faster than numpy's astype(str) (1M ids: 0.17 s).
    whole = pd.Series(numbers[integral].astype(np.int64)).astype(str)
    ids[integral] = whole.to_numpy(dtype=object)
    other = ~integral & ~np.isnan(numbers)
    ids[other] = numbers[other].astype(str)  # 7.5 -> "7.5", inf -> "inf": no product
    return ids


def _one_id(value: Any) -> Any:
    """One id of a column that mixes types, as :func:`canonical_ids` writes it."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (float, np.floating)):
        return _float_ids(np.array([value], dtype=np.float64))[0]
    return str(value).strip()


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple, np.ndarray, pd.Series))
