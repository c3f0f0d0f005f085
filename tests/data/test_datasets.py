"""Dataset names: real files found or downloaded (file:// and a local HTTP server), synthetic."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from recsys.config import DataConfig
from recsys.data.datasets import DOWNLOAD_URL_ENV, check_dataset, resolve_dataset
from recsys.data.errors import DataError
from recsys.data.prepare import prepare_dataset
from tests.data.helpers import python_lines, records_2014, write_lines


@pytest.fixture()
def mirror(tmp_path: Path) -> Path:
    """A folder holding a tiny meta_Books.json.gz, standing in for UCSD's server."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    write_lines(folder / "meta_Books.json.gz", python_lines(records_2014()))
    return folder


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the mirror; /cut/<file> promises more bytes than it sends."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/cut/"):
            body = (Path(self.directory) / self.path.removeprefix("/cut/")).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body) + 1000))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            return
        super().do_GET()


@pytest.fixture()
def http_mirror(mirror: Path) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 serving the mirror folder; yields its base URL."""

    def handler(*args: object, **kwargs: object) -> _Handler:
        return _Handler(*args, directory=str(mirror), **kwargs)  # type: ignore[arg-type]

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_real_file_already_in_raw_is_used(tmp_path: Path, mirror: Path) -> None:
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    (raw / "meta_Electronics.json.gz").write_bytes((mirror / "meta_Books.json.gz").read_bytes())
    source = resolve_dataset("Electronics", tmp_path / "data", progress=False)
    assert (source.name, source.kind, source.path) == (
        "electronics",
        "real",
        raw / "meta_Electronics.json.gz",
    )


def test_download_from_a_file_url(
    tmp_path: Path, mirror: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DOWNLOAD_URL_ENV, mirror.as_uri())
    config = DataConfig(dataset="books", data_dir=tmp_path / "data", study_filters=False)
    dataset = prepare_dataset(config, progress=False)
    assert (tmp_path / "data" / "raw" / "meta_Books.json.gz").exists()
    assert dataset.name == "books" and dataset.manifest["source_kind"] == "real"
    assert dataset.manifest["n_pairs"] == 5


def test_download_over_http(
    tmp_path: Path, http_mirror: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DOWNLOAD_URL_ENV, http_mirror + "/")
    source = resolve_dataset("books", tmp_path / "data", progress=True)
    assert source.path.read_bytes()[:2] == b"\x1f\x8b"
    assert not list(source.path.parent.glob("*.part"))


def test_cut_off_download_leaves_no_file(
    tmp_path: Path, http_mirror: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DOWNLOAD_URL_ENV, http_mirror + "/cut")
    raw = tmp_path / "data" / "raw"
    with pytest.raises(DataError, match=r"put it at .*meta_Books\.json\.gz"):
        resolve_dataset("books", tmp_path / "data", progress=False)
    assert not list(raw.glob("*"))


def test_offline_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DOWNLOAD_URL_ENV, "http://127.0.0.1:9/")  # discard port: refused
    with pytest.raises(DataError, match=r"could not download .*meta_Electronics\.json\.gz"):
        resolve_dataset("electronics", tmp_path / "data", progress=False)
    assert not list((tmp_path / "data" / "raw").glob("*"))


def test_missing_file_missing_name(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="neither a dataset name") as missed:
        resolve_dataset("electronix", tmp_path, progress=False)
    assert str(missed.value).endswith(" Did you mean 'electronics'?")
    with pytest.raises(DataError, match=r"Did you mean 'synthetic-small:0\.05'\?$"):
        resolve_dataset("synthetic-smal:0.05", tmp_path, progress=False)
    with pytest.raises(DataError) as far:
        resolve_dataset("no-such-thing.csv", tmp_path, progress=False)
    assert "Did you mean" not in str(far.value)  # no near name: no guess


def test_check_dataset_refuses_what_resolving_would_without_side_effects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(DOWNLOAD_URL_ENV, "http://127.0.0.1:9/")  # a download would fail
    (tmp_path / "pairs.csv").write_text("a,b\n")
    for fine in ["electronics", "Books", "synthetic-small:0.01", "synthetic-like:x.json",
                 "pairs.csv", str(tmp_path / "pairs.csv")]:  # fmt: skip
        check_dataset(fine)
    for missing, error in [
        ("electronix", "neither a dataset name"),
        (".", r"is a directory; pass one data file in it \(.*\) \(it holds pairs.csv\)"),
    ]:
        with pytest.raises(DataError, match=error):
            check_dataset(missing)
        with pytest.raises(DataError, match=error):
            resolve_dataset(missing, tmp_path / "data", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pairs.csv"]  # nothing fetched


def test_bad_synthetic_scale(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a scale"):
        resolve_dataset("synthetic-books:big", tmp_path, progress=False)


def test_synthetic_default_is_generated_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    first = prepare_dataset(DataConfig(data_dir=data_dir), progress=False)
    assert first.name == "synthetic-small"
    assert first.manifest["source_kind"] == "synthetic"
    assert first.manifest["synthetic"]["preset"] == "small"
    assert first.manifest["detected_format"] == "2014-python-literal"
    assert first.manifest["n_pairs"] > 1000

    def no_generation(*args: object, **kwargs: object) -> None:
        raise AssertionError("generated again although the file is in raw/")

    monkeypatch.setattr("recsys.data.synthetic.write_synthetic_metadata", no_generation)
    again = resolve_dataset("synthetic-small", data_dir, progress=False)
    assert again.path == Path(first.manifest["source"])


def test_a_damaged_generated_file_is_generated_again_not_reused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A synthetic file in raw/ cut off (a full disk, a copy stopped half-way) was reused:
    prepared as a smaller dataset under the same name, exit 0. Its sha256, kept beside it,
    now has it generated again."""
    first = resolve_dataset("synthetic-small:0.002", tmp_path, progress=False)
    whole = first.path.read_bytes()
    first.path.write_bytes(whole[: len(whole) // 2])
    with caplog.at_level("WARNING"):
        again = resolve_dataset("synthetic-small:0.002", tmp_path, progress=False)
    assert again.path == first.path and again.path.read_bytes() == whole
    assert f"generated file {first.path} is not the one written" in caplog.text
    caplog.clear()
    resolve_dataset("synthetic-small:0.002", tmp_path, progress=False)  # intact: reused
    assert "generated file" not in caplog.text


def test_synthetic_scale_suffix(tmp_path: Path) -> None:
    source = resolve_dataset("synthetic-electronics:0.005", tmp_path, progress=False)
    assert (source.kind, source.preset, source.scale) == ("synthetic", "electronics", 0.005)
    assert source.name == "synthetic-electronics-x0.005"
    assert source.path.parent == tmp_path / "raw" and source.path.exists()


def test_a_directory_given_as_the_dataset_is_named_as_one(tmp_path: Path) -> None:
    write_lines(tmp_path / "meta_Tiny.json.gz", python_lines(records_2014()))
    with pytest.raises(DataError, match=r"is a directory; .* \(it holds meta_Tiny\.json\.gz\)"):
        resolve_dataset(str(tmp_path), tmp_path / "data")
