"""Asins as int64 codes, computed in bulk with numpy, so no process interns strings one by one.

An Amazon asin is 10 characters from ``0-9A-Za-z`` (ISBN-10 asins end in ``X``). Read as a
base-62 number with the digits in ASCII order, every such asin is a distinct int64 below
62**10 (8.4e17 < 2**63), and codes sort exactly as the asins do. Parser workers encode a
whole block of asins with a few array operations; the parent then numbers all products
densely with one ``np.unique`` at the end, instead of one dict lookup per asin in the parent
(which was the bottleneck with worker processes: about half the parent's time, measured).

Anything else (another length, other characters) is an *irregular* asin: the parent gives it
a code from 62**10 upwards, in first-seen order, through :class:`IrregularAsins`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

ALPHABET = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"  # ASCII order
BASE = len(ALPHABET)
WIDTH = 10
IRREGULAR_BASE = BASE**WIDTH  # first code of irregular asins
_NOT_A_DIGIT = 255
_DIGIT_OF_BYTE = np.full(256, _NOT_A_DIGIT, dtype=np.uint8)
_DIGIT_OF_BYTE[np.frombuffer(ALPHABET, dtype=np.uint8)] = np.arange(BASE, dtype=np.uint8)
_BYTE_OF_DIGIT = np.frombuffer(ALPHABET, dtype=np.uint8)

Codes = npt.NDArray[np.int64]


def encode_asins(tokens: list[str]) -> tuple[Codes, npt.NDArray[np.int64], list[str]]:
    """Codes of ``tokens``; irregular ones get -1 and are listed for the parent to number.

    Returns:
        ``(codes, irregular_positions, irregular_tokens)``: codes has shape (len(tokens),).
    """
    n = len(tokens)
    codes = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return codes, np.zeros(0, np.int64), []
    regular = np.fromiter(map(len, tokens), dtype=np.int64, count=n) == WIDTH
    texts = tokens if regular.all() else [t for t, r in zip(tokens, regular, strict=True) if r]
    try:
        data = "".join(texts).encode("ascii")
    except UnicodeEncodeError:
        regular &= np.fromiter(map(str.isascii, tokens), dtype=bool, count=n)
        texts = [t for t, r in zip(tokens, regular, strict=True) if r]
        data = "".join(texts).encode("ascii")
    digits = _DIGIT_OF_BYTE[np.frombuffer(data, dtype=np.uint8).reshape(-1, WIDTH)]
    valid = (digits != _NOT_A_DIGIT).all(axis=1)
    value = np.zeros(digits.shape[0], dtype=np.int64)
    for column in range(WIDTH):  # Horner's rule, one vector operation per character
        value *= BASE
        value += digits[:, column]
    where = np.flatnonzero(regular)
    codes[where[valid]] = value[valid]
    irregular = np.flatnonzero(codes < 0)
    return codes, irregular, [tokens[i] for i in irregular.tolist()]


def decode_asins(codes: Codes) -> npt.NDArray[np.object_]:
    """The asins of regular codes (all below IRREGULAR_BASE), as an object array of str."""
    value = np.array(codes, dtype=np.int64)
    if value.size and (value.min() < 0 or value.max() >= IRREGULAR_BASE):
        raise ValueError("decode_asins takes regular codes only")
    digits = np.empty((value.size, WIDTH), dtype=np.uint8)
    for column in range(WIDTH - 1, -1, -1):
        digits[:, column] = value % BASE
        value //= BASE
    text = _BYTE_OF_DIGIT[digits].view(f"S{WIDTH}").ravel()
    return text.astype(f"U{WIDTH}").astype(object)


class IrregularAsins:
    """Codes for asins that are not 10 base-62 characters, in first-seen order."""

    def __init__(self) -> None:
        self._code: dict[str, int] = {}

    def codes(self, tokens: list[str]) -> Codes:
        """Codes (IRREGULAR_BASE and up) of ``tokens``, numbering new ones as they come."""
        known = self._code
        out = [known.setdefault(t, IRREGULAR_BASE + len(known)) for t in tokens]
        return np.array(out, dtype=np.int64)

    def asins(self, codes: Codes) -> list[str]:
        """The asins behind irregular ``codes``."""
        by_index = list(self._code)
        return [by_index[int(code) - IRREGULAR_BASE] for code in codes]


def asins_of_codes(codes: Codes, irregular: IrregularAsins) -> npt.NDArray[np.object_]:
    """The asin of every code, regular or irregular, as an object array of str."""
    out = np.empty(codes.size, dtype=object)
    regular = codes < IRREGULAR_BASE
    out[regular] = decode_asins(codes[regular])
    out[~regular] = irregular.asins(codes[~regular])
    return out


def dense_ids(codes: Codes) -> tuple[Codes, npt.NDArray[np.int32]]:
    """Number codes densely: ``(unique_codes, ids)`` with ``unique_codes[ids] == codes``.

    Like ``np.unique(codes, return_inverse=True)`` but with int32 ids and about 40% less
    peak memory (tens of millions of codes on Books), by sorting once and freeing as it goes.
    """
    order = np.argsort(codes)  # ties are equal codes: any order among them will do
    ordered = codes[order]
    starts = np.empty(ordered.size, dtype=bool)
    starts[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    unique = ordered[starts]
    del ordered
    rank = np.cumsum(starts, dtype=np.int32)
    rank -= 1
    del starts
    ids = np.empty(codes.size, dtype=np.int32)
    ids[order] = rank
    return unique, ids
