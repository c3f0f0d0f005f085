"""Products files that are not what they look like: no header, repeated ids, a path that
is missing or not a file, an archive, another encoding or line end, a decimal comma, a row
longer than its header; each is read right, or one error naming the file and --products,
or a count in the summary."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import re
import tarfile
import zipfile
from pathlib import Path

import pytest

from recsys.config import DataConfig
from recsys.data.errors import DataError
from recsys.data.formats import products_file, stream
from recsys.data.formats.products_file import read_products_file
from recsys.data.formats.stream import Unreadable, unreadable
from recsys.data.prepare import prepare_dataset
from recsys.data.summary import describe_prepared


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_a_file_without_a_header_is_an_error_listing_the_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "noheader.csv", ["p0,T0,Music > Rock", "p1,T1,Music > Jazz"])
    with pytest.raises(DataError, match=r"noheader\.csv: its first line 'p0,T0,Music > Rock'"):
        read_products_file(path)
    with pytest.raises(DataError, match=r"an id column \(id, item_id, .*title, brand"):
        read_products_file(path)


def records(path: Path) -> list[dict[str, object]]:
    return read_products_file(path).table.to_dict("records")


def test_a_semicolon_file_reads_its_decimal_commas(tmp_path: Path) -> None:
    """Excel's European CSV, with or without its ``sep=;`` line, as a pairs file is read."""
    lines = ["id;title;price", "p0;T0;1,5", "p1;T1, red;1.299,00"]
    expected = [
        {"asin": "p0", "title": "T0", "price": 1.5},
        {"asin": "p1", "title": "T1, red", "price": 1299.0},
    ]
    assert records(write(tmp_path / "semi.csv", lines)) == expected
    assert records(write(tmp_path / "excel.csv", ["sep=;", *lines])) == expected


def test_a_pipe_separated_header_is_named_as_such(tmp_path: Path) -> None:
    path = write(tmp_path / "pipe.csv", ["id|title", "p0|T0"])
    with pytest.raises(DataError, match=r"pipe\.csv: its header 'id\|title' is separated by '\|'"):
        read_products_file(path)


@pytest.mark.parametrize(
    "header",
    ['"asin","title","price"', '"","asin","title","price"', " Asin , Title ,  PRICE "],
    ids=["quoted", "r-row-names", "spaced"],
)
def test_quoted_and_spaced_header_names_are_a_header(tmp_path: Path, header: str) -> None:
    """R's write.csv and pandas' QUOTE_ALL quote every name; R also writes row numbers."""
    rows = ['"p0","T0","1.5"', '"p1","T1","2"']
    if header.startswith('""'):
        rows = [f'"{i + 1}",{row}' for i, row in enumerate(rows)]
    table = read_products_file(write(tmp_path / "quoted.csv", [header, *rows])).table
    assert table.to_dict("records") == [
        {"asin": "p0", "title": "T0", "price": 1.5},
        {"asin": "p1", "title": "T1", "price": 2.0},
    ]


@pytest.mark.parametrize(
    ("prefix", "line_end"),
    [(b"\xef\xbb\xbf", b"\n"), (b"", b"\r\n"), (b"", b"\r"), (b"\xef\xbb\xbf", b"\r")],
    ids=["bom", "crlf", "cr-only", "bom-cr-only"],
)
@pytest.mark.parametrize("id_name", ["asin", "sku"])
def test_a_byte_order_mark_and_other_line_ends_read_every_row(
    tmp_path: Path, prefix: bytes, line_end: bytes, id_name: str
) -> None:
    """The first column is still the id after a BOM (Excel's "CSV UTF-8"); CR-only lines
    (Excel for Mac's "CSV (Macintosh)") are lines, not one header of 3 rows."""
    lines = [f"{id_name},title,price", "p0,Caf\u00e9,1.5", "p1,T1,2"]
    path = tmp_path / "products.csv"
    path.write_bytes(prefix + line_end.join(line.encode() for line in lines) + line_end)
    parsed = read_products_file(path)
    assert parsed.report["id_column"] == id_name
    assert parsed.table.to_dict("records") == [
        {"asin": "p0", "title": "Caf\u00e9", "price": 1.5},
        {"asin": "p1", "title": "T1", "price": 2.0},
    ]


