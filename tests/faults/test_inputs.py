"""Bad inputs to `recsys train`: one clean line naming what is wrong, and no run left behind.

Before issue 16 each of these printed about 35 lines of traceback (the tracking URI case
dumped the server's 404 HTML page); a BOM made the first record malformed and duplicate
asins were dropped without a word.
"""

from __future__ import annotations

import ast
import bz2
import gzip
import io
import json
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import mlflow
import pytest
import torch

from recsys.tracking import names
from tests.faults.conftest import all_runs, assert_one_error_line, recsys, train_args


def metadata_lines(data_dir: Path) -> list[str]:
    """The lines of TINY's generated metadata file."""
    (raw,) = (data_dir / "raw").glob("meta_synthetic-small_scale0.002_*.json.gz")
    with gzip.open(raw, "rt", encoding="utf-8") as handle:
        return handle.read().splitlines()


@pytest.mark.parametrize(
    ("case", "named"),
    [
        ("unknown-dataset", ["'no-such-dataset' is neither a dataset name"]),
        ("bad-scale", ["synthetic-electronics:abc", "'abc' is not a scale"]),
        ("empty-file", ["empty.json", "empty (0 bytes)"]),
        ("no-pairs", ["lonely.json", "no product pairs", "-P study_filters=false"]),
        ("directory", ["is a directory", "meta_synthetic-small_scale0.002_seed0.json.gz"]),
        ("uncreatable-data-dir", ["data_dir", "lonely.json/data cannot be created", "--data-dir"]),
    ],
)
def test_a_data_error_is_one_line_naming_it_and_starts_no_run(
    case: str, named: list[str], store: str, data_dir: Path, no_debug: None
) -> None:
    lonely = data_dir / "lonely.json"
    lonely.write_text("".join(json.dumps({"asin": a, "title": a}) + "\n" for a in "ABC"))
    (data_dir / "empty.json").touch()
    dataset = {
        "unknown-dataset": "no-such-dataset",
        "bad-scale": "synthetic-electronics:abc",
        "empty-file": str(data_dir / "empty.json"),
        "no-pairs": str(lonely),
        "directory": str(data_dir / "raw"),
        "uncreatable-data-dir": "synthetic-small:0.002",
    }[case]
    args = train_args("popularity", store, data_dir)
    args[args.index("--dataset") + 1] = dataset
    if case == "uncreatable-data-dir":  # below a file: no folder can be made there
        args[args.index("--data-dir") + 1] = str(lonely / "data")
    assert_one_error_line(recsys(*args), *named)
    assert all_runs(store) == []


@pytest.mark.parametrize("command", ["train", "main", "tune"])
def test_an_unknown_dataset_is_reported_before_the_tracking_store_is_created(
    command: str, tmp_path: Path, no_debug: None
) -> None:
    store = tmp_path / "fresh.db"
    args = {
        "train": ["train", "popularity"],
        "main": ["main", "--methods", "popularity"],
        "tune": ["tune", "mf", "--trials", "2"],
    }[command]
    args += ["--dataset", "typo.csv", "--data-dir", tmp_path / "data",
             "--tracking-uri", f"sqlite:///{store}", "--no-progress"]  # fmt: skip
    assert_one_error_line(recsys(*args), "'typo.csv' is neither a dataset name")
    assert not store.exists()  # no store created (MLflow's migrations) for a typo


@pytest.mark.parametrize("command", ["train", "main"])
def test_device_cuda_without_a_gpu_is_a_parameter_error_before_any_work(
    command: str, store: str, data_dir: Path, no_debug: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # a GPU machine too
    if command == "train":
        args = train_args("mf", store, data_dir, "-P", "device=cuda")
    else:
        args = ["main", "--methods", "popularity,mf", "-P", "device=cuda", "--no-progress",
                "--dataset", "synthetic-small:0.002", "--data-dir", str(data_dir),
                "--tracking-uri", store]  # fmt: skip
    assert_one_error_line(recsys(*args), "device=cuda", "sees no CUDA GPU", "device=cpu")
    assert all_runs(store) == []


class NotMlflow(BaseHTTPRequestHandler):
    """A web server on the port MLflow was meant to use: every path is a 404 page."""

    def do_GET(self) -> None:
        body = b"<!DOCTYPE html><html><body><h1>404 Not Found</h1></body></html>"
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def not_mlflow_uri() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), NotMlflow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_tracking_uri_that_is_not_mlflow_is_named_as_such(
    not_mlflow_uri: str, data_dir: Path, no_debug: None
) -> None:
    result = recsys(*train_args("popularity", not_mlflow_uri, data_dir))
    line = assert_one_error_line(result, not_mlflow_uri, "not as an MLflow tracking server")
    assert "HTTP 404" in line and "<html" not in result.output


def test_a_tracking_file_that_is_no_database_is_named_before_any_work(
    tmp_path: Path, data_dir: Path, no_debug: None
) -> None:
    junk = tmp_path / "x.db"
    junk.write_bytes(b"junk\n")
    uri = f"sqlite:///{junk}"
    prepared = data_dir / "prepared"
    before = sorted(prepared.iterdir()) if prepared.exists() else []
    result = recsys(*train_args("popularity", uri, data_dir))
    assert_one_error_line(result, uri, f"{junk} is not an SQLite database", f"move {junk} away")
    assert junk.read_bytes() == b"junk\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["x.db"]
    assert (sorted(prepared.iterdir()) if prepared.exists() else []) == before  # no work


def test_an_sqlite_uri_with_one_slash_names_the_right_spelling(
    data_dir: Path, no_debug: None
) -> None:
    result = recsys(*train_args("popularity", "sqlite:/tmp/x.db", data_dir))
    assert_one_error_line(result, "sqlite:/tmp/x.db", "write sqlite:////tmp/x.db (four slashes)")


