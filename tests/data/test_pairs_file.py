"""Pairs files: a 5-line CSV checked by hand, its variants (no header, CRLF, gzip, comments,
tabs, spaces), relation columns, --columns, products files and bad input."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from recsys.cli import main
from recsys.config import DataConfig
from recsys.data.errors import DataError
from recsys.data.formats.pairs_file import read_pairs_file
from recsys.data.formats.registry import detect_input_format
from recsys.data.parse import ParsedMetadata
from recsys.data.prepare import prepare_dataset

# A-B listed in both directions (weights 1 + 2), A-C once, a self-pair, D-B.
FIVE_LINES = ["item_a,item_b,weight", "A,B,1", "B,A,2", "A,C,0.5", "C,C,1", "D,B,1"]


def write(path: Path, lines: list[str], newline: str = "\n") -> Path:
    data = "".join(line + newline for line in lines).encode()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def triples(parsed: ParsedMetadata) -> list[tuple[str, str, float]]:
    asin = parsed.products["asin"].tolist()
    pairs = parsed.pairs
    return [
        (asin[a], asin[b], float(w))
        for a, b, w in zip(pairs.item_a, pairs.item_b, pairs.weight, strict=True)
    ]


def test_five_line_csv_by_hand(tmp_path: Path) -> None:
    parsed = read_pairs_file(write(tmp_path / "pairs.csv", FIVE_LINES))
    assert triples(parsed) == [("A", "B", 3.0), ("A", "C", 0.5), ("B", "D", 1.0)]
    assert parsed.products["item_id"].tolist() == [0, 1, 2, 3]
    assert not parsed.products["has_metadata"].any()
    report = parsed.report
    assert (report.format, report.records_read, report.malformed) == ("pairs", 5, 0)
    assert report.details["self_pairs"] == 1 and report.details["header"] is True
    assert report.details["weights"] == "summed weight column"


@pytest.mark.parametrize(
    ("name", "lines", "newline"),
    [
        ("plain.csv", ["A,B", "B,A", "A,C", "C,C", "D,B"], "\n"),
        ("crlf.csv", ["A,B", "B,A", "A,C", "C,C", "D,B"], "\r\n"),
        ("zipped.csv.gz", ["src,dst", "A,B", "B,A", "A,C", "C,C", "D,B"], "\n"),
        ("comments.tsv", ["# a comment", "A\tB", "", "B\tA", "#x", "A\tC", "C\tC", "D\tB"], "\n"),
        ("snap.txt", ["# Directed graph", "A   B", "  B\tA ", "A C", "C  C", "D B"], "\r\n"),
    ],
)
def test_variants_read_the_same_pairs(
    tmp_path: Path, name: str, lines: list[str], newline: str
) -> None:
    parsed = read_pairs_file(write(tmp_path / name, lines, newline))
    # No weight column: 1.0 per distinct relation, however often the pair is listed.
    assert triples(parsed) == [("A", "B", 1.0), ("A", "C", 1.0), ("B", "D", 1.0)]
    assert parsed.report.details["self_pairs"] == 1 and parsed.report.malformed == 0
    assert parsed.report.details["header"] is name.startswith("zipped")


def test_relation_column_sets_flags_and_counts_weight_per_relation(tmp_path: Path) -> None:
    lines = ["source,target,relation", "A,B,also_bought", "B,A,similar", "A,B,also_bought", "A,C,x"]
    parsed = read_pairs_file(write(tmp_path / "rel.csv", lines))
    assert triples(parsed) == [("A", "B", 2.0), ("A", "C", 1.0)]
    assert parsed.pairs.relations.tolist() == [2 | 8, 32]
    assert parsed.report.details["relation_bits"] == {"also_bought": 2, "similar": 8, "x": 32}
    assert parsed.report.pairs_per_relation == {"also_bought": 1, "similar": 1, "x": 1}


def test_columns_option_by_name_and_position(tmp_path: Path) -> None:
    named = write(tmp_path / "named.csv", ["w,left,right", "2,A,B", "3,B,C"])
    assert triples(read_pairs_file(named, columns="left,right,w")) == [
        ("A", "B", 2.0),
        ("B", "C", 3.0),
    ]
    positional = write(tmp_path / "pos.csv", ["2,A,B", "3,B,C"])
    assert triples(read_pairs_file(positional, columns="2,3,1")) == [
        ("A", "B", 2.0),
        ("B", "C", 3.0),
    ]
    with pytest.raises(DataError, match="'nope' is not a column; the header has w, left, right"):
        read_pairs_file(named, columns="left,nope")
    with pytest.raises(DataError, match="'x' is not a column; the file has no header line: give"):
        read_pairs_file(positional, columns="x,y")  # names, but the file has none


def test_products_file_gives_side_information(tmp_path: Path) -> None:
    pairs = write(tmp_path / "pairs.csv", FIVE_LINES)
    products = write(
        tmp_path / "products.csv",
        [
            "ID,Title,Brand,Category Path,Price,Sales Rank",
            'A,Alpha,Acme,Music > Rock > Indie,"$1,299.00",12',
            "B,Beta,,Music|Jazz,,",
            "A,dup,,,,",
            "Z,not in a pair,,,,",
        ],
    )
    parsed = read_pairs_file(pairs, products=products)
    table = parsed.products.set_index("asin")
    assert table.loc["A", "title"] == "Alpha" and table.loc["A", "brand"] == "Acme"
    assert table.loc["A", ["category_1", "category_2", "category_3"]].tolist() == [
        "Music",
        "Rock",
        "Indie",
    ]
    assert table.loc["A", "price"] == pytest.approx(1299.0) and table.loc["A", "sales_rank"] == 12
    assert pd.isna(table.loc["B", "brand"]) and table.loc["B", "category_2"] == "Jazz"
    assert table["has_metadata"].tolist() == [True, True, False, False]
    side = parsed.report.details["products_file"]
    assert (side["rows"], side["duplicate_ids"], side["rows_matched"]) == (4, 1, 2)
    assert side["rows_unmatched"] == 1


def test_products_file_matching_no_pair_is_an_error(tmp_path: Path) -> None:
    pairs = write(tmp_path / "pairs.csv", FIVE_LINES)
    products = write(tmp_path / "products.csv", ["id,title", "X,x", "Y,y"])
    with pytest.raises(DataError, match=r"products\.csv: none of its 2 product ids"):
        read_pairs_file(pairs, products=products)


def test_bad_rows_are_counted_with_their_lines(tmp_path: Path) -> None:
    lines = ["A,B", "B,C,extra", ",C", "C,D", "", "E,"]
    parsed = read_pairs_file(write(tmp_path / "bad.csv", lines))
    assert triples(parsed) == [("A", "B", 1.0), ("C", "D", 1.0)]
    assert parsed.report.malformed == 3
    assert parsed.report.malformed_lines == [2, 3, 6]
    assert parsed.report.details["invalid_rows"] == 1
    assert parsed.report.details["empty_ids"] == 2


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["A", "B", "C"], r"one\.csv, line 1: one column"),
        (["a,b,weight", "A,B,1", "B,C,x"], r"one\.csv, line 3, column weight: 'x' is not"),
        (["A,B,1", "B,C,-2"], r"one\.csv, line 2, column c3: '-2' is not a weight"),
        (["A,B", "B\tC", "C,D"], r"mixed delimiters: line 1 .* line 2"),
        (
            [f"A{i},B{i}" for i in range(300)] + ["C\tD"] * 3,
            r"one\.csv, line 301: mixed delimiters: separated by tabs, the file's first lines by",
        ),
        (
            [f"A{i},B{i},1" for i in range(250)] + [f"C{i},D{i},1,x" for i in range(300)],
            r"one\.csv, line 251: 300 lines do not have the 3 comma-separated fields .* the 250",
        ),
    ],
)
def test_bad_files_are_one_clear_error(tmp_path: Path, lines: list[str], message: str) -> None:
    with pytest.raises(DataError, match=message):
        read_pairs_file(write(tmp_path / "one.csv", lines))


@pytest.mark.parametrize(
    ("name", "encoding", "convert"),
    [
        ("bom.csv", "utf-16", "iconv -f utf-16 -t utf-8 bom.csv > utf8_bom.csv"),
        ("nuls.csv", "utf-16-be", "iconv -f utf-16 -t utf-8 nuls.csv > utf8_nuls.csv"),
        (
            "bom.csv.gz",
            "utf-16",
            "gunzip -c bom.csv.gz | iconv -f utf-16 -t utf-8 | gzip > utf8_bom.csv.gz",
        ),
    ],
)
def test_a_utf16_file_is_one_error_saying_how_to_convert_it(
    tmp_path: Path, name: str, encoding: str, convert: str
) -> None:
    """Not Latin-1's advice, nor a mixed-delimiter error, nor ids full of NUL bytes."""
    data = "".join(f"p{i},p{i + 1}\n" for i in range(30)).encode(encoding)
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    with pytest.raises(DataError) as error:
        read_pairs_file(path)
    assert str(error.value) == (
        f"{path} is UTF-16 text, which recsys does not read (it reads UTF-8): convert it "
        f"with `{convert}`"
    )


