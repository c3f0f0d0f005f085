"""A prefetch is a real hint in the compiled code and changes no result."""

from __future__ import annotations

import numba
import numpy as np

from recsys.training.prefetch import prefetch_row


@numba.njit
def _sum_rows_prefetching(table: np.ndarray, rows: np.ndarray) -> float:
    total = 0.0
    for i in range(rows.size):
        if i + 1 < rows.size:
            prefetch_row(table, rows[i + 1])
        for value in table[rows[i]]:
            total += value
    return total


def test_prefetch_compiles_to_llvms_hint_and_changes_nothing() -> None:
    rng = np.random.default_rng(0)
    table = rng.standard_normal((1000, 128)).astype(np.float32)
    rows = rng.integers(0, 1000, 50)
    assert _sum_rows_prefetching(table, rows) == sum(float(v) for r in rows for v in table[r])
    code = _sum_rows_prefetching.inspect_llvm(_sum_rows_prefetching.signatures[0])
    assert "call void @llvm.prefetch" in code
