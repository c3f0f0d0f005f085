"""Degree laws: a degree distribution fitted to a real graph, drawn at any size.

A :class:`DegreeLaw` is the survival function ``P(D >= d)`` of an observed degree sample at
a grid of degrees (every degree up to 8, then log-spaced up to the maximum), joined by
power laws between grid points (straight lines on the log-log plot every degree
distribution is read on) and extended past the maximum by a Pareto tail whose exponent is
the Hill estimate of the sample's top 1%. It is a piecewise power-law fit: exact at the
grid points, so the share of degree-1 products, the quantiles and the maximum come out as
measured, and a twin ten times larger gets the tail the sample implies rather than the
sample's maximum.

Degree sequences are drawn by stratified quantiles (``u = (i + 0.5) / n``), not sampled:
there is no sampling noise to reproduce, so the same law gives the same degree-1 share and
maximum at every seed, and at scale 1.0 the observed maximum exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

DENSE_UP_TO = 8  # every degree up to here is a grid point (the body holds most products)
GRID_RATIO = 1.25  # log spacing of the grid above DENSE_UP_TO
TAIL_SHARE = 0.01  # the Hill estimate uses the top 1% of degrees
MIN_TAIL = 10  # ... and at least this many
MIN_EXPONENT, MAX_EXPONENT = 0.5, 6.0  # a Pareto tail outside this range is not credible


@dataclass(frozen=True)
class DegreeLaw:
    """``P(D >= d)`` at grid degrees, power law between them and past the last.

    Attributes:
        degrees: increasing grid degrees, the first is ``floor`` (the smallest degree).
        survival: ``P(D >= degree)`` at each grid degree; ``survival[0] == 1``, decreasing;
            the last is the plotting position of the sample's maximum, ``(k - 0.5) / n``
            for ``k`` products at the maximum, so ``n`` strata end exactly there.
        tail_exponent: Pareto exponent ``alpha`` past the last grid degree,
            ``P(D >= d) ~ d^-alpha``.
        stretch: multiplies every degree's excess over ``floor + 1`` (1 = as fitted), so
            the share at ``floor`` is kept; gives a preset the study's pair count with the
            sample's shape.
    """

    degrees: tuple[int, ...]
    survival: tuple[float, ...]
    tail_exponent: float
    stretch: float = 1.0

    @property
    def floor(self) -> int:
        return self.degrees[0]

    @classmethod
    def fit(cls, degree: np.ndarray) -> DegreeLaw:
        """Fit the law to an observed degree sample (positive integers).

        Raises:
            ValueError: an empty sample or a degree below 1.
        """
        degree = np.sort(np.asarray(degree, dtype=np.int64))
        if degree.size == 0 or degree[0] < 1:
            raise ValueError("a degree law needs a non-empty sample of degrees >= 1")
        n, top = degree.size, int(degree[-1])
        grid = _grid(int(degree[0]), top)
        at_least = n - np.searchsorted(degree, grid, side="left")  # products with D >= d
        survival = at_least / n
        survival[-1] = (at_least[-1] - 0.5) / n
        return cls(
            degrees=tuple(int(d) for d in grid),
            survival=tuple(float(s) for s in survival),
            tail_exponent=hill_exponent(degree),
        )

    def sequence(self, n: int) -> np.ndarray:
        """``n`` degrees at the stratified quantiles of the law, ascending (int64)."""
        if n <= 0:
            return np.zeros(0, dtype=np.int64)
        level = 1.0 - (np.arange(n, dtype=np.float64) + 0.5) / n  # survival levels, falling
        log_d = np.log(np.asarray(self.degrees, dtype=np.float64))
        log_s = np.log(np.asarray(self.survival, dtype=np.float64))
        # Inverse survival: interpolate log d on log S (both fall along the grid).
        x = np.exp(np.interp(np.log(level), log_s[::-1], log_d[::-1]))
        past = level < self.survival[-1]
        x[past] = self.degrees[-1] * (self.survival[-1] / level[past]) ** (1 / self.tail_exponent)
        above = x >= self.floor + 1  # the floor's share stays as fitted
        x[above] = self.floor + 1 + self.stretch * (x[above] - self.floor - 1)
        return np.floor(x + 1e-9).astype(np.int64)[::-1].copy()

    def mean(self, n: int = 100_000) -> float:
        """Mean degree of an ``n``-product sequence (the tail's reach grows with ``n``)."""
        return float(self.sequence(n).mean())

    def with_mean(self, target: float, n: int) -> DegreeLaw:
        """The same shape stretched above ``floor + 1`` so ``n`` products average ``target``.

        The share at ``floor`` (degree-1 products) is kept.

        Raises:
            ValueError: ``target`` cannot be reached with that share at ``floor``.
        """
        base = replace(self, stretch=1.0)
        at_floor = 1.0 - self.survival[1] if len(self.survival) > 1 else 1.0
        lowest = self.floor + (1.0 - at_floor)  # every other product at floor + 1
        if target <= lowest:
            raise ValueError(
                f"a mean degree of {target:g} is not above {lowest:.3g}, the least this law "
                f"allows with {at_floor:.1%} of its products at degree {self.floor}"
            )
        stretch = 1.0
        for _ in range(8):  # flooring makes the map slightly non-linear: refine
            got = replace(base, stretch=stretch).mean(n)
            stretch *= (target - lowest) / max(got - lowest, 1e-9)
        return replace(base, stretch=float(stretch))

    def to_json(self) -> dict[str, Any]:
        return {
            "degrees": list(self.degrees),
            "survival": list(self.survival),
            "tail_exponent": self.tail_exponent,
            "stretch": self.stretch,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DegreeLaw:
        return cls(
            degrees=tuple(int(d) for d in data["degrees"]),
            survival=tuple(float(s) for s in data["survival"]),
            tail_exponent=float(data["tail_exponent"]),
            stretch=float(data.get("stretch", 1.0)),
        )


def _grid(low: int, top: int) -> np.ndarray:
    """Every degree from ``low`` to DENSE_UP_TO, then x1.25 steps, ending at ``top``
    (``low`` itself when it is above DENSE_UP_TO: a star's one hub)."""
    points = list(range(low, max(low, min(top, DENSE_UP_TO)) + 1))
    d = float(points[-1])
    while True:
        d = max(d * GRID_RATIO, d + 1)
        if round(d) >= top:
            break
        points.append(round(d))
    if points[-1] != top:
        points.append(top)
    return np.unique(np.asarray(points, dtype=np.int64))


def hill_exponent(degree: np.ndarray) -> float:
    """Hill's estimate of the Pareto tail exponent from the top ``TAIL_SHARE`` of degrees.

    ``alpha = k / sum(log(d_i / d_(k+1)))`` over the ``k`` largest; clipped to
    [MIN_EXPONENT, MAX_EXPONENT], and MAX_EXPONENT (a thin tail) when the top is flat.
    """
    ordered = np.sort(np.asarray(degree, dtype=np.float64))[::-1]
    k = min(ordered.size - 1, max(MIN_TAIL, math.ceil(TAIL_SHARE * ordered.size)))
    if k < 1:
        return MAX_EXPONENT
    logs = np.log(ordered[:k] / ordered[k])
    total = float(logs.sum())
    if total <= 0:
        return MAX_EXPONENT
    return float(np.clip(k / total, MIN_EXPONENT, MAX_EXPONENT))