def test_prepare_caches_by_options_and_leaves_nothing_on_error(tmp_path: Path) -> None:
    pairs = write(tmp_path / "pairs.csv", [f"{i},{i + 1}" for i in range(60)])
    products = write(tmp_path / "products.csv", ["id,brand", "1,x"])
    data_dir = tmp_path / "data"
    plain = prepare_dataset(DataConfig(dataset=str(pairs), data_dir=data_dir), progress=False)
    assert plain.manifest["detected_format"] == "pairs" and plain.manifest["n_pairs"] == 60
    side = DataConfig(dataset=str(pairs), data_dir=data_dir, products=products)
    with_side = prepare_dataset(side, progress=False)
    assert with_side.folder != plain.folder
    assert int(with_side.products["has_metadata"].sum()) == 1
    write(products, ["id,brand", "1,x", "2,y"])  # same path, new content: a new cache
    changed = prepare_dataset(side, progress=False)
    assert changed.folder != with_side.folder and not changed.manifest["cache_hit"]
    reordered = DataConfig(dataset=str(pairs), data_dir=data_dir, columns="2,1")
    assert prepare_dataset(reordered, progress=False).folder != plain.folder
    folders = sorted(p.name for p in (data_dir / "prepared").iterdir())
    write(products, ["id,brand", "nope,x"])
    with pytest.raises(DataError, match="none of its 1 product ids"):
        prepare_dataset(side, progress=False)
    assert sorted(p.name for p in (data_dir / "prepared").iterdir()) == folders


