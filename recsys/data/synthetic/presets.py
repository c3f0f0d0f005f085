"""Synthetic dataset presets: the sizes and shapes that scale 1.0 reproduces.

Scale multiplies every count, so scale 1.0 gives the study's sizes *after* the default
prepare step (records with `related`, a title and >= 2 also_bought entries; pairs are the
unique undirected pairs of the kept records' three relations; products are the asins in
any pair). The study reports Electronics 418,749 products / 4,005,262 pairs and Books
1,948,370 products / 26,596,848 pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from recsys.data.synthetic.fitted import BOOKS_SHAPE, ELECTRONICS_SHAPE
from recsys.data.synthetic.shape import GraphShape


@dataclass(frozen=True)
class SyntheticPreset:
    """How one synthetic category looks at scale 1.0.

    Attributes:
        root: root category name (the first entry of every category path).
        n_products: products in pairs after the default prepare.
        n_pairs: unique undirected pairs after the default prepare.
        n_records: lines in the file; the records beyond the kept ones fail the study
            filters on purpose (no `related`, no title or < 2 also_bought), as in the real
            files (Electronics: 498,196 records; Books: 2,370,585).
        default_scale: scale used when the caller passes ``None``.
        metadata_share: share of products with a kept record of their own (the study's
            Electronics figure: 39%); the others appear only inside related lists.
        brand_empty_share: share of kept records whose brand is "" (Electronics: ~half).
        level1_names: first-level categories below the root.
        asin_style: "b" for Amazon-style "B" + 9 base-36 chars, "isbn" for 10 digits.
        brand_suffixes: appended to generated brand names (publishers for books).
        relation_shares: expected share of list entries per relation
            (bought_together, also_bought, also_viewed); tunes how the pair budget is spent.
        obscure_share: share of kept records, the least popular, whose only related list
            is two also_bought products. They are in few pairs, so some are unseen after
            the split: the cold-start slice (real Digital Music: 1% of kept records are in
            2 pairs, 5% in <= 4). Unused with a ``shape``.
        shape: fitted graph knobs (``shape.py``): exact-degree lists with neighbour pairs and
            local pairing (``shaped.py``); None draws lists by popularity
            (``relations.py``).
        level1_count: level-1 categories; None: one per 2,000 products, 6 to all names.
        price_missing_share: share of records without a price (real files: 0-20%).
        sales_rank_missing_share: share of records without a sales rank.
        category_shares: share of records whose category path has at least 1, 2 and 3
            levels below the root (the Books head's records mostly name only "Books").
        max_scale: the largest scale allowed (a twin of a small sample goes to 1000).
    """

    root: str
    n_products: int
    n_pairs: int
    n_records: int
    default_scale: float
    metadata_share: float
    brand_empty_share: float
    level1_names: tuple[str, ...]
    asin_style: str
    brand_suffixes: tuple[str, ...]
    relation_shares: tuple[float, float, float]
    obscure_share: float
    shape: GraphShape | None = None
    level1_count: int | None = None
    price_missing_share: float = 0.12
    sales_rank_missing_share: float = 0.08
    category_shares: tuple[float, float, float] = (1.0, 1.0, 1.0)
    max_scale: float = 4.0


ELECTRONICS_LEVEL1 = (
    "Accessories & Supplies",
    "Camera & Photo",
    "Car & Vehicle Electronics",
    "Cell Phones & Accessories",
    "Computers & Accessories",
    "GPS & Navigation",
    "Headphones",
    "Home Audio",
    "Office Electronics",
    "Portable Audio & Video",
    "Security & Surveillance",
    "Television & Video",
)

BOOKS_LEVEL1 = (
    "Arts & Photography",
    "Biographies & Memoirs",
    "Business & Money",
    "Children's Books",
    "Christian Books & Bibles",
    "Comics & Graphic Novels",
    "Computers & Technology",
    "Cookbooks, Food & Wine",
    "Crafts, Hobbies & Home",
    "Education & Teaching",
    "Health, Fitness & Dieting",
    "History",
    "Humor & Entertainment",
    "Law",
    "Literature & Fiction",
    "Medical Books",
    "Mystery, Thriller & Suspense",
    "Parenting & Relationships",
    "Politics & Social Sciences",
    "Reference",
    "Religion & Spirituality",
    "Romance",
    "Science & Math",
    "Science Fiction & Fantasy",
    "Self-Help",
    "Sports & Outdoors",
    "Teen & Young Adult",
    "Travel",
)

_ELECTRONICS = SyntheticPreset(
    root="Electronics",
    n_products=418_749,
    n_pairs=4_005_262,
    n_records=498_196,
    default_scale=1.0,
    metadata_share=0.39,
    brand_empty_share=0.5,
    level1_names=ELECTRONICS_LEVEL1,
    asin_style="b",
    brand_suffixes=("",),
    relation_shares=(0.05, 0.65, 0.30),
    obscure_share=0.08,
)

_BOOKS = SyntheticPreset(
    root="Books",
    n_products=1_948_370,
    n_pairs=26_596_848,
    n_records=2_370_585,
    default_scale=1.0,
    metadata_share=0.39,
    brand_empty_share=0.5,
    level1_names=BOOKS_LEVEL1,
    asin_style="isbn",
    brand_suffixes=(" Press", " Books", " Publishing", " House"),
    relation_shares=(0.03, 0.82, 0.15),
    obscure_share=0.08,
)

PRESETS: dict[str, SyntheticPreset] = {
    # The study's sizes with the Digital Music sample's graph shape (degree laws,
    # clustering, share of pairs within one category; benchmarks/fit_presets.py).
    "electronics": replace(_ELECTRONICS, shape=ELECTRONICS_SHAPE),
    # Electronics in shape, 1% in size: ~4.2k products / ~40k pairs, so the whole default
    # pipeline (prepare, walks, every method) runs in minutes on 2 cores. A quarter of its
    # records are obscure, so even this small split has a cold-start slice to measure.
    "small": replace(_ELECTRONICS, default_scale=0.01, obscure_share=0.35),
    "books": replace(_BOOKS, shape=BOOKS_SHAPE),  # the Books head's graph shape
    # The first generator's lists (popularity draws; 9-11% degree-1 products, 97% of
    # validation pairs seen): what the figures measured before the re-calibration used.
    "electronics-v1": _ELECTRONICS,
    "books-v1": _BOOKS,
}

MIN_PRODUCTS = 200


@dataclass(frozen=True)
class Sizes:
    """Counts for one (preset, scale): what the default prepare step will find."""

    n_products: int  # products in pairs
    n_pairs: int  # unique undirected pairs
    n_kept: int  # records that pass the study filters (= products with metadata)
    n_failing: int  # extra records that fail the filters on purpose


def get_preset(preset: str) -> SyntheticPreset:
    """Look a preset up by name, with an error that lists the valid ones."""
    try:
        return PRESETS[preset]
    except KeyError:
        raise ValueError(
            f"unknown synthetic preset {preset!r}; choose one of {sorted(PRESETS)}"
        ) from None


def resolve_sizes(spec: SyntheticPreset, scale: float | None) -> tuple[float, Sizes]:
    """Scale the preset's counts; ``None`` means the preset's default scale.

    Raises:
        ValueError: scale is not positive, above ``spec.max_scale``, or so small that
            fewer than ``MIN_PRODUCTS`` products would remain.
    """
    scale = spec.default_scale if scale is None else float(scale)
    if not np.isfinite(scale) or scale <= 0 or scale > spec.max_scale:
        raise ValueError(f"scale must be in (0, {spec.max_scale:g}], got {scale:g}")
    n_products = round(spec.n_products * scale)
    if n_products < MIN_PRODUCTS:
        raise ValueError(
            f"scale {scale} gives only {n_products} products; use a scale of at least "
            f"{MIN_PRODUCTS / spec.n_products:.2g} for this preset"
        )
    n_kept = round(n_products * spec.metadata_share)
    n_failing = max(0, round(spec.n_records * scale) - n_kept)
    return scale, Sizes(
        n_products=n_products,
        n_pairs=round(spec.n_pairs * scale),
        n_kept=n_kept,
        n_failing=n_failing,
    )
