"""The planted product catalog: category tree, brands, prices, popularity, latent affinity.

Products are numbered in tree order (level 1, then level 2, then leaf), so every category
node at every level owns one contiguous range of product ids: sampling "within a block"
is then a range of one cumulative-popularity array. ASINs are a scrambled function of the
id, so the file never shows that order.

Each product gets a latent vector ``z = category centroids + brand offset + price tier +
noise``; co-purchase lists are drawn by that affinity (``relations.py``). Brand, category
and price are therefore genuinely predictive of who co-purchases with whom, also for
products that rarely or never occur in training pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recsys.data.synthetic.names import LEAF_SUFFIXES, brand_names, pools_for, unique_names
from recsys.data.synthetic.presets import SyntheticPreset

LATENT_DIM = 12
PRODUCTS_PER_LEAF = 300  # mean leaf size; real Electronics leaves hold hundreds of products
PARETO_ALPHA = 1.3  # popularity tail exponent
POPULARITY_SIGMA = 1.2  # log-normal spread of popularity below the tail
# Weights of the latent components (category levels 1/2/3, brand, price tier, item noise).
W_LEVEL1, W_LEVEL2, W_LEAF, W_BRAND, W_PRICE, W_NOISE = 1.0, 0.8, 0.6, 0.7, 0.5, 0.45


@dataclass(frozen=True)
class CategoryTree:
    """Category nodes per level; ``*_parent`` maps a node to its parent's index."""

    level1: list[str]
    level2: list[str]
    level2_parent: np.ndarray  # (n_level2,) int: level-1 index
    leaf: list[str]
    leaf_parent: np.ndarray  # (n_leaves,) int: level-2 index


@dataclass(frozen=True)
class Catalog:
    """Every product of the universe as arrays indexed by product id (tree order)."""

    tree: CategoryTree
    leaf: np.ndarray  # (n,) int32 leaf index, non-decreasing
    level2: np.ndarray  # (n,) int32
    level1: np.ndarray  # (n,) int32
    brand: np.ndarray  # (n,) int32 index into brand_names
    brand_names: list[str]
    price: np.ndarray  # (n,) float64, in dollars, rounded to cents
    popularity: np.ndarray  # (n,) float64, Pareto: power-law tail
    latent: np.ndarray  # (n, LATENT_DIM) float32

    @property
    def n_products(self) -> int:
        return int(self.leaf.shape[0])


def build_tree(spec: SyntheticPreset, n_products: int, rng: np.random.Generator) -> CategoryTree:
    """A three-level tree below the root whose leaf count grows with the product count."""
    wanted = spec.level1_count or max(6, round(n_products / 2000))
    n_level1 = min(len(spec.level1_names), wanted)
    n_leaves = max(2 * n_level1, round(n_products / PRODUCTS_PER_LEAF))
    level1 = list(spec.level1_names[:n_level1])
    leaves_per_l1 = 1 + rng.multinomial(n_leaves - n_level1, rng.dirichlet(np.full(n_level1, 2.0)))
    nouns, qualifiers = pools_for(spec.root)
    combos = [f"{q} {n}" for q in qualifiers for n in nouns]
    combo_order = rng.permutation(len(combos))
    level2_names: list[str] = []
    level2_parent: list[int] = []
    leaf_suffix: list[str] = []
    leaf_parent: list[int] = []
    for l1, k in enumerate(leaves_per_l1.tolist()):
        n_children = max(1, round(np.sqrt(k)))
        per_child = 1 + rng.multinomial(k - n_children, np.full(n_children, 1 / n_children))
        for n_leaf in per_child.tolist():
            l2 = len(level2_names)
            level2_names.append(combos[combo_order[l2 % len(combos)]])
            level2_parent.append(l1)
            leaf_suffix.extend(LEAF_SUFFIXES[j % len(LEAF_SUFFIXES)] for j in range(n_leaf))
            leaf_parent.extend([l2] * n_leaf)
    level2_names = unique_names(level2_names)
    return CategoryTree(
        level1=level1,
        level2=level2_names,
        level2_parent=np.asarray(level2_parent, dtype=np.int32),
        leaf=unique_names(
            [f"{level2_names[p]} {s}" for p, s in zip(leaf_parent, leaf_suffix, strict=True)]
        ),
        leaf_parent=np.asarray(leaf_parent, dtype=np.int32),
    )