def test_cli_prints_a_data_error_as_one_line(tmp_path: Path) -> None:
    pairs = write(tmp_path / "pairs.csv", ["a,b,weight", "A,B,heavy"])
    result = CliRunner().invoke(main, ["prepare", str(pairs), "--data-dir", str(tmp_path)])
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == [
        f"Error: {pairs}, line 2, column weight: 'heavy' is not a weight (a number >= 0); "
        "1 rows have such weights"
    ]


def test_pairs_options_are_refused_for_other_formats(tmp_path: Path) -> None:
    path = tmp_path / "meta.json"
    path.write_text('{"asin": "A", "related": {"also_bought": ["B", "C"]}, "title": "t"}\n')
    assert detect_input_format(path).name == "amazon-metadata"
    config = DataConfig(dataset=str(path), data_dir=tmp_path, columns="1,2")
    with pytest.raises(DataError, match="--columns applies to a pairs file"):
        prepare_dataset(config, progress=False)


def test_numeric_ids_keep_their_text(tmp_path: Path) -> None:
    parsed = read_pairs_file(write(tmp_path / "ids.txt", ["010 2", "2 10"]))
    assert parsed.products["asin"].tolist() == ["010", "10", "2"]
    assert np.array_equal(parsed.pairs.item_a, [0, 1]) and np.array_equal(
        parsed.pairs.item_b, [2, 2]
    )