def test_a_latin1_file_is_one_error_saying_how_to_convert_it(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("asin,title\np0,Caf\u00e9\n".encode("latin-1"))
    with pytest.raises(
        DataError,
        match=r"products file .*latin\.csv, line 2: byte 0xe9 is not UTF-8: .*"
        r"`iconv -f latin1 -t utf-8 latin\.csv > utf8_latin\.csv`.*to --products$",
    ):
        read_products_file(path)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])
def test_a_utf16_file_is_one_error_saying_how_to_convert_it(tmp_path: Path, encoding: str) -> None:
    """With a byte-order mark or without (NUL in every other byte), not Latin-1's advice."""
    path = tmp_path / "wide.csv"
    path.write_bytes("asin,title\np0,Caf\u00e9\n".encode(encoding))
    with pytest.raises(DataError) as error:
        read_products_file(path)
    assert re.fullmatch(
        r"products file .*wide\.csv: UTF-16 text, which recsys does not read \(it reads "
        r"UTF-8\); convert it with `iconv -f utf-16 -t utf-8 wide\.csv > utf8_wide\.csv` "
        r"\(--products\)",
        str(error.value),
    )


def _container(path: Path, kind: str) -> Path:
    """A products CSV inside a container recsys does not read."""
    data = b"asin,title\np0,T0\n"
    if kind == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("products.csv", data)
    elif kind in ("tar", "gzip-compressed tar"):
        info = tarfile.TarInfo("products.csv")
        info.size = len(data)
        with tarfile.open(path, "w:gz" if kind.startswith("gzip") else "w") as archive:
            archive.addfile(info, io.BytesIO(data))
    else:
        compress = {"bzip2": bz2.compress, "xz": lzma.compress}.get(kind)
        magic = {"zstd": b"\x28\xb5\x2f\xfd", "7-Zip": b"7z\xbc\xaf\x27\x1c"}.get(kind, b"")
        path.write_bytes(compress(data) if compress else magic + b"\x00" * 32)
    return path


@pytest.mark.parametrize(
    ("kind", "advice"),
    [
        ("zip", "unzip it"),
        ("tar", "tar -xf"),
        ("gzip-compressed tar", "tar -xf"),
        ("bzip2", "bunzip2 -c FILE | gzip > FILE.gz"),
        ("xz", "xz -dc FILE | gzip > FILE.gz"),
        ("zstd", "zstd -dc FILE | gzip > FILE.gz"),
        ("7-Zip", "7z x FILE"),
    ],
)
def test_an_archive_is_refused_naming_the_products_option(
    tmp_path: Path, kind: str, advice: str
) -> None:
    path = _container(tmp_path / "products.csv", kind)
    with pytest.raises(DataError) as raised:
        read_products_file(path)
    message = str(raised.value)
    assert message.startswith(f"products file {path}: ")
    assert kind in message and "plain text or gzip" in message
    assert advice in message and message.endswith("(--products)")


def test_numbers_read_as_people_write_prices(tmp_path: Path) -> None:
    """A decimal comma in a TSV was read as a thousands comma: 12,99 became 1299."""
    lines = ["asin\tprice", *(f"p{i}\t{price}" for i, price in enumerate(PRICES))]
    table = read_products_file(write(tmp_path / "prices.tsv", lines)).table
    assert table["price"].tolist()[:-2] == pytest.approx(list(PRICES.values())[:-2])
    assert table["price"].tail(2).isna().all()


PRICES = {
    "$1,299.00": 1299.0,
    "1,299": 1299.0,
    "12,99": 12.99,
    "1.299,50": 1299.5,
    "1,234,567": 1234567.0,
    "\u20ac5": 5.0,
    "12 EUR": 12.0,
    "N/A": None,
    "12-15": None,
}


