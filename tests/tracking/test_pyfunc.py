"""The pyfunc model answers like the in-process embeddings, in process and over HTTP."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.pyfunc.scoring_server import predictions_to_json

from recsys.embeddings import ItemEmbeddings, extra_with_bias_term
from recsys.tracking.pyfunc import (
    load_embeddings,
    log_embedding_model,
    save_embeddings,
    score_description,
)
from tests.conftest import private_store

N_ITEMS = 60
# Text asins, then ten integer ids as prepare writes them for a SNAP file: "7", ..., "70".
ASINS = pd.Series([f"B{i:04d}" for i in range(N_ITEMS - 10)] + [str(7 * i) for i in range(1, 11)])
SEVEN, FOURTEEN = 50, 51  # rows of the ids 7 and 14


def _embeddings() -> ItemEmbeddings:
    rng = np.random.default_rng(7)
    known = np.ones(N_ITEMS, dtype=bool)
    known[[5, 6]] = False  # in the vocabulary, but never trained
    return ItemEmbeddings(
        vectors=rng.normal(size=(N_ITEMS, 8)).astype(np.float32),
        known=known,
        similarity="cosine",
        bias=rng.normal(size=N_ITEMS).astype(np.float32),
    )


@pytest.fixture(scope="module")
def logged_model(
    empty_store: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, Path]]:
    """(tracking uri, model uri, folder) of one logged model in a module-wide temp store."""
    tmp = tmp_path_factory.mktemp("pyfunc")
    uri = private_store(empty_store, tmp)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        patch.delenv("MLFLOW_RUN_ID", raising=False)
        patch.chdir(tmp)
        previous = mlflow.get_tracking_uri()
        mlflow.set_tracking_uri(uri)
        experiment = mlflow.create_experiment("pyfunc", artifact_location=str(tmp / "artifacts"))
        with mlflow.start_run(experiment_id=experiment) as run:
            folder = save_embeddings(_embeddings(), ASINS, tmp / "embeddings")
            example = pd.DataFrame({"product1": ["B0000"], "product2": ["B0001"]})
            log_embedding_model(folder, example)
        yield uri, f"runs:/{run.info.run_id}/model", folder
        mlflow.set_tracking_uri(previous)


def test_embeddings_round_trip_through_files(tmp_path: Path) -> None:
    model = _embeddings()
    loaded, vocabulary = load_embeddings(save_embeddings(model, ASINS, tmp_path))
    np.testing.assert_array_equal(loaded.vectors, model.vectors)
    np.testing.assert_array_equal(loaded.known, model.known)
    assert loaded.bias is not None and model.bias is not None
    np.testing.assert_array_equal(loaded.bias, model.bias)
    assert vocabulary.columns.tolist() == ["item_id", "asin", "known"]
    assert vocabulary["asin"].tolist() == ASINS.tolist()


def test_pair_scores_match_the_embeddings_and_unknowns_are_nan(
    logged_model: tuple[str, str, Path],
) -> None:
    _, model_uri, _ = logged_model
    model = mlflow.pyfunc.load_model(model_uri)
    embeddings = _embeddings()
    a = np.array([0, 3, 10, 59], dtype=np.int32)
    b = np.array([1, 40, 11, 2], dtype=np.int32)
    frame = pd.DataFrame(
        {
            "product1": [*ASINS[a], "B0005", "nope"],
            "product2": [*ASINS[b], "B0001", "B0001"],
        }
    )
    answer = model.predict(frame)
    np.testing.assert_allclose(answer["score"][:4].astype(float), embeddings.score(a, b), rtol=1e-6)
    assert answer["known"].tolist() == [True] * 4 + [False, False]
    assert answer["score"][4:].isna().all()  # untrained product, unknown asin


def test_top_k_matches_most_similar_with_k_as_a_parameter(
    logged_model: tuple[str, str, Path],
) -> None:
    _, model_uri, _ = logged_model
    model = mlflow.pyfunc.load_model(model_uri)
    embeddings = _embeddings()
    answer = model.predict(pd.DataFrame({"product": ["B0003", "nope", "B0006"]}), params={"k": 4})
    ids, scores = embeddings.most_similar(np.array([3], dtype=np.int32), 4)
    assert answer["similar"][0] == ASINS[ids[0]].tolist()
    np.testing.assert_allclose(answer["scores"][0], scores[0], rtol=1e-6)
    assert "B0005" not in answer["similar"][0] and "B0006" not in answer["similar"][0]
    assert answer["known"].tolist() == [True, False, False]
    assert list(answer["similar"][1]) == [] and list(answer["similar"][2]) == []
    default_k = model.predict(pd.DataFrame({"product": ["B0003"]}))
    assert len(default_k["similar"][0]) == 10  # the signature's default


def test_input_without_known_columns_is_refused_with_the_expected_ones(
    logged_model: tuple[str, str, Path],
) -> None:
    _, model_uri, _ = logged_model
    model = mlflow.pyfunc.load_model(model_uri)
    with pytest.raises(MlflowException, match="product1, product2") as raised:
        model.predict(pd.DataFrame({"item": ["B0001"]}))
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"
    assert str(raised.value).endswith("got none of them")  # MLflow dropped "item"


def test_any_scalar_ids_nulls_and_empty_input_behave(
    logged_model: tuple[str, str, Path],
) -> None:
    _, model_uri, _ = logged_model
    model = mlflow.pyfunc.load_model(model_uri)
    # Integer ids are compared as strings (none of these asins is numeric: unknown, no error).
    ints = model.predict(pd.DataFrame({"product1": [1, 2], "product2": [3, 4]}))
    assert ints["known"].tolist() == [False, False] and ints["score"].isna().all()
    nulls = model.predict(pd.DataFrame({"product1": ["B0000", "B0001"], "product2": [None, None]}))
    assert nulls["known"].tolist() == [False, False]
    assert nulls["score"].tolist() == [None, None]  # JSON null, never NaN
    empty = model.predict(pd.DataFrame({"product1": [], "product2": []}))
    assert len(empty) == 0 and {"score", "known"} <= set(empty.columns)
    no_query = model.predict(pd.DataFrame({"product": [None]}), params={"k": 3})
    assert no_query["known"].tolist() == [False] and list(no_query["similar"][0]) == []


def test_integer_ids_beside_a_missing_one_are_read_as_integers(
    logged_model: tuple[str, str, Path],
) -> None:
    """pandas stores [7, None] as [7.0, NaN]: read as text "7.0", every row was unknown."""
    _, model_uri, _ = logged_model
    model = mlflow.pyfunc.load_model(model_uri)
    expected = float(_embeddings().score(np.array([SEVEN]), np.array([FOURTEEN]))[0])
    answer = model.predict(pd.DataFrame({"product1": [7, None], "product2": [14, 14]}))
    assert answer["known"].tolist() == [True, False]
    assert answer["score"][0] == pytest.approx(expected, rel=1e-6)
    assert answer["score"][1] is None and answer["product1"][1] is None  # not NaN
    # Floats, integral text, padded text and NaN in one mixed column, row by row.
    mixed = pd.DataFrame(
        {
            "product1": [7.0, "7.0", " 7 ", np.int64(7), np.nan, "007", 7.5, " B0003\t"],
            "product2": ["14", 14.0, 14, "14", 14, 14, 14, "B0004"],
        }
    )
    answer = model.predict(mixed)
    assert answer["known"].tolist() == [True] * 4 + [False, False, False, True]
    np.testing.assert_allclose(answer["score"][:4].astype(float), expected, rtol=1e-6)
    assert answer["product1"][4] is None
    queries = model.predict(pd.DataFrame({"product": [7, None]}), params={"k": 3})
    assert queries["known"].tolist() == [True, False] and queries["product"][1] is None
    assert len(queries["similar"][0]) == 3


def test_a_missing_text_id_is_echoed_as_null_in_strict_json(
    logged_model: tuple[str, str, Path],
) -> None:
    """pandas 3 stores text beside None in its string dtype: the echoed id came back NaN,
    which the scoring server wrote as a bare ``NaN``."""
    _, model_uri, _ = logged_model
    model = mlflow.pyfunc.load_model(model_uri)
    pairs = model.predict(
        pd.DataFrame({"product1": ["nope", None, np.nan], "product2": ["B0001"] * 3})
    )
    assert pairs["product1"].tolist() == ["nope", None, None]
    assert pairs["score"].tolist() == [None, None, None]
    queries = model.predict(pd.DataFrame({"product": ["B0003", None]}), params={"k": 3})
    assert queries["product"].tolist() == ["B0003", None]
    for answer in (pairs, queries):
        served = io.StringIO()
        predictions_to_json(answer, served)  # what `mlflow models serve` answers with
        json.loads(served.getvalue(), parse_constant=_no_nan)
        json.dumps(answer.to_dict(orient="records"), allow_nan=False)


def test_a_dict_of_lists_is_read_as_rows(logged_model: tuple[str, str, Path]) -> None:
    """MLflow makes a dict of string lists one row of lists: was known=False, product a list."""
    _, model_uri, _ = logged_model
    model = mlflow.pyfunc.load_model(model_uri)
    products = ["B0003", "nope", "B0010"]
    as_dict = model.predict({"product": products}, params={"k": 3})
    as_frame = model.predict(pd.DataFrame({"product": products}), params={"k": 3})
    assert as_dict["product"].tolist() == products
    assert as_dict["known"].tolist() == [True, False, True]
    assert as_dict["similar"].map(list).tolist() == as_frame["similar"].map(list).tolist()
    pairs = model.predict({"product1": ["B0000", "B0010"], "product2": "B0001"})
    assert pairs["known"].tolist() == [True, True] and pairs["product2"].tolist() == ["B0001"] * 2
    with pytest.raises(MlflowException, match=r"differ in length \(product1: 2, product2: 1\)"):
        model.predict({"product1": ["B0000", "B0010"], "product2": ["B0001"]})
    with pytest.raises(MlflowException, match="product holds a list in row 1, not an id"):
        model.predict(pd.DataFrame({"product": ["B0003", ["B0004", "B0010"]]}))


# Run in a fresh interpreter where `recsys` can be imported only from a model's code folder,
# as where it is not installed (`mlflow models serve` in its own virtualenv, build-docker).
WITHOUT_INSTALLED_RECSYS = """
import importlib.abc, importlib.machinery, json, sys
import mlflow, pandas as pd