def test_integer_ids_far_apart_or_turning_to_text_later(tmp_path: Path) -> None:
    far = read_pairs_file(write(tmp_path / "far.csv", ["5,1000000000000", "1000000000000,7"]))
    assert far.products["asin"].tolist() == ["5", "7", "1000000000000"]  # numeric order
    lines = [f"{i},{i + 1}" for i in range(300)] + ["299,X9"]
    mixed = read_pairs_file(write(tmp_path / "mixed.csv", lines))
    assert mixed.report.n_pairs == 301 and "X9" in set(mixed.products["asin"])


def test_quoted_ids_with_commas_keep_line_numbers(tmp_path: Path) -> None:
    quoted = ['"P, Inc.",B,1'] * 4
    bad_weight = write(tmp_path / "w.csv", ["a,b,weight", *quoted, "C,D,bad"])
    with pytest.raises(DataError, match=r"w\.csv, line 6, column weight: 'bad'"):
        read_pairs_file(bad_weight)
    parsed = read_pairs_file(write(tmp_path / "e.csv", ["a,b", '"P, Inc.",B', ",D", "C,D"]))
    assert parsed.report.malformed_lines == [3]
    assert parsed.report.details["empty_ids"] == 1


@pytest.mark.parametrize(
    ("header", "rows"),
    [
        ('"item_a","item_b","weight"', ["1,2,1", "2,1,2", "1,3,0.5", "3,3,1", "4,2,1"]),
        ('"","item_a","item_b","weight"', ['"1",1,2,1', '"2",2,1,2', '"3",1,3,0.5', '"4",4,2,1']),
        ('"","left","right","weight"', ['"1",1,2,1', '"2",2,1,2', '"3",1,3,0.5', '"4",4,2,1']),
    ],
)
def test_quoted_headers_and_r_row_numbers(tmp_path: Path, header: str, rows: list[str]) -> None:
    parsed = read_pairs_file(write(tmp_path / "r.csv", [header, *rows]))
    assert triples(parsed) == [("1", "2", 3.0), ("1", "3", 0.5), ("2", "4", 1.0)]
    assert parsed.report.details["header"] is True


@pytest.mark.parametrize(
    ("first", "ids", "reason"),
    [
        ("asin,related_asin", "B{:09d}", "id-like column names"),
        ("left,right", "p{}", "words unlike the ids below"),
        ("ItemID,related_item", "{}x", "id-like column names"),
        (None, "p{}", None),
        (None, "item-{}", None),
    ],
)
def test_a_header_of_other_names_is_told_from_text_ids(
    tmp_path: Path, first: str | None, ids: str, reason: str | None
) -> None:
    rows = [f"{ids.format(i)},{ids.format(i + 1)}" for i in range(20)]
    parsed = read_pairs_file(write(tmp_path / "h.csv", [first, *rows] if first else rows))
    assert parsed.report.details["header_reason"] == reason
    assert parsed.report.records_read == 20 and len(parsed.products) == 21


def test_lines_ended_by_cr_alone_are_read(tmp_path: Path) -> None:
    parsed = read_pairs_file(write(tmp_path / "mac.csv", FIVE_LINES, newline="\r"))
    assert triples(parsed) == [("A", "B", 3.0), ("A", "C", 0.5), ("B", "D", 1.0)]
    assert parsed.report.details["cr_line_ends"] is True and parsed.report.lines == 6


def test_an_excel_sep_line_names_the_delimiter_and_is_no_row(tmp_path: Path) -> None:
    parsed = read_pairs_file(write(tmp_path / "excel.csv", ["sep=,", *FIVE_LINES]))
    assert triples(parsed) == [("A", "B", 3.0), ("A", "C", 0.5), ("B", "D", 1.0)]
    assert parsed.report.malformed == 0 and parsed.report.details["header"] is True


def test_a_semicolon_file_with_decimal_commas(tmp_path: Path) -> None:
    lines = ["item_a;item_b;weight", "A;B;1", "B;A;2", "A;C;0,5", "C;C;1", "D;B;1"]
    parsed = read_pairs_file(write(tmp_path / "eu.csv", lines))
    assert triples(parsed) == [("A", "B", 3.0), ("A", "C", 0.5), ("B", "D", 1.0)]
    assert parsed.report.details["delimiter"] == "semicolon"
    assert parsed.report.details["weights"] == "summed weight column (decimal commas)"


