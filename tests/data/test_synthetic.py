"""The synthetic generator: real-file format, exact study counts, planted affinity.

The file is read back with ``ast.literal_eval`` (what the 2014 per-category files need)
and the study's filters are applied here by hand, so these tests do not depend on the
parser in ``recsys.data.prepare``.
"""

from __future__ import annotations

import ast
import gzip
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from recsys.data.synthetic import PRESETS, default_file_name, write_synthetic_metadata
from recsys.data.synthetic.presets import resolve_sizes

RELATIONS = ("also_bought", "also_viewed", "bought_together")
# Keys seen in the real meta_Digital_Music.json.gz (plus brand).
REAL_KEYS = {"asin", "title", "price", "imUrl", "related", "salesRank", "categories", "brand"}


@dataclass
class Parsed:
    """A synthetic file after the study's filters, as plain Python objects."""

    records: list[dict]
    kept: dict[str, dict]  # asin -> record passing the filters
    pairs: dict[str, set[tuple[str, str]]]  # relation -> unique undirected pairs

    @property
    def all_pairs(self) -> set[tuple[str, str]]:
        return set().union(*self.pairs.values())

    @property
    def products(self) -> set[str]:
        return {asin for pair in self.all_pairs for asin in pair}


def parse(path: Path) -> Parsed:
    """Read every line as a Python literal and apply the study's filters."""
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        records = [ast.literal_eval(line) for line in lines]
    kept = {
        r["asin"]: r
        for r in records
        if "related" in r and r.get("title") and len(r["related"].get("also_bought", [])) >= 2
    }
    pairs: dict[str, set[tuple[str, str]]] = {rel: set() for rel in RELATIONS}
    for asin, record in kept.items():
        for rel in RELATIONS:
            for other in record["related"].get(rel, []):
                pairs[rel].add((min(asin, other), max(asin, other)))
    return Parsed(records, kept, pairs)


@pytest.fixture(scope="module")
def small_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_metadata(
        tmp_path_factory.mktemp("synthetic") / "small.json.gz", "small", None, seed=7
    )


@pytest.fixture(scope="module")
def small(small_file: Path) -> Parsed:
    return parse(small_file)


def test_small_default_gives_exact_study_counts_after_filters(small: Parsed) -> None:
    _, sizes = resolve_sizes(PRESETS["small"], None)
    assert sizes.n_products == round(418_749 * 0.01)
    assert len(small.all_pairs) == sizes.n_pairs == round(4_005_262 * 0.01)
    assert len(small.products) == sizes.n_products
    assert len(small.kept) == sizes.n_kept
    # Every kept record is itself a product (it has >= 2 also_bought entries).
    assert set(small.kept) <= small.products


def test_metadata_and_brand_shares_match_the_study(small: Parsed) -> None:
    assert len(small.kept) / len(small.products) == pytest.approx(0.39, abs=0.005)
    brand_empty = np.mean([r["brand"] == "" for r in small.kept.values()])
    assert brand_empty == pytest.approx(0.5, abs=0.05)


def test_failing_records_are_the_known_share_and_only_add_pairs_unfiltered(
    small: Parsed,
) -> None:
    _, sizes = resolve_sizes(PRESETS["small"], None)
    assert len(small.records) == sizes.n_kept + sizes.n_failing == round(498_196 * 0.01)
    failing = [r for r in small.records if r["asin"] not in small.kept]
    assert {("related" in r, "title" in r) for r in failing} == {
        (False, True),
        (True, True),
        (True, False),
    }
    # Their asins occur nowhere else, so filtering them changes no count.
    listed = {asin for pair in small.all_pairs for asin in pair}
    assert not listed & {r["asin"] for r in failing}
    unfiltered = {
        (min(r["asin"], b), max(r["asin"], b))
        for r in small.records
        for rel in RELATIONS
        for b in r.get("related", {}).get(rel, [])
    }
    assert len(unfiltered) > len(small.all_pairs)


def test_lines_look_like_the_real_2014_files(small_file: Path, small: Parsed) -> None:
    first = gzip.open(small_file, "rt").readline()
    assert first.startswith("{'asin': '") and first.endswith("}\n")
    asins = [r["asin"] for r in small.records]
    assert asins == sorted(asins) and len(set(asins)) == len(asins)
    for record in small.records:
        assert set(record) <= REAL_KEYS
        assert len(record["asin"]) == 10 and record["asin"].startswith("B00")
        (path,) = record["categories"]
        assert path[0] == "Electronics" and len(path) == 4
        assert set(record.get("related", {})) <= set(RELATIONS)
        assert record.get("price", 1.0) > 0
    for record in small.kept.values():
        lists = record["related"]
        for rel in lists:  # no repeats within a list, no self-links
            assert len(set(lists[rel])) == len(lists[rel])
            assert record["asin"] not in lists[rel]


