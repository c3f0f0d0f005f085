"""``write_synthetic_metadata``: a 2014-format metadata file with planted structure.

Two kinds of records are written, sorted by asin as the real files are:

* kept records (``metadata_share`` of the products): a title, >= 2 also_bought entries and
  a full set of fields; they pass the study filters, and after the default prepare they
  give exactly the preset's product and pair counts times ``scale``;
* failing records (so that the line count matches the real file's): no ``related``, fewer
  than 2 also_bought, or no title, in shares 50 / 30 / 20%. Their asins occur nowhere
  else, so the filters drop them without changing any count; with the filters off they
  add their own pairs.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from tqdm import tqdm

from recsys.data.synthetic.calibrate import calibrate, name_relations
from recsys.data.synthetic.catalog import Catalog, build_catalog
from recsys.data.synthetic.names import TITLE_ADJECTIVES, TITLE_NOUNS
from recsys.data.synthetic.presets import (
    PRESETS,
    Sizes,
    SyntheticPreset,
    get_preset,
    resolve_sizes,
)
from recsys.data.synthetic.relations import (
    ALSO_BOUGHT_CODE,
    ALSO_VIEWED_CODE,
    RelationLists,
    build_relations,
)
from recsys.data.synthetic.sampling import ALSO_BOUGHT, ALSO_VIEWED, Blocks, draw_targets
from recsys.data.synthetic.shaped import build_shaped_graph, draw_degrees
from recsys.data.synthetic.writer import (
    CHUNK_RECORDS,
    RecordColumns,
    encode_asins,
    format_line,
    iter_related,
    progress_bar,
    random_image_names,
    write_gzip_atomically,
)

logger = logging.getLogger(__name__)

FAILING_KIND_SHARES = (0.5, 0.3, 0.2)  # no related / < 2 also_bought / no title
PROGRESS_MIN_RECORDS = 100_000


def default_file_name(preset: str, scale: float, seed: int) -> str:
    """File name used when ``path`` is a directory; a preset with a fitted shape adds the
    shape's digest, so a file made before a re-fit is never taken for a new one."""
    spec = PRESETS.get(preset)
    shape = f"_shape-{spec.shape.digest()}" if spec is not None and spec.shape else ""
    return f"meta_synthetic-{preset}_scale{scale:g}_seed{seed}{shape}.json.gz"


def draw_lists(
    spec: SyntheticPreset, sizes: Sizes, rng: np.random.Generator, progress: bool = False
) -> tuple[Catalog, np.ndarray, RelationLists]:
    """The catalog, the sorted product ids with a kept record, and their related lists."""
    catalog = build_catalog(spec, sizes.n_products, rng)
    records = np.sort(rng.choice(sizes.n_products, sizes.n_kept, replace=False)).astype(np.int32)
    if spec.shape is None:
        lists = build_relations(catalog, spec, sizes, records, rng, progress=progress)
    else:
        catalog, lists = build_shaped_relations(catalog, spec, sizes, records, rng)
    return catalog, records, lists


def write_synthetic_metadata(
    path: Path,
    preset: str | SyntheticPreset,
    scale: float | None,
    seed: int,
    *,
    progress: bool | None = None,
) -> Path:
    """Write a synthetic metadata file in the 2014 per-category format.

    Args:
        path: the ``.json.gz`` file to write (replaced atomically), or an existing
            directory to write ``default_file_name(...)`` into.
        preset: "small", "electronics" or "books" (``presets.PRESETS``), or a preset
            itself (a twin's, ``twin.py``; then ``path`` must name the file).
        scale: multiplies the preset's study-sized counts; ``None`` = the preset's default
            (1.0 for electronics / books, 0.01 for small).
        seed: the file is byte-identical for the same (preset, scale, seed).
        progress: show a progress bar; ``None`` = only for files of 100k records or more.

    Returns:
        The path written.

    Raises:
        ValueError: unknown preset, scale out of range, or a negative seed.
    """
    spec = get_preset(preset) if isinstance(preset, str) else preset
    label = preset if isinstance(preset, str) else spec.root
    scale, sizes = resolve_sizes(spec, scale)
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    path = Path(path)
    if path.is_dir():
        if not isinstance(preset, str):
            raise ValueError(f"{path} is a directory; name the file to write the twin to")
        path = path / default_file_name(preset, scale, seed)
    n_records = sizes.n_kept + sizes.n_failing
    show = n_records >= PROGRESS_MIN_RECORDS if progress is None else progress
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    catalog, records, lists = draw_lists(spec, sizes, rng, progress=show)
    logger.info(
        "synthetic %s scale %g: %d products, %d list entries drawn in %.1f s",
        label, scale, sizes.n_products, lists.src.shape[0], time.perf_counter() - started,
    )  # fmt: skip
    proxy, failing_kind, failing_lists = _failing_records(catalog, sizes, rng)
    record_ids = np.concatenate([records, sizes.n_products + np.arange(sizes.n_failing)])
    proxy = np.concatenate([records, proxy])
    title_missing = np.concatenate([np.zeros(sizes.n_kept, bool), failing_kind == 2])
    no_related = np.concatenate([np.zeros(sizes.n_kept, bool), failing_kind == 0])
    asins = encode_asins(sizes.n_products + sizes.n_failing, spec.asin_style, rng)
    file_order = np.argsort(asins[record_ids], kind="stable")
    entries = _merge(lists, failing_lists)
    bar = progress_bar(n_records, f"writing {path.name}", show)
    chunks = _lines(
        spec, catalog, asins, entries,
        record_ids[file_order], proxy[file_order], title_missing[file_order],
        no_related[file_order], rng, bar,
    )  # fmt: skip
    write_gzip_atomically(path, chunks)
    bar.close()
    logger.info("wrote %s (%d records) in %.1f s", path, n_records, time.perf_counter() - started)
    return path