def test_integral_ids_written_as_floats_are_one_product(tmp_path: Path) -> None:
    lines = [f"{i},{i + 1}" for i in range(250)] + ["12.0,3.00", ",4.0", "249.0,5"]
    parsed = read_pairs_file(write(tmp_path / "floats.csv", lines))
    assert len(parsed.products) == 251 and parsed.report.n_pairs == 252
    assert parsed.report.details["integral_float_ids"] == 4
    assert parsed.report.malformed_lines == [252]
    text = read_pairs_file(write(tmp_path / "text.csv", ["1.5,2", "2,1.5"]))
    assert text.products["asin"].tolist() == ["1.5", "2"]


def test_products_ids_spelled_as_floats_match_integer_pair_ids(tmp_path: Path) -> None:
    """pandas writes an id column that held a NaN as 12.0: those rows matched no pair.
    A sign or zero padding makes text, as in the pairs file: +4 and 05 match nothing."""
    pairs = write(tmp_path / "pairs.csv", [f"{i},{i + 1}" for i in range(20)])
    products = write(
        tmp_path / "products.csv",
        ["id,brand", "3.0,x", "+4,y", "05,z", "7,w", "12.0,v", "-0.0,u", "8.,t"],
    )
    parsed = read_pairs_file(pairs, products=products)
    brands = parsed.products.set_index("asin")["brand"].dropna().to_dict()
    assert brands == {"0": "u", "3": "x", "7": "w", "8": "t", "12": "v"}
    assert parsed.report.details["products_file"]["rows_unmatched"] == 2
    text = write(tmp_path / "text.csv", ["A0,B0", "A1,B1"])  # text ids stay as written
    side = write(tmp_path / "side.csv", ["id,brand", "A0,x", "1.0,y"])
    assert (
        read_pairs_file(text, products=side).report.details["products_file"]["rows_unmatched"] == 1
    )


def test_a_zero_padded_products_id_stays_text(tmp_path: Path) -> None:
    """The pairs reader keeps 007 as text, so a products id 012 is not the pair id 12."""
    pairs = write(tmp_path / "pairs.csv", [f"{i},{i + 1}" for i in range(20)])
    products = write(tmp_path / "products.csv", ["id,brand", "012,x", "13,y"])
    parsed = read_pairs_file(pairs, products=products)
    brands = parsed.products.set_index("asin")["brand"].dropna().to_dict()
    assert brands == {"13": "y"}
    assert parsed.report.details["products_file"]["rows_unmatched"] == 1


def test_a_products_file_given_as_pairs_is_named_as_such(tmp_path: Path) -> None:
    lines = ["id,title,category", *(f"p{i},Product {i},Music > Rock" for i in range(10))]
    with pytest.raises(DataError, match=r"column 'title' is product information.*--products"):
        read_pairs_file(write(tmp_path / "products.csv", lines))


def test_prepare_prints_why_line_1_is_a_header_or_a_pair(tmp_path: Path) -> None:
    rows = [f"p{i},p{i + 1}" for i in range(60)]
    for name, lines, shown in [
        ("named.csv", ["left,right", *rows], "header: words unlike the ids below"),
        ("bare.csv", rows, "no header (line 1 read as a pair; if it names columns, pass --header)"),
    ]:
        path = write(tmp_path / name, lines)
        result = CliRunner().invoke(main, ["prepare", str(path), "--data-dir", str(tmp_path)])
        assert result.exit_code == 0, result.output
        assert shown in result.output


def test_a_third_text_column_without_a_header_is_the_relation(tmp_path: Path) -> None:
    path = write(tmp_path / "rel.csv", ["A,B,bought", "B,C,viewed", "A,B,viewed", "C,D,bought"])
    read = read_pairs_file(path)
    assert read.report.details["relation_bits"].keys() == {"bought", "viewed"}
    weighted = write(tmp_path / "w.csv", ["A,B,2", "B,C,0.5", "C,D,1"])
    assert triples(read_pairs_file(weighted)) == [("A", "B", 2.0), ("B", "C", 0.5), ("C", "D", 1.0)]