class ModelCodeOnly(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != "recsys":
            return None
        code = [p for p in sys.path if p.endswith("code")]
        spec = importlib.machinery.PathFinder.find_spec(name, code)
        if spec is None:
            raise ImportError("recsys is not installed here")
        return spec

sys.meta_path.insert(0, ModelCodeOnly())
model = mlflow.pyfunc.load_model(sys.argv[1])
answer = model.predict(pd.DataFrame({"product1": ["B0000"], "product2": ["B0001"]}))
print(json.dumps({"file": sys.modules["recsys"].__file__, "score": answer["score"][0]}))
"""


def test_the_model_loads_where_recsys_is_not_installed(
    logged_model: tuple[str, str, Path],
) -> None:
    """The model carries the recsys source it was logged with (code_paths, no caches) and
    pins numba, which loading imports."""
    uri, model_uri, _ = logged_model
    local = Path(mlflow.artifacts.download_artifacts(model_uri, tracking_uri=uri))
    assert (local / "code" / "recsys" / "embeddings.py").is_file()
    assert not list((local / "code").rglob("__pycache__"))
    assert any(line.startswith("numba==") for line in (local / "requirements.txt").open())
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_INSTALLED_RECSYS, model_uri],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    expected = mlflow.pyfunc.load_model(model_uri).predict(
        pd.DataFrame({"product1": ["B0000"], "product2": ["B0001"]})
    )
    assert "/code/recsys/" in answer["file"]
    assert answer["score"] == pytest.approx(expected["score"][0])


def test_the_score_text_says_the_prior_moves_unrelated_pairs_off_0() -> None:
    rng = np.random.default_rng(3)
    model = ItemEmbeddings(
        vectors=rng.normal(size=(N_ITEMS, 8)).astype(np.float32),
        known=np.ones(N_ITEMS, dtype=bool),
        context=rng.normal(size=(N_ITEMS, 8)).astype(np.float32),
    )
    assert "; about 0 for unrelated products;" in score_description(model)
    with_prior = ItemEmbeddings(
        vectors=model.vectors,
        known=model.known,
        context=model.context,
        bias=rng.normal(size=N_ITEMS).astype(np.float32),
        extra=extra_with_bias_term(model, "degree_prior"),
    )
    text = score_description(with_prior)
    assert (
        "degree prior" in text and "about 0 for unrelated products before the added terms" in text
    )


def test_k_is_capped_by_max_k_with_a_clear_error(logged_model: tuple[str, str, Path]) -> None:
    _, model_uri, _ = logged_model
    model = mlflow.pyfunc.load_model(model_uri)
    query = pd.DataFrame({"product": ["B0003"]})
    with pytest.raises(MlflowException, match="k=1,000,000,000 is above max_k=1,000"):
        model.predict(query, params={"k": 10**9})
    with pytest.raises(MlflowException, match="k must be >= 0"):
        model.predict(query, params={"k": -1})
    wide = model.predict(query, params={"k": 30, "max_k": 20_000})
    assert len(wide["similar"][0]) == 30
    assert "B0003" not in wide["similar"][0]  # never the query itself


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _post(url: str, body: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read(), parse_constant=_no_nan)


def _no_nan(constant: str) -> object:
    raise AssertionError(f"the server answered invalid JSON: {constant}")


def _wait_for_ping(url: str, server: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"model server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    raise AssertionError(f"model server did not answer {url} within {timeout_s} s")


def test_mlflow_models_serve_answers_like_the_loaded_model(
    logged_model: tuple[str, str, Path], tmp_path: Path
) -> None:
    tracking_uri, model_uri, _ = logged_model
    port = _free_port()
    mlflow_cli = Path(sys.executable).with_name("mlflow")
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [
            str(mlflow_cli),
            "models",
            "serve",
            "-m",
            model_uri,
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-w",
            "1",
        ],
        env={**os.environ, "MLFLOW_TRACKING_URI": tracking_uri},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so stopping it stops its workers
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for_ping(f"{base}/ping", server, timeout_s=120)
        loaded = mlflow.pyfunc.load_model(model_uri)

        pairs = pd.DataFrame({"product1": ["B0000", "B0010", "nope"], "product2": ["B0001"] * 3})
        served = _post(
            f"{base}/invocations",
            {"dataframe_split": pairs.to_dict(orient="split", index=False)},
        )["predictions"]
        expected = loaded.predict(pairs)
        assert [row["known"] for row in served] == expected["known"].tolist()
        np.testing.assert_allclose(
            [row["score"] for row in served[:2]], expected["score"][:2].astype(float), rtol=1e-6
        )
        assert served[2]["score"] is None

        # Integer ids beside a missing one (a float column in pandas): strict JSON, null.
        with_null = {"columns": ["product1", "product2"], "data": [[7, 14], [None, 14]]}
        served = _post(f"{base}/invocations", {"dataframe_split": with_null})["predictions"]
        assert [row["known"] for row in served] == [True, False]
        assert served[0]["score"] == pytest.approx(
            loaded.predict(pd.DataFrame({"product1": [7], "product2": [14]}))["score"][0], rel=1e-6
        )
        assert served[1]["product1"] is None and served[1]["score"] is None
        text_null = {
            "columns": ["product1", "product2"],
            "data": [["nope", "B0001"], [None, "B0001"]],
        }
        served = _post(f"{base}/invocations", {"dataframe_split": text_null})["predictions"]
        assert [row["product1"] for row in served] == ["nope", None]

        queries = pd.DataFrame({"product": ["B0003", "nope"]})
        served = _post(
            f"{base}/invocations",
            {
                "dataframe_split": queries.to_dict(orient="split", index=False),
                "params": {"k": 3},
            },
        )["predictions"]
        expected = loaded.predict(queries, params={"k": 3})
        assert served[0]["similar"] == list(expected["similar"][0])
        np.testing.assert_allclose(served[0]["scores"], expected["scores"][0], rtol=1e-6)
        assert served[1]["similar"] == [] and served[1]["known"] is False
        # {"inputs": {column: [ids]}} reaches the model as a dict of lists: the same rows.
        as_inputs = {"inputs": {"product": ["B0003", "nope"]}, "params": {"k": 3}}
        assert _post(f"{base}/invocations", as_inputs)["predictions"] == served

        bad = {"dataframe_split": {"columns": ["item"], "data": [["B0001"]]}}
        with pytest.raises(urllib.error.HTTPError) as refused:
            _post(f"{base}/invocations", bad)
        assert refused.value.code == 400
        body = json.loads(refused.value.read())
        assert body["error_code"] == "INVALID_PARAMETER_VALUE"
        assert "product1, product2" in body["message"]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def test_context_vectors_round_trip_and_score_alike(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    model = ItemEmbeddings(
        vectors=rng.normal(size=(N_ITEMS, 8)).astype(np.float32),
        known=np.ones(N_ITEMS, dtype=bool),
        context=rng.normal(size=(N_ITEMS, 8)).astype(np.float32),
    )
    loaded, _ = load_embeddings(save_embeddings(model, ASINS, tmp_path))
    assert loaded.context is not None and model.context is not None
    np.testing.assert_array_equal(loaded.context, model.context)
    pairs = np.arange(N_ITEMS, dtype=np.int32)
    np.testing.assert_array_equal(loaded.score(pairs, pairs[::-1]), model.score(pairs, pairs[::-1]))


def test_logging_leaves_no_loaded_model_behind(
    logged_model: tuple[str, str, Path], tmp_path: Path
) -> None:
    """log_model loads the model once (the input example's check); MLflow's set_model
    global kept that instance, embeddings and all, until the next load."""
    from mlflow.models import model as mlflow_model_module

    uri, model_uri, folder = logged_model
    mlflow.set_tracking_uri(uri)
    # The fixture's experiment: the store template's default one keeps its artifacts in the
    # folder pytest started in (the repository), as an absolute path.
    experiment = mlflow.get_experiment_by_name("pyfunc")
    assert experiment is not None
    with mlflow.start_run(experiment_id=experiment.experiment_id):
        log_embedding_model(folder, pd.DataFrame({"product1": ["B0000"], "product2": ["B0001"]}))
    assert mlflow_model_module.__mlflow_model__ is None
    loaded = mlflow.pyfunc.load_model(model_uri)  # a caller's own load keeps working
    answer = loaded.predict(pd.DataFrame({"product1": ["B0000"], "product2": ["B0001"]}))
    assert answer["known"].all()