def test_a_byte_order_mark_and_duplicate_asins_lose_no_record(
    store: str, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = metadata_lines(data_dir)
    second = ast.literal_eval(lines[1])  # the 2014 py-literal shape
    again = str({**second, "title": "a later title"})
    bom = data_dir / "bom.json"
    bom.write_text("\ufeff" + "\n".join([*lines, again]) + "\n", encoding="utf-8")
    args = train_args("popularity", store, data_dir)
    args[args.index("--dataset") + 1] = str(bom)
    with caplog.at_level("WARNING"):
        result = recsys(*args)
    assert result.exit_code == 0, result.output
    run = mlflow.get_run(result.output.strip().splitlines()[-1])
    assert run.info.status == "FINISHED"
    manifest = mlflow.artifacts.load_dict(f"runs:/{run.info.run_id}/{names.ARTIFACT_MANIFEST}")
    assert manifest["malformed_lines"] == 0  # the BOM is not glued to the first record
    assert manifest["records_read"] == len(lines) + 1
    assert manifest["parse"]["byte_order_mark"] is True
    assert manifest["parse"]["duplicate_records"] == 1
    assert "repeat an earlier record's asin" in caplog.text


def _archive(path: Path, kind: str) -> Path:
    """``pairs.csv`` of three pairs inside a container recsys does not read."""
    data = b"source,target\nA,B\nB,C\nC,D\n"
    if kind == "zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("pairs.csv", data)
    elif kind == "bzip2":
        path.write_bytes(bz2.compress(data))
    else:
        info = tarfile.TarInfo("pairs.csv")
        info.size = len(data)
        with tarfile.open(path, "w:gz") as archive:
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize(
    ("kind", "named"),
    [
        ("zip", ["is a zip archive", "plain text or gzip", "unzip"]),
        ("bzip2", ["is bzip2-compressed", "plain text or gzip", "gzip > FILE.gz"]),
        ("tar", ["is a gzip-compressed tar archive", "plain text or gzip", "tar -xf"]),
        ("latin1", ["line 3: byte 0xe9 is not UTF-8", "must be UTF-8", "iconv -f latin1"]),
        ("utf16", ["is UTF-16 text", "iconv -f utf-16 -t utf-8 pairs.utf16 > utf8_pairs.utf16"]),
    ],
)
def test_a_pairs_file_recsys_cannot_read_is_one_line_saying_what_to_do(
    tmp_path: Path, kind: str, named: list[str], no_debug: None
) -> None:
    path = tmp_path / f"pairs.{kind}"
    if kind == "latin1":
        path.write_bytes("source,target\nA,B\ncaf\u00e9,C\n".encode("latin-1"))
    elif kind == "utf16":  # big-endian without a byte-order mark: told by its NUL bytes
        path.write_bytes("source,target\nA,B\ncaf\u00e9,C\n".encode("utf-16-be"))
    else:
        _archive(path, kind)
    result = recsys("prepare", path, "--data-dir", tmp_path / "data")
    assert_one_error_line(result, str(path), *named)


@pytest.mark.parametrize("products", ["missing.csv", "."])
def test_a_products_file_that_cannot_be_read_is_one_line_naming_it(
    products: str, tmp_path: Path, no_debug: None
) -> None:
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("a,b\np0,p1\np1,p2\np2,p0\n")
    result = recsys(
        "prepare", pairs, "--products", tmp_path / products, "--data-dir", tmp_path / "data"
    )
    assert_one_error_line(result, "products file", "pass --products")


@pytest.mark.parametrize(
    ("kind", "named"),
    [
        ("zip", ["a zip archive", "plain text or gzip", "unzip", "(--products)"]),
        ("bzip2", ["bzip2-compressed", "gzip > FILE.gz", "(--products)"]),
        ("latin1", ["line 2: byte 0xe9 is not UTF-8", "iconv -f latin1", "to --products"]),
        (
            "utf16",
            ["UTF-16 text", "`iconv -f utf-16 -t utf-8 products.utf16 > utf8_products.utf16`"],
        ),
    ],
)
def test_a_products_file_recsys_cannot_read_is_one_line_naming_the_option(
    tmp_path: Path, kind: str, named: list[str], no_debug: None
) -> None:
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("a,b\np0,p1\np1,p2\np2,p0\n")
    products = tmp_path / f"products.{kind}"
    if kind == "latin1":
        products.write_bytes("id,title\np0,caf\u00e9\n".encode("latin-1"))
    elif kind == "utf16":  # with a byte-order mark, as Windows tools write it
        products.write_bytes("id,title\np0,caf\u00e9\n".encode("utf-16"))
    else:
        _archive(products, kind)
    result = recsys("prepare", pairs, "--products", products, "--data-dir", tmp_path / "data")
    assert_one_error_line(result, f"products file {products}", *named)


@pytest.mark.parametrize(
    ("lines", "named"),
    [
        (
            ["source,target", "A,B"],
            ["1 unique pairs cannot be split", "validation_fraction=0.333:"],
        ),
        (["source,target", "x,y", "y,z", "z,w"], ["could draw only 0 of 1 validation negatives"]),
    ],
)
def test_a_dataset_too_small_to_split_is_one_line_naming_its_file(
    lines: list[str], named: list[str], tmp_path: Path, no_debug: None
) -> None:
    pairs = tmp_path / "small.csv"
    pairs.write_text("".join(line + "\n" for line in lines))
    result = recsys("prepare", pairs, "--data-dir", tmp_path / "data")
    assert_one_error_line(result, f"Error: {pairs}: ", *named, "--validation-fraction")
