"""Cache prefetch of a table row from numba kernels (LLVM's ``llvm.prefetch``).

The walk kernels visit rows scattered over tables of hundreds of MB (a window's target and
negatives): the CPU waits on each of those cache misses. A window's rows are known a few
windows ahead (walks and negatives are drawn before the kernel), so a kernel can ask for
them early and compute while they load. A prefetch is only a hint: the kernels train
what they trained before (on one thread the same tables bit for bit; docs/benchmarks.md,
"Prefetching the next windows' rows").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

CACHE_LINE_BYTES = 64
PREFETCH_AHEAD = 2  # windows ahead: 1-3 measured alike, 4 slower (docs/benchmarks.md)

# llvm.prefetch's rw (for write: the kernels update the rows they read), locality, cache type
_FOR_WRITE, _KEEP_IN_ALL_CACHES, _DATA_CACHE = 1, 3, 1


def _prefetch_row(typingctx: Any, table: Any, row: Any) -> Any:
    """``prefetch_row(table, row)`` in a numba kernel: ask the CPU to bring row ``row`` of
    a C-contiguous 2-D ``table`` into cache, one prefetch per cache line; returns at once
    and changes nothing. ``row`` must be a valid index (not checked: a prefetch of a bad
    address is dropped, never faults)."""
    if not (
        isinstance(table, types.Array)
        and table.ndim == 2
        and table.layout == "C"
        and isinstance(row, types.Integer)
    ):
        return None
    signature = types.void(table, row)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        array = context.make_array(sig.args[0])(context, builder, args[0])
        row_stride, _ = cgutils.unpack_tuple(builder, array.strides, 2)
        index = context.cast(builder, args[1], sig.args[1], types.intp)
        byte = ir.IntType(8)
        start = builder.gep(
            builder.bitcast(array.data, byte.as_pointer()), [builder.mul(index, row_stride)]
        )
        _, columns = cgutils.unpack_tuple(builder, array.shape, 2)
        itemsize = context.get_abi_sizeof(context.get_data_type(sig.args[0].dtype))
        row_bytes = builder.mul(columns, ir.Constant(columns.type, itemsize))
        hint = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [byte.as_pointer()] + [ir.IntType(32)] * 3),
            "llvm.prefetch.p0",
        )
        flags = [
            ir.Constant(ir.IntType(32), v) for v in (_FOR_WRITE, _KEEP_IN_ALL_CACHES, _DATA_CACHE)
        ]
        zero, step = ir.Constant(row_bytes.type, 0), ir.Constant(row_bytes.type, CACHE_LINE_BYTES)
        with cgutils.for_range_slice(builder, zero, row_bytes, step) as (offset, _):
            builder.call(hint, [builder.gep(start, [offset]), *flags])
        return context.get_dummy_value()

    return signature, codegen


prefetch_row = cast(Callable[[np.ndarray, int], None], intrinsic(_prefetch_row))


@numba.njit(nogil=True, inline="always")
def prefetch_window_ahead(
    output_table: np.ndarray,
    input_table: np.ndarray,
    tokens: np.ndarray,
    slots: np.ndarray,
    negatives: np.ndarray,
    r: int,
    n: int,
    p: int,
    max_window: int,
) -> None:
    """In a walk kernel at target ``p`` of walk ``r`` (kept tokens of
    :func:`recsys.training.walk_batches.kept_tokens`): prefetch the scattered rows of the
    window :data:`PREFETCH_AHEAD` ahead, its target's and negatives' output rows and the
    input row its walk takes in next."""
    ahead = p + PREFETCH_AHEAD
    if ahead < n:
        prefetch_row(output_table, tokens[ahead])
        for j in range(negatives.shape[2]):
            prefetch_row(output_table, negatives[r, slots[ahead], j])
        prefetch_row(input_table, tokens[min(n - 1, ahead + max_window)])