def build_shaped_relations(
    catalog: Catalog, spec: SyntheticPreset, sizes: Sizes, records: np.ndarray,
    rng: np.random.Generator,
) -> tuple[Catalog, RelationLists]:  # fmt: skip
    """Exact-degree lists of a preset with a fitted shape; the catalog's popularity
    becomes the drawn degree (sales ranks and failing records follow it)."""
    if spec.shape is None:
        raise ValueError(f"preset {spec.root!r} has no graph shape")
    degree = draw_degrees(spec.shape, sizes, records, rng)
    catalog = dataclasses.replace(catalog, popularity=degree.astype(np.float64) + 0.5)
    graph = build_shaped_graph(catalog, spec, sizes, records, degree, rng)
    graph = calibrate(graph, catalog, spec, sizes, records, degree, rng)
    return catalog, name_relations(graph, spec, sizes.n_products, rng)


def _failing_records(
    catalog: Catalog, sizes: Sizes, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, RelationLists]:
    """Records that the study filters drop: their kind, a look-alike product, their lists.

    Each borrows category, brand, price and neighbourhood from a random catalog product
    (its proxy), so with the filters off its pairs look like real ones.
    """
    n_failing = sizes.n_failing
    ids = sizes.n_products + np.arange(n_failing, dtype=np.int64)
    proxy = rng.integers(0, sizes.n_products, n_failing).astype(np.int32)
    kind = rng.choice(3, size=n_failing, p=FAILING_KIND_SHARES)
    also_bought_len = np.select(
        [kind == 1, kind == 2], [rng.integers(0, 2, n_failing), 2 + rng.poisson(6, n_failing)], 0
    )
    also_viewed_len = np.where(kind == 0, 0, rng.poisson(3, n_failing) + (kind == 1))
    blocks = Blocks.of(catalog)
    src, rel, dst = [], [], []
    for code, shape, length in (
        (ALSO_BOUGHT_CODE, ALSO_BOUGHT, also_bought_len),
        (ALSO_VIEWED_CODE, ALSO_VIEWED, also_viewed_len),
    ):
        src.append(np.repeat(ids, length))
        rel.append(np.full(src[-1].shape[0], code, dtype=np.int8))
        dst.append(draw_targets(catalog, blocks, np.repeat(proxy, length), shape, rng))
    src_all, rel_all, dst_all = np.concatenate(src), np.concatenate(rel), np.concatenate(dst)
    key = (src_all * 3 + rel_all) * sizes.n_products + dst_all
    keep = np.sort(np.unique(key, return_index=True)[1])
    keep = keep[dst_all[keep] >= 0]
    return proxy, kind, RelationLists(src_all[keep], rel_all[keep], dst_all[keep])


def _merge(kept: RelationLists, failing: RelationLists) -> RelationLists:
    src = np.concatenate([kept.src.astype(np.int64), failing.src])
    rel = np.concatenate([kept.relation, failing.relation])
    dst = np.concatenate([kept.dst, failing.dst])
    order = np.lexsort((rel, src))
    return RelationLists(src[order], rel[order], dst[order])