def test_prepare_names_the_columns_it_did_not_read(tmp_path: Path) -> None:
    rows = [f"p{i},p{i + 1},{i % 3 + 1}" for i in range(60)]
    for name, header, shown in [
        ("count.csv", "source,target,count", "not read: count (a weight or relation under"),
        ("weight.csv", "source,target,weight", None),
        ("r.csv", '"","source","target"', None),  # R's row numbers: skipped, not reported
    ]:
        lines = [header, *(f"{i},{row.rpartition(',')[0]}" if name == "r.csv" else row
                           for i, row in enumerate(rows))]  # fmt: skip
        path = write(tmp_path / name, lines)
        result = CliRunner().invoke(main, ["prepare", str(path), "--data-dir", str(tmp_path)])
        assert result.exit_code == 0, result.output
        assert (shown in result.output) if shown else "not read" not in result.output


def test_header_given_overrides_the_detection(tmp_path: Path) -> None:
    rows = [f"p{i},p{i + 1}" for i in range(60)]
    worded = write(tmp_path / "worded.csv", ["left,right", *rows])  # detected as a header
    assert read_pairs_file(worded).report.details["header"] is True
    as_pair = read_pairs_file(worded, header=False)
    assert as_pair.report.details["header"] is False
    assert len(as_pair.pairs) == len(read_pairs_file(worded).pairs) + 1  # left-right counts
    bare = write(tmp_path / "bare.csv", rows)
    forced = read_pairs_file(bare, header=True)
    assert forced.report.details["header_reason"] == "--header"
    assert len(forced.pairs) == len(rows) - 1


def test_header_option_reaches_prepare_and_its_cache_key(tmp_path: Path) -> None:
    rows = [f"p{i},p{i + 1}" for i in range(60)]
    path = write(tmp_path / "worded.csv", ["left,right", *rows])
    folders = []
    for flag in ([], ["--no-header"]):
        args = ["prepare", str(path), "--data-dir", str(tmp_path / "data"), "-q", *flag]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        folders.append(result.output.strip().splitlines()[-1])
    assert folders[0] != folders[1]
    amazon = write(tmp_path / "meta.json", ['{"asin": "A", "title": "a"}'])
    args = ["prepare", str(amazon), "--header", "--data-dir", str(tmp_path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert "--header / --no-header applies to a pairs file" in result.output


@pytest.mark.parametrize(
    ("lines", "shown"),
    [
        (["a,b"], "('a,b', words on the file's only line)"),
        (["item_a,item_b", "", "# no pairs yet"], "('item_a,item_b', documented column names)"),
        (["sep=;", "left;right"], "('left;right', words on the file's only line)"),
    ],
)
def test_a_file_of_only_a_header_is_one_error_saying_it_holds_no_pairs(
    tmp_path: Path, lines: list[str], shown: str
) -> None:
    """With no line below, the header was read as a pair: "1 unique pairs cannot be split"."""
    path = write(tmp_path / "empty.csv", lines)
    with pytest.raises(
        DataError, match=f"^{re.escape(str(path))} holds no pairs, only a header line"
    ) as raised:
        read_pairs_file(path)
    assert shown in str(raised.value)
    config = DataConfig(dataset=str(path), data_dir=tmp_path / "data")
    with pytest.raises(DataError, match="holds no pairs, only a header line"):
        prepare_dataset(config, progress=False)


@pytest.mark.parametrize("line", ["p1,p2", "B0001,B0002", "7,14", "product1,product2"])
def test_a_headerless_file_of_one_pair_is_still_read_as_that_pair(
    tmp_path: Path, line: str
) -> None:
    parsed = read_pairs_file(write(tmp_path / "one.csv", [line]))
    assert parsed.report.details["header"] is False
    assert parsed.products["asin"].astype(str).tolist() == line.split(",")
    assert len(parsed.pairs) == 1
    config = DataConfig(dataset=str(tmp_path / "one.csv"), data_dir=tmp_path / "data")
    with pytest.raises(DataError, match="1 unique pairs cannot be split"):
        prepare_dataset(config, progress=False)