def test_cells_that_are_not_numbers_are_counted(tmp_path: Path) -> None:
    lines = ["asin,price,rank", "p0,12-15,1", "p1,N/A,x", "p2,3.5,"]
    assert read_products_file(write(tmp_path / "p.csv", lines)).report["not_numbers"] == {
        "price": 1
    }


def test_a_hash_inside_a_field_is_text_not_a_comment(tmp_path: Path) -> None:
    """pandas' comment="#" cut ``Pencil #2,1.5`` to ``Pencil`` and lost the price."""
    lines = ["# exported 2024", "asin,title,price", "p0,Pencil #2,1.5", "#p1,skipped,1"]
    assert records(write(tmp_path / "hash.csv", lines)) == [
        {"asin": "p0", "title": "Pencil #2", "price": 1.5}
    ]


@pytest.mark.parametrize(
    ("rows", "line"),
    [(["p0,Hat, red", "p1,T1"], 2), (["p0,T0", "", "p1,Hat, red"], 4)],
    ids=["first-row", "later-row"],
)
def test_a_row_longer_than_the_header_is_an_error_naming_its_line(
    tmp_path: Path, rows: list[str], line: int
) -> None:
    """An unquoted comma in the first row made pandas read the ids as row labels: every
    id shifted to the next column, no word said."""
    path = write(tmp_path / "ragged.csv", ["asin,title", *rows])
    with pytest.raises(
        DataError,
        match=rf"ragged\.csv, line {line}: 3 fields, the header has 2; put a field holding a "
        "comma in double quotes",
    ):
        read_products_file(path)


@pytest.mark.parametrize(
    ("header", "named"),
    [
        ("asin,title,title", "the title column 2 times ('title', 'title')"),
        ("asin,Title,name", "the title column 2 times ('Title', 'name')"),
        ("sku,category,categories", "the category column 2 times"),
    ],
)
def test_a_column_named_twice_is_an_error(tmp_path: Path, header: str, named: str) -> None:
    path = write(tmp_path / "twice.csv", [header, "p0,a,b"])
    with pytest.raises(DataError, match=rf"twice\.csv: its header names {re.escape(named)}"):
        read_products_file(path)


@pytest.mark.parametrize(
    ("lines", "named"),
    [
        (['"","title"', '"1","T0"'], "its first column is unnamed (row numbers"),
        (["title,brand", "T0,B0"], "its first column is 'title', product information"),
    ],
)
def test_no_id_column_is_an_error_when_the_first_column_is_not_ids(
    tmp_path: Path, lines: list[str], named: str
) -> None:
    """Row numbers or titles taken as ids match no pair, or worse, integer pair ids."""
    with pytest.raises(DataError, match=re.escape(named)):
        read_products_file(write(tmp_path / "noid.csv", lines))


