"""The size-free shape of a co-purchase graph: what a twin copies from a real file.

A :class:`GraphShape` holds the generator's graph knobs: the degree laws of records and of
products without a record (``degrees.py``), how much of the graph joins near neighbours
(clustering, ``neighbours.py``), and how much is paired anywhere in the catalog rather than
near in the category tree (the share of pairs within one top category). With it, a
preset draws an exact-degree graph (``shaped.py``) instead of the popularity draws of
``relations.py``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from recsys.data.synthetic.degrees import DegreeLaw

JITTER = 2.0  # stub window, in positions per partner: wide enough for distinct partners
# How the stubs that stay in the tree divide between the leaf, level-2 and level-1 blocks.
TREE_LEVEL_SPLIT = (0.6, 0.25, 0.15)


@dataclass(frozen=True)
class GraphShape:
    """Graph knobs independent of the product count.

    Attributes:
        record_degree: degrees of products with a record (>= 2: a kept record lists at
            least two products).
        listed_degree: degrees of products without a record (listed by others only).
        neighbour_share: share of every product's degree offered to its nearest
            neighbours in its leaf (0 = none; raises clustering), the rest paired by stubs.
        cross_share: share of the remaining stubs paired anywhere in the catalog rather
            than within their category (lowers the share of pairs within one top
            category, and clustering).
        jitter: stub window width, positions per partner.
    """

    record_degree: DegreeLaw
    listed_degree: DegreeLaw
    neighbour_share: float
    cross_share: float
    jitter: float = JITTER

    def block_probs(self) -> tuple[float, float, float, float]:
        """Chance a stub first tries its leaf, level-2, level-1 block or the catalog."""
        stay = 1.0 - self.cross_share
        leaf, level2, level1 = (stay * share for share in TREE_LEVEL_SPLIT)
        return (leaf, level2, level1, self.cross_share)

    def digest(self) -> str:
        """Short hash of the knobs (names the files generated with them)."""
        text = json.dumps(self.to_json(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:8]

    def to_json(self) -> dict[str, Any]:
        return {
            "record_degree": self.record_degree.to_json(),
            "listed_degree": self.listed_degree.to_json(),
            "neighbour_share": self.neighbour_share,
            "cross_share": self.cross_share,
            "jitter": self.jitter,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GraphShape:
        return cls(
            record_degree=DegreeLaw.from_json(data["record_degree"]),
            listed_degree=DegreeLaw.from_json(data["listed_degree"]),
            neighbour_share=float(data["neighbour_share"]),
            cross_share=float(data["cross_share"]),
            jitter=float(data["jitter"]),
        )