def test_output_is_byte_identical_for_a_seed(tmp_path: Path) -> None:
    a = write_synthetic_metadata(tmp_path / "a.json.gz", "electronics", 0.002, seed=3)
    b = write_synthetic_metadata(tmp_path / "b.json.gz", "electronics", 0.002, seed=3)
    c = write_synthetic_metadata(tmp_path / "c.json.gz", "electronics", 0.002, seed=4)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    _, sizes = resolve_sizes(PRESETS["electronics"], 0.002)
    for path in (a, c):  # exact counts hold for any seed and scale
        parsed = parse(path)
        assert (len(parsed.products), len(parsed.all_pairs)) == (sizes.n_products, sizes.n_pairs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json.gz", "b.json.gz", "c.json.gz"]


def _same(parsed: Parsed, rel: str, field: str) -> float:
    """Share of a relation's pairs between two kept records that agree on ``field``."""
    values = []
    for a, b in parsed.pairs[rel]:
        if a in parsed.kept and b in parsed.kept:
            values.append(_field(parsed.kept[a], field) == _field(parsed.kept[b], field))
    return float(np.mean(values))


def _field(record: dict, field: str) -> object:
    return tuple(record["categories"][0]) if field == "leaf" else record[field]


def _chance(parsed: Parsed, field: str) -> float:
    """Agreement rate of two kept records drawn at random."""
    counts = np.array(list(Counter(_field(r, field) for r in parsed.kept.values()).values()))
    share = counts / counts.sum()
    return float(share @ share)


def test_co_purchases_follow_category_and_tightness_order(small: Parsed) -> None:
    chance = _chance(small, "leaf")
    same_leaf = {rel: _same(small, rel, "leaf") for rel in RELATIONS}
    assert same_leaf["also_bought"] > 4 * chance
    assert same_leaf["bought_together"] > same_leaf["also_bought"] > same_leaf["also_viewed"]


def test_brand_and_price_carry_affinity_signal(small: Parsed) -> None:
    branded = Parsed(
        small.records, {a: r for a, r in small.kept.items() if r["brand"]}, small.pairs
    )
    assert _same(branded, "also_bought", "brand") > 4 * _chance(branded, "brand")
    priced = [
        (np.log(small.kept[a]["price"]), np.log(small.kept[b]["price"]))
        for a, b in small.pairs["also_bought"]
        if "price" in small.kept.get(a, {}) and "price" in small.kept.get(b, {})
    ]
    assert np.corrcoef(np.array(priced).T)[0, 1] > 0.3


def test_side_info_predicts_partners_of_rarely_seen_products(small: Parsed) -> None:
    """Products in few pairs still co-purchase within their category: cold start is learnable."""
    degree = Counter(asin for pair in small.all_pairs for asin in pair)
    cutoff = np.quantile([degree[a] for a in small.kept], 0.2)
    rare = {a for a in small.kept if degree[a] <= cutoff}
    assert len(rare) > 200
    pairs = [
        (a, b)
        for a, b in small.all_pairs
        if (a in rare or b in rare) and a in small.kept and b in small.kept
    ]
    same = np.mean(
        [_field(small.kept[a], "leaf") == _field(small.kept[b], "leaf") for a, b in pairs]
    )
    assert same > 4 * _chance(small, "leaf")


def test_books_preset_scales_and_uses_isbn_asins(tmp_path: Path) -> None:
    path = write_synthetic_metadata(tmp_path, "books", 0.002, seed=1)
    assert path == tmp_path / default_file_name("books", 0.002, 1)
    parsed = parse(path)
    _, sizes = resolve_sizes(PRESETS["books"], 0.002)
    assert (len(parsed.products), len(parsed.all_pairs)) == (sizes.n_products, sizes.n_pairs)
    assert sizes.n_pairs == round(26_596_848 * 0.002)
    assert all(r["asin"].isdigit() for r in parsed.records)
    assert {r["categories"][0][0] for r in parsed.records} == {"Books"}


@pytest.mark.parametrize(
    ("preset", "scale", "message"),
    [
        ("music", None, "unknown synthetic preset 'music'"),
        ("small", 0.0, "scale must be in"),
        ("small", -1.0, "scale must be in"),
        ("books", 100.0, "scale must be in"),
        ("electronics", 1e-5, "gives only"),
    ],
)
def test_bad_arguments_are_named(tmp_path: Path, preset: str, scale: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        write_synthetic_metadata(tmp_path / "x.json.gz", preset, scale, seed=0)
    assert not list(tmp_path.iterdir())


def test_negative_seed_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="seed must be >= 0"):
        write_synthetic_metadata(tmp_path / "x.json.gz", "small", None, seed=-1)