def test_a_cut_off_gzip_file_keeps_its_complete_rows(tmp_path: Path) -> None:
    text = "asin,title\n" + "".join(f"p{i},T{i}\n" for i in range(3000))
    whole = gzip.compress(text.encode())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(whole[: len(whole) // 2])
    parsed = read_products_file(path)
    assert 0 < len(parsed.table) < 3000
    assert parsed.table["asin"].tolist() == [f"p{i}" for i in range(len(parsed.table))]
    assert "end-of-stream" in parsed.report["truncated"]


def test_one_known_column_is_a_header(tmp_path: Path) -> None:
    path = write(tmp_path / "sku.csv", ["sku,title", "p0,T0"])
    assert read_products_file(path).table.columns.tolist() == ["asin", "title"]


@pytest.mark.parametrize(("name", "problem"), [("nope.csv", "no such file"), (".", "not a file")])
def test_a_path_that_cannot_be_read_names_the_products_option(
    tmp_path: Path, name: str, problem: str
) -> None:
    with pytest.raises(DataError, match=f"products file .*: {problem}; pass --products"):
        read_products_file(tmp_path / name)


def test_preparing_checks_the_products_file_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hashing and reading trust the check made where the path came in."""
    pairs = write(tmp_path / "pairs.csv", ["a,b", *(f"p{i},p{(i + 1) % 40}" for i in range(40))])
    products = write(tmp_path / "products.csv", ["id,title", *(f"p{i},T{i}" for i in range(40))])
    checked: list[Path] = []

    def counted(path: Path) -> Unreadable | None:
        checked.append(path)
        return unreadable(path)

    monkeypatch.setattr(stream, "unreadable", counted)
    monkeypatch.setattr(products_file, "unreadable", counted)
    config = DataConfig(dataset=str(pairs), data_dir=tmp_path / "data", products=products)
    prepared = prepare_dataset(config, progress=False)
    assert prepared.products["title"].notna().all()
    assert checked.count(products) == 1


def test_the_summary_counts_repeated_ids(tmp_path: Path) -> None:
    ring = [f"p{i},p{(i + step) % 40}" for i in range(40) for step in (1, 3)]
    pairs = write(tmp_path / "pairs.csv", ["a,b", *ring])
    rows = ["id,title", *(f"p{i},T{i}" for i in range(40)), "p0,again", "p1,again", ",blank"]
    products = write(tmp_path / "products.csv", rows)
    config = DataConfig(dataset=str(pairs), data_dir=tmp_path / "data", products=products)
    summary = describe_prepared(prepare_dataset(config, progress=False))
    assert "skipped 2 repeating an earlier id (first row kept), 1 with an empty id" in summary


def test_the_summary_names_unread_numbers_and_a_cut_off_file(tmp_path: Path) -> None:
    ring = [f"p{i},p{(i + step) % 40}" for i in range(40) for step in (1, 3)]
    pairs = write(tmp_path / "pairs.csv", ["a,b", *ring])
    rows = "id,price\n" + "".join(f"p{i},{'12-15' if i == 3 else i}\n" for i in range(3000))
    whole = gzip.compress(rows.encode())
    products = tmp_path / "products.csv.gz"
    products.write_bytes(whole[: len(whole) * 3 // 4])
    config = DataConfig(dataset=str(pairs), data_dir=tmp_path / "data", products=products)
    summary = describe_prepared(prepare_dataset(config, progress=False))
    assert "1 price values that are not numbers (left empty)" in summary
    assert "file truncated (the gzip stream ends before its end-of-stream marker)" in summary


def test_the_manifest_and_summary_name_the_products_file_by_its_path(tmp_path: Path) -> None:
    """The reader gets the opened stream: its repr was written where the path belongs."""
    pairs = write(tmp_path / "pairs.csv", ["a,b", *(f"p{i},p{(i + 1) % 40}" for i in range(40))])
    products = write(tmp_path / "products.csv", ["id,title", *(f"p{i},T{i}" for i in range(40))])
    config = DataConfig(dataset=str(pairs), data_dir=tmp_path / "data", products=products)
    prepared = prepare_dataset(config, progress=False)
    assert prepared.folder is not None
    manifest = json.loads((prepared.folder / "manifest.json").read_text())
    assert manifest["parse"]["details"]["products_file"]["path"] == str(products)
    assert f"side info  {products}: 40 rows, 40 matching" in describe_prepared(prepared)


def test_products_matching_no_pair_are_named_by_their_path(tmp_path: Path) -> None:
    pairs = write(tmp_path / "pairs.csv", ["a,b", *(f"p{i},p{(i + 1) % 40}" for i in range(40))])
    products = write(tmp_path / "products.csv", ["id,title", "q0,T0", "q1,T1"])
    config = DataConfig(dataset=str(pairs), data_dir=tmp_path / "data", products=products)
    with pytest.raises(DataError, match=f"^{re.escape(str(products))}: none of its 2 product ids"):
        prepare_dataset(config, progress=False)