def _assign_brands(
    level2: np.ndarray, level1: np.ndarray, tree: CategoryTree, rng: np.random.Generator
) -> tuple[np.ndarray, int]:
    """Brands have a home level-2 category; products mostly carry a brand of their home.

    Brand ids are numbered by home level-2 node, so a level-2 (and level-1) node owns a
    contiguous range of brand ids. Within a pool a few brands dominate (draw skewed by u²).
    """
    n_level2 = len(tree.level2)
    n = level2.shape[0]
    n_brands = max(n_level2, n // 50)
    sizes = np.bincount(level2, minlength=n_level2).astype(np.float64)
    home = np.sort(
        np.concatenate(
            [np.arange(n_level2), rng.choice(n_level2, n_brands - n_level2, p=sizes / sizes.sum())]
        )
    )
    per_l2 = np.bincount(home, minlength=n_level2)
    l2_start = np.concatenate([[0], np.cumsum(per_l2)[:-1]])
    per_l1 = np.bincount(tree.level2_parent, weights=per_l2, minlength=len(tree.level1))
    l1_start = np.concatenate([[0], np.cumsum(per_l1)[:-1]]).astype(np.int64)
    skew = rng.random(n) ** 2
    own = l2_start[level2] + (skew * per_l2[level2]).astype(np.int64)
    sibling = l1_start[level1] + (skew * per_l1[level1]).astype(np.int64)
    brand = np.where(rng.random(n) < 0.85, own, sibling)
    return brand.astype(np.int32), n_brands


def _unit_rows(rows: int, rng: np.random.Generator) -> np.ndarray:
    vectors = rng.standard_normal((rows, LATENT_DIM))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def build_catalog(spec: SyntheticPreset, n_products: int, rng: np.random.Generator) -> Catalog:
    """Draw the tree, assign products to leaves, then brands, prices, popularity, latents."""
    tree = build_tree(spec, n_products, rng)
    n_leaves = len(tree.leaf)
    leaf_sizes = rng.multinomial(n_products, rng.dirichlet(np.full(n_leaves, 3.0)))
    leaf = np.repeat(np.arange(n_leaves, dtype=np.int32), leaf_sizes)
    level2 = tree.leaf_parent[leaf]
    level1 = tree.level2_parent[level2]
    brand, n_brands = _assign_brands(level2, level1, tree, rng)

    # Prices: log-normal around a per-category median that drifts down the tree.
    base = 15.0 if spec.root == "Books" else 30.0
    l1_median = np.log(base) + rng.normal(0, 0.8, len(tree.level1))
    l2_median = l1_median[tree.level2_parent] + rng.normal(0, 0.5, len(tree.level2))
    leaf_median = l2_median[tree.leaf_parent] + rng.normal(0, 0.3, n_leaves)
    price_tier = rng.standard_normal(n_products)
    price = np.maximum(0.5, np.round(np.exp(leaf_median[leaf] + 0.6 * price_tier), 2))

    # Power-law tail (Pareto) times a log-normal body: many products are co-purchased once
    # or twice (40% of the real Digital Music sample's products are in one pair), a few
    # with thousands.
    popularity = (1.0 - rng.random(n_products)) ** (-1.0 / PARETO_ALPHA) * rng.lognormal(
        0.0, POPULARITY_SIGMA, n_products
    )

    price_direction = _unit_rows(1, rng)[0]
    latent = (
        W_LEVEL1 * _unit_rows(len(tree.level1), rng)[level1]
        + W_LEVEL2 * _unit_rows(len(tree.level2), rng)[level2]
        + W_LEAF * _unit_rows(n_leaves, rng)[leaf]
        + W_BRAND * _unit_rows(n_brands, rng)[brand]
        + W_PRICE * price_tier[:, None] * price_direction
        + W_NOISE * _unit_rows(n_products, rng)
    ).astype(np.float32)
    return Catalog(
        tree=tree,
        leaf=leaf,
        level2=level2,
        level1=level1,
        brand=brand,
        brand_names=brand_names(n_brands, spec.brand_suffixes, rng),
        price=price,
        popularity=popularity,
        latent=latent,
    )
