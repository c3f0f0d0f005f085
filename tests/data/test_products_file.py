"""Products files that are not what they look like: no header, repeated ids, a path that
is missing or not a file, an archive; each is one error naming the file or a count in the
summary."""

from __future__ import annotations

import bz2
import io
import lzma
import tarfile
import zipfile
from pathlib import Path

import pytest

from recsys.config import DataConfig
from recsys.data.errors import DataError
from recsys.data.formats.products_file import read_products_file
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


def test_a_semicolon_header_is_named_as_such(tmp_path: Path) -> None:
    path = write(tmp_path / "semi.csv", ["id;title;price", "p0;T0;1,5"])
    with pytest.raises(DataError, match=r"semi\.csv: its header 'id;title;price' is separated by"):
        read_products_file(path)


def test_one_known_column_is_a_header(tmp_path: Path) -> None:
    path = write(tmp_path / "sku.csv", ["sku,title", "p0,T0"])
    assert read_products_file(path).table.columns.tolist() == ["asin", "title"]


@pytest.mark.parametrize(("name", "problem"), [("nope.csv", "no such file"), (".", "not a file")])
def test_a_path_that_cannot_be_read_names_the_products_option(
    tmp_path: Path, name: str, problem: str
) -> None:
    with pytest.raises(DataError, match=f"products file .*: {problem}; pass --products"):
        read_products_file(tmp_path / name)


def test_the_summary_counts_repeated_ids(tmp_path: Path) -> None:
    ring = [f"p{i},p{(i + step) % 40}" for i in range(40) for step in (1, 3)]
    pairs = write(tmp_path / "pairs.csv", ["a,b", *ring])
    rows = ["id,title", *(f"p{i},T{i}" for i in range(40)), "p0,again", "p1,again", ",blank"]
    products = write(tmp_path / "products.csv", rows)
    config = DataConfig(dataset=str(pairs), data_dir=tmp_path / "data", products=products)
    summary = describe_prepared(prepare_dataset(config, progress=False))
    assert "skipped 2 repeating an earlier id (first row kept), 1 with an empty id" in summary


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