def _titles(
    spec: SyntheticPreset,
    catalog: Catalog,
    proxy: np.ndarray,
    brand: list[str],
    rng: np.random.Generator,
) -> list[str]:
    """Titles that read like the category's: brand + leaf + model, or a book-like phrase."""
    n = int(proxy.shape[0])
    if spec.root == "Books":
        adj: list[int] = rng.integers(0, len(TITLE_ADJECTIVES), n).tolist()
        noun: list[int] = rng.integers(0, len(TITLE_NOUNS), n).tolist()
        return [
            f"The {TITLE_ADJECTIVES[a]} {TITLE_NOUNS[b]}" for a, b in zip(adj, noun, strict=True)
        ]
    leaf_names = catalog.tree.leaf
    model: list[int] = rng.integers(100, 10_000, n).tolist()
    return [
        f"{b} {leaf_names[leaf]} X-{m}".lstrip()
        for b, leaf, m in zip(brand, catalog.leaf[proxy].tolist(), model, strict=True)
    ]


def _category_depth(spec: SyntheticPreset, n: int, rng: np.random.Generator) -> np.ndarray:
    """Levels below the root each record's category path names (3 unless the preset
    says fewer for some)."""
    if spec.category_shares == (1.0, 1.0, 1.0):
        return np.full(n, 3, dtype=np.int64)
    u = rng.random(n)
    return (u[:, None] < np.asarray(spec.category_shares)[None, :]).sum(axis=1)


def _lines(
    spec: SyntheticPreset,
    catalog: Catalog,
    asins: np.ndarray,
    entries: RelationLists,
    record_ids: np.ndarray,
    proxy: np.ndarray,
    title_missing: np.ndarray,
    no_related: np.ndarray,
    rng: np.random.Generator,
    bar: tqdm,
) -> Iterator[str]:
    """Text of the file, chunk by chunk, records in file order."""
    tree = catalog.tree
    leaf_paths = [
        [spec.root, tree.level1[tree.level2_parent[tree.leaf_parent[leaf]]],
         tree.level2[tree.leaf_parent[leaf]], tree.leaf[leaf]]
        for leaf in range(len(tree.leaf))
    ]  # fmt: skip
    n = int(record_ids.shape[0])
    noisy_popularity = catalog.popularity[proxy] * rng.lognormal(0.0, 0.5, n)
    sales_rank = np.empty(n, dtype=np.int64)
    sales_rank[np.argsort(-noisy_popularity, kind="stable")] = np.arange(1, n + 1)
    sales_rank[rng.random(n) < spec.sales_rank_missing_share] = 0
    price = np.where(rng.random(n) < spec.price_missing_share, np.nan, catalog.price[proxy])
    depth = _category_depth(spec, n, rng)
    brand_shown = rng.random(n) >= spec.brand_empty_share
    keys = entries.src * 3 + entries.relation  # sorted
    for begin in range(0, n, CHUNK_RECORDS):
        rows = slice(begin, min(n, begin + CHUNK_RECORDS))
        ids, prox = record_ids[rows], proxy[rows]
        bounds = np.searchsorted(keys, ids[:, None] * 3 + np.arange(4))  # (rows, 4)
        lengths = bounds[:, 3] - bounds[:, 0]
        local = np.concatenate([[0], np.cumsum(lengths)])
        flat = np.repeat(bounds[:, 0] - local[:-1], lengths) + np.arange(local[-1])
        dst_asins = asins[entries.dst[flat]].astype("U10").tolist()
        list_ptr = bounds - bounds[:, :1] + local[:-1, None]
        brand = [
            catalog.brand_names[b] if shown else ""
            for b, shown in zip(
                catalog.brand[prox].tolist(), brand_shown[rows].tolist(), strict=True
            )
        ]
        titles = _titles(spec, catalog, prox, brand, rng)
        cols = RecordColumns(
            asin=asins[ids].astype("U10").tolist(),
            title=[
                None if miss else t
                for t, miss in zip(titles, title_missing[rows].tolist(), strict=True)
            ],
            price=price[rows],
            image=random_image_names(ids.shape[0], rng).astype("U11").tolist(),
            sales_rank=sales_rank[rows],
            category_path=[
                leaf_paths[leaf][: 1 + d]
                for leaf, d in zip(catalog.leaf[prox].tolist(), depth[rows].tolist(), strict=True)
            ],
            brand=brand,
        )
        related = iter_related(list_ptr, dst_asins, ~no_related[rows])
        yield "".join(
            format_line(i, cols, rel, spec.root)
            for i, rel in zip(range(ids.shape[0]), related, strict=True)
        )
        bar.update(ids.shape[0])
