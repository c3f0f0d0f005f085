"""The leaderboard ranks finished method runs per dataset, straight from a tracking store.

Runs are written with the plain MlflowClient into a temporary sqlite store, with the tag
and metric names of the naming contract, so these tests do not depend on training.
"""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from mlflow import MlflowClient

from recsys.cli.leaderboard import leaderboard_command
from recsys.tracking import names
from recsys.tracking.leaderboard.figures import pareto_front
from recsys.tracking.leaderboard.query import method_runs_filter, query_leaderboard
from recsys.tracking.leaderboard.registry import champions_skipped
from recsys.tracking.leaderboard.report import publish_leaderboard
from recsys.tracking.leaderboard.rows import (
    DatasetTable,
    LeaderboardRow,
    best_per_method,
    build_leaderboard,
    canonical_dataset,
    check_rank_by,
    order_datasets,
    reference_rows,
)
from recsys.tracking.leaderboard.tables import (
    format_html,
    format_markdown,
    format_text,
    row_cells,
)
from recsys.tracking.names import KIND_LEADERBOARD, TAG_KIND, TAG_SEED_GROUP
from recsys.tracking.run import run_method

MUSIC_PATH = "/data/amazon/meta_Digital_Music.json.gz"


def _row(method: str, auc: float | None, variant: str = "", run_id: str = "r") -> LeaderboardRow:
    return LeaderboardRow(method, variant, auc, None, None, 1.0, run_id=run_id)


def test_best_per_method_keeps_highest_auc_and_ranks() -> None:
    rows = [
        _row("mf", 0.70, "binary", "a"),
        _row("mf", 0.80, "binary", "b"),
        _row("mf", 0.75, "continuous", "c"),
        _row("skipgram", 0.90, run_id="d"),
        _row("node2vec", None, run_id="e"),  # no AUC: cannot be ranked
    ]
    best = best_per_method(rows, "auc_all")
    assert [(r.label, r.run_id) for r in best] == [
        ("skipgram", "d"),
        ("mf (binary)", "b"),
        ("mf (continuous)", "c"),
    ]


def test_datasets_order_study_first_then_alphabetical() -> None:
    given = ["synthetic-small", "/x/meta_Books.json.gz", "aaa", "electronics"]
    assert order_datasets(given) == [
        "electronics",
        "/x/meta_Books.json.gz",
        "aaa",
        "synthetic-small",
    ]
    assert canonical_dataset("/x/meta_Electronics.json.gz") == "electronics"
    assert canonical_dataset("synthetic-electronics") == "synthetic-electronics"
    # A twin of a real file is synthetic: not that file, and no reference numbers.
    twin = "synthetic-like:/x/meta_Electronics.json.gz:10"
    assert canonical_dataset(twin) == "synthetic-like-meta_electronics-x10"
    assert reference_rows(twin) == [] and reference_rows("/x/meta_Electronics.json.gz") != []
    assert names.dataset_label("synthetic-like:/x/Music0601.txt") == "synthetic-like-Music0601.txt"


def test_filter_string_selects_finished_runs_of_a_dataset() -> None:
    text = method_runs_filter("books")
    assert "attributes.status = 'FINISHED'" in text
    assert "tags.`recsys.dataset` = 'books'" in text
    with pytest.raises(ValueError, match="quotes"):
        method_runs_filter("x' OR '1'='1")


def test_build_skips_leaderboard_runs_and_adds_references_to_electronics_only() -> None:
    runs = [
        ("r1", {names.TAG_METHOD: "mf", names.TAG_DATASET: "books"}, {"auc_all": 0.8}),
        ("r2", {names.TAG_METHOD: "mf", names.TAG_DATASET: "electronics"}, {"auc_all": 0.7}),
        ("r3", {TAG_KIND: KIND_LEADERBOARD, names.TAG_DATASET: "books"}, {"auc_all": 1.0}),
    ]
    board = build_leaderboard("sqlite:///x.db", runs, rank_by="auc_all")
    assert [t.dataset for t in board.tables] == ["electronics", "books"]
    electronics, books = board.tables
    assert books.references == []
    refs = {(r.label, r.auc_all, r.auc_seen, r.minutes) for r in electronics.references}
    assert ("word2vec (gensim)", 0.9082, 0.9735, 2.58) in refs
    assert ("skipgram (PyTorch)", 0.9554, 0.9855, 23.63) in refs
    assert ("mf_sequences", 0.9320, None, 70.39) in refs
    assert ("mf", 0.7951, None, 45.0) in refs
    assert {r.auc_all for r in electronics.references if r.source == "EGES paper"} == {
        0.9327,
        0.9575,
    }
    text = format_text(board)
    assert "published reference numbers (not runs on this server)" in text
    assert "(EGES paper)" in text and "(study)" in text
    # The reference block comes after the ranked runs, and only in the electronics table.
    assert text.index("r2") < text.index("(study)") < text.index("books:")


def _log_run(
    client: MlflowClient,
    experiment_id: str,
    method: str,
    dataset: str,
    metrics: dict[str, float],
    variant: str = "",
    status: str = "FINISHED",
) -> str:
    tags = {names.TAG_METHOD: method, names.TAG_VARIANT: variant, names.TAG_DATASET: dataset}
    run_id = client.create_run(experiment_id, tags=tags).info.run_id
    for key, value in metrics.items():
        client.log_metric(run_id, key, value)
    if status != "RUNNING":
        client.set_terminated(run_id, status=status)
    return run_id


def _aucs(value: float) -> dict[str, float]:
    """AUC all and degree-matched AUC alike: the two rankings agree on these runs."""
    return {"auc_all": value, "matched_auc_all": value}


@pytest.fixture(scope="module")
def populated_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    """A sqlite store with runs on three datasets in two experiments, plus noise to ignore."""
    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as patch:  # MLflow keeps the store, and its default
        patch.chdir(folder)  # artifact root ./mlruns, from its first use: here, not the repo
        client = MlflowClient(uri)
        client.search_experiments()
    small = client.create_experiment("recsys-synthetic-small", str(folder / "artifacts-small"))
    real = client.create_experiment("recsys-real", str(folder / "artifacts-real"))
    full = {"auc_seen": 0.0, "auc_cold_start": 0.0, "train_minutes": 0.5}
    ids = {
        "mf_low": _log_run(
            client, small, "mf", "synthetic-small", {**full, **_aucs(0.71)}, "binary"
        ),
        "mf_best": _log_run(
            client,
            small,
            "mf",
            "synthetic-small",
            {**full, **_aucs(0.83), "auc_seen": 0.9},
            "binary",
        ),
        "mf_cont": _log_run(
            client, small, "mf", "synthetic-small", {**full, **_aucs(0.79)}, "continuous"
        ),
        "skipgram": _log_run(
            client, small, "skipgram", "synthetic-small", {**full, **_aucs(0.95), "auc_seen": 0.97}
        ),
        "failed": _log_run(
            client, small, "node2vec", "synthetic-small", _aucs(0.99), status="FAILED"
        ),
        "running": _log_run(
            client, small, "word2vec", "synthetic-small", _aucs(0.98), status="RUNNING"
        ),
        "elec": _log_run(client, real, "popularity", "electronics", _aucs(0.6)),
        "music": _log_run(client, real, "word2vec", MUSIC_PATH, {**_aucs(0.88), "auc_seen": 0.93}),
    }
    board_run = client.create_run(small, tags={TAG_KIND: KIND_LEADERBOARD}).info.run_id
    client.log_metric(board_run, "auc_all", 1.0)
    client.set_terminated(board_run)
    return uri, ids


def test_query_ranks_best_finished_run_per_method(
    populated_store: tuple[str, dict[str, str]],
) -> None:
    uri, ids = populated_store
    board = query_leaderboard(MlflowClient(uri))
    assert [t.dataset for t in board.tables] == ["electronics", MUSIC_PATH, "synthetic-small"]
    small = board.tables[2]
    assert [(r.label, r.run_id) for r in small.rows] == [
        ("skipgram", ids["skipgram"]),
        ("mf (binary)", ids["mf_best"]),
        ("mf (continuous)", ids["mf_cont"]),
    ]
    assert small.n_runs == 4  # failed, running and leaderboard runs are not counted
    assert small.rows[1].auc_seen == pytest.approx(0.9)
    assert small.rows[1].minutes == pytest.approx(0.5)
    assert small.references == []
    assert board.tables[0].references  # electronics carries the study's numbers


def test_dataset_filter_by_name_or_file_label(populated_store: tuple[str, dict[str, str]]) -> None:
    uri, ids = populated_store
    client = MlflowClient(uri)
    assert [t.dataset for t in query_leaderboard(client, "synthetic-small").tables] == [
        "synthetic-small"
    ]
    for given in (MUSIC_PATH, "meta_Digital_Music", "/elsewhere/meta_Digital_Music.json"):
        tables = query_leaderboard(client, given).tables
        assert [(t.dataset, t.rows[0].run_id) for t in tables] == [(MUSIC_PATH, ids["music"])]
    assert query_leaderboard(client, "books").is_empty
    assert query_leaderboard(client, "synthetic-small:0.5").is_empty


def test_a_file_trained_by_a_relative_path_is_found_by_its_name_or_any_path(
    tmp_path: Path,
) -> None:
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.create_experiment("team")
    pairs = _log_run(client, experiment, "popularity", "pairs.csv", _aucs(0.7))
    _log_run(client, experiment, "popularity", "synthetic-like:pairs.csv", _aucs(0.6))
    for given in ("pairs.csv", "pairs", "/home/team/data/pairs.csv"):
        tables = query_leaderboard(client, given).tables
        assert [(t.dataset, t.rows[0].run_id) for t in tables] == [("pairs.csv", pairs)], given


def test_publish_logs_report_run_that_later_boards_ignore(
    populated_store: tuple[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    uri, _ = populated_store
    client = MlflowClient(uri)
    report = publish_leaderboard(client, "synthetic-small")
    assert report.run_id is not None
    run = client.get_run(report.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags[TAG_KIND] == KIND_LEADERBOARD
    artifacts = {a.path for a in client.list_artifacts(report.run_id)}
    assert {
        "leaderboard.md",
        "leaderboard.html",
        "leaderboard.png",
        "leaderboard.json",
    } <= artifacts
    markdown = Path(client.download_artifacts(report.run_id, "leaderboard.md")).read_text()
    assert "| 1 | skipgram | 0.9500 | 0.9700 |" in markdown
    again = publish_leaderboard(client, "synthetic-small", log=False)
    assert again.board == report.board  # the report run itself is not a method run


def test_settings_after_a_label_leave_out_what_its_variant_says() -> None:
    row = dataclasses.replace(
        _row("side_info", 0.9, variant="learned-center-prior"),
        settings="weighting=learned, pair_score=center, degree_prior=true, lr=0.01",
    )
    assert row_cells(row, 1)[1] == "side_info (learned-center-prior) {lr=0.01}"
    only_variant = dataclasses.replace(row, settings="weighting=learned, degree_prior=true")
    assert row_cells(only_variant, 1)[1] == "side_info (learned-center-prior)"
    plain = dataclasses.replace(_row("skipgram", 0.9), settings="preset=study, dim=64")
    assert row_cells(plain, 1)[1] == "skipgram {preset=study, dim=64}"


def test_markdown_and_html_carry_every_row() -> None:
    runs = [
        (
            "abc",
            {names.TAG_METHOD: "side_info", names.TAG_VARIANT: "learned", names.TAG_DATASET: "d"},
            {"auc_all": 0.9, "auc_cold_start": 0.7},
        ),
    ]
    board = build_leaderboard("file:///x", runs, rank_by="auc_all")
    markdown = format_markdown(board)
    cells = "| 0.9000 | - | 0.7000 | - | - | - | - | - | 1 | leader | abc |"
    assert f"| 1 | side_info (learned) {cells}" in markdown
    page = format_html(board)
    assert '<td class="txt">side_info (learned)</td>' in page and page.strip().endswith("</html>")


def test_cli_on_empty_store_says_so_and_exits_zero(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'empty.db'}"
    MlflowClient(uri).search_experiments(max_results=1)  # a store without runs
    result = CliRunner().invoke(leaderboard_command, ["--tracking-uri", uri])
    assert result.exit_code == 0, result.output
    assert "the leaderboard is empty" in result.output and uri in result.output


def test_cli_on_a_missing_sqlite_file_names_it_and_creates_nothing(tmp_path: Path) -> None:
    """Looking at a misspelled store path is an error, not an empty leaderboard that leaves a
    new database behind; only --log, which writes a run, creates the store."""
    missing = tmp_path / "typo.db"
    uri = f"sqlite:///{missing}"
    result = CliRunner().invoke(leaderboard_command, ["--tracking-uri", uri])
    assert result.exit_code == 1
    assert f"{missing} does not exist" in result.output and "--tracking-uri" in result.output
    assert sorted(tmp_path.iterdir()) == []
    logged = CliRunner().invoke(leaderboard_command, ["--tracking-uri", uri, "--log"])
    assert logged.exit_code == 0, logged.output
    assert missing.exists()


def test_cli_unknown_dataset_lists_known_ones(populated_store: tuple[str, dict[str, str]]) -> None:
    uri, _ = populated_store
    result = CliRunner().invoke(
        leaderboard_command, ["--tracking-uri", uri, "--dataset", "books", "--no-log"]
    )
    assert result.exit_code == 1
    assert "'books'" in result.output and "synthetic-small" in result.output


def test_cli_prints_table(populated_store: tuple[str, dict[str, str]]) -> None:
    uri, ids = populated_store
    result = CliRunner().invoke(
        leaderboard_command, ["--tracking-uri", uri, "--dataset", "synthetic-small", "--no-log"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    first = next(line for line in lines if line.lstrip().startswith("1 "))
    assert "skipgram" in first and ids["skipgram"] in first and "0.9500" in first


def test_cli_unreachable_server_fails_fast_naming_it() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    uri = f"http://127.0.0.1:{port}"
    result = CliRunner().invoke(leaderboard_command, ["--tracking-uri", uri])
    assert result.exit_code == 1
    assert uri in result.output and "not reachable" in result.output


def test_printing_the_leaderboard_logs_no_run_unless_asked(
    populated_store: tuple[str, dict[str, str]],
) -> None:
    uri, _ = populated_store
    client = MlflowClient(uri)

    def boards() -> int:
        ids = [e.experiment_id for e in client.search_experiments()]
        return len(client.search_runs(ids, "tags.`recsys.kind` = 'leaderboard'"))

    before = boards()
    result = CliRunner().invoke(leaderboard_command, ["--tracking-uri", uri])
    assert result.exit_code == 0 and boards() == before
    result = CliRunner().invoke(leaderboard_command, ["--tracking-uri", uri, "--log"])
    assert result.exit_code == 0 and boards() == before + 1
    assert "Logged as run" in result.output


def test_cli_help() -> None:
    result = CliRunner().invoke(leaderboard_command, ["--help"])
    assert result.exit_code == 0
    assert "--tracking-uri" in result.output and "--dataset" in result.output


def _run(method: str, values: dict[str, float]) -> tuple[str, dict[str, str], dict[str, float]]:
    tags = {names.TAG_METHOD: method, names.TAG_DATASET: "d"}
    return f"id-{method}", tags, {"auc_all": 0.5, **values}


def test_rank_by_another_metric_and_overlapping_intervals_are_tied() -> None:
    runs = [
        _run("skipgram", {"recall_at_10": 0.30, "recall_at_10_ci_low": 0.28,
                          "recall_at_10_ci_high": 0.32}),
        _run("word2vec", {"recall_at_10": 0.29, "recall_at_10_ci_low": 0.27,
                          "recall_at_10_ci_high": 0.31}),
        _run("adamic_adar", {"recall_at_10": 0.10, "recall_at_10_ci_low": 0.09,
                             "recall_at_10_ci_high": 0.11}),
        _run("mf", {}),  # no recall logged: cannot be ranked by it
    ]  # fmt: skip
    table = build_leaderboard("file:///x", runs, rank_by="recall_at_10").tables[0]
    assert [r.method for r in table.rows] == ["skipgram", "word2vec", "adamic_adar"]
    assert [r.tied for r in table.rows] == [False, True, False]
    text = format_text(build_leaderboard("file:///x", runs, rank_by="recall_at_10"))
    assert "ranked by recall_at_10" in text
    line = next(x for x in text.splitlines() if x.startswith("2 "))
    assert "0.2900±0.0200" in line and "tied" in line
    assert "adamic_adar [baseline]" in text


def test_the_board_alone_says_what_its_tables_are_ranked_by() -> None:
    runs = [_run("skipgram", {"recall_at_10": 0.30}), _run("word2vec", {"recall_at_10": 0.29})]
    board = build_leaderboard("file:///x", runs, rank_by="recall_at_10")
    assert "rank_by" not in {f.name for f in dataclasses.fields(DatasetTable)}
    assert "ranked by recall_at_10" in format_text(board)
    assert champions_skipped(board).endswith(
        "this leaderboard is ranked by recall_at_10 (log it without --rank-by to update them)"
    )
    assert champions_skipped(build_leaderboard("file:///x", runs)) == ""


def test_an_unknown_rank_by_metric_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="--rank-by: unknown metric 'auc'"):
        check_rank_by("auc")
    result = CliRunner().invoke(leaderboard_command, ["--rank-by", "auc", "--no-log"])
    assert (
        result.exit_code == 2 and "--rank-by" in result.output and "recall_at_10" in result.output
    )


def test_the_default_ranking_is_degree_matched_so_popularity_cannot_lead() -> None:
    """Under the study's negatives (uniform over products) popularity alone scores high;
    against degree-matched negatives it is at chance, and it cannot become the champion."""
    runs = [
        _run("popularity", {"auc_all": 0.91, "matched_auc_all": 0.49}),
        _run("skipgram", {"auc_all": 0.89, "matched_auc_all": 0.96}),
        _run("mf_bias", {"auc_all": 0.83, "matched_auc_all": 0.92}),
    ]
    board = build_leaderboard("file:///x", runs)
    table = board.tables[0]
    assert board.rank_by == "matched_auc_all"
    assert [r.method for r in table.rows] == ["skipgram", "mf_bias", "popularity"]
    study = build_leaderboard("file:///x", runs, rank_by="auc_all").tables[0]
    assert study.rows[0].method == "popularity"  # what ranking by the study's AUC would say


def test_pareto_front_keeps_what_nothing_beats_on_both_axes() -> None:
    points = [(1.0, 0.80), (2.0, 0.90), (3.0, 0.85), (0.5, 0.60), (5.0, 0.95)]
    assert pareto_front(points) == [3, 0, 1, 4]


def test_a_seed_group_is_one_row_with_mean_spread_and_a_wide_interval() -> None:
    def seeded(run_id: str, auc: float) -> tuple[str, dict[str, str], dict[str, float]]:
        tags = {
            names.TAG_METHOD: "skipgram",
            names.TAG_DATASET: "d",
            TAG_SEED_GROUP: "main1/skipgram",
        }
        return run_id, tags, {"auc_all": auc, "auc_all_ci_low": auc - 0.01,
                              "auc_all_ci_high": auc + 0.01, "train_minutes": 2.0}  # fmt: skip

    runs = [seeded("s1", 0.90), seeded("s2", 0.92), seeded("s3", 0.91), _run("mf", {})]
    table = build_leaderboard("file:///x", runs, rank_by="auc_all").tables[0]
    row = table.rows[0]
    assert row.method == "skipgram" and row.n_seeds == 3
    assert row.value("auc_all") == pytest.approx(0.91) and row.auc_all == pytest.approx(0.91)
    assert row.spread["auc_all"] == pytest.approx(0.01)
    low, high = row.interval("auc_all")  # type: ignore[misc]
    assert low <= 0.89 and high >= 0.93  # spans every seed's own interval
    board = build_leaderboard("file:///x", runs, rank_by="auc_all")
    line = next(x for x in format_text(board).splitlines()
                if "skipgram" in x)  # fmt: skip
    assert "3 sd 0.0100" in line


def test_a_seed_group_stands_for_its_method_unless_a_run_beats_it_beyond_its_interval() -> None:
    def run(
        run_id: str, auc: float, group: str = ""
    ) -> tuple[str, dict[str, str], dict[str, float]]:
        tags = {names.TAG_METHOD: "word2vec", names.TAG_DATASET: "d"}
        if group:
            tags[TAG_SEED_GROUP] = group
        return run_id, tags, {"auc_all": auc, "auc_all_ci_low": auc - 0.004,
                              "auc_all_ci_high": auc + 0.004}  # fmt: skip

    seeds = [run("s1", 0.8822, "main/word2vec"), run("s2", 0.8824, "main/word2vec"),
             run("s3", 0.8825, "main/word2vec")]  # fmt: skip
    lucky = run("single", 0.8827)  # one earlier run, inside the noise: the mean stands
    (row,) = build_leaderboard("file:///x", [lucky, *seeds], rank_by="auc_all").tables[0].rows
    assert row.n_seeds == 3 and row.value("auc_all") == pytest.approx(0.88237, abs=1e-5)
    better = run("better", 0.9000)  # above the group's interval: a real improvement
    (row,) = build_leaderboard("file:///x", [better, *seeds], rank_by="auc_all").tables[0].rows
    assert row.run_id == "better" and row.n_seeds == 1


def test_a_seed_group_gets_no_interval_of_a_metric_its_runs_logged_none_of() -> None:
    """PR-AUC has no 95% interval of its own: a seed group's row must not present the
    seeds' t-interval alone (seed spread, no sampling noise) as one, nor mark ties with it
    under a note that says ties cannot be marked."""

    def seeded(
        run_id: str, method: str, pr_auc: float
    ) -> tuple[str, dict[str, str], dict[str, float]]:
        tags = {
            names.TAG_METHOD: method,
            names.TAG_DATASET: "d",
            TAG_SEED_GROUP: f"main1/{method}",
        }
        return run_id, tags, {"auc_all": 0.9, "auc_all_ci_low": 0.89, "auc_all_ci_high": 0.91,
                              "pr_auc": pr_auc}  # fmt: skip

    runs = [seeded("s1", "skipgram", 0.9020), seeded("s2", "skipgram", 0.9022),
            seeded("w1", "word2vec", 0.9018), seeded("w2", "word2vec", 0.9021)]  # fmt: skip
    board = build_leaderboard("file:///x", runs, rank_by="pr_auc")
    rows = board.tables[0].rows
    assert [r.n_seeds for r in rows] == [2, 2]
    assert all(r.interval("pr_auc") is None for r in rows)
    assert [r.tied for r in rows] == [False, False]
    assert rows[0].interval("auc_all") is not None  # metrics the runs gave intervals keep one
    text = format_text(board)
    assert "pr_auc has no 95% interval" in text
    line = next(x for x in text.splitlines() if x.startswith("1 "))
    assert "0.9021 " in line and "0.9021±" not in line


MUSIC_STATISTICS = {
    "data.products": 62306.0,
    "data.pairs": 92058.0,
    "data.degree1_share": 0.284,
    "data.seen_share": 0.68,
    "data.cold_start_share": 0.0,
    "data.clustering": 0.3008,
    "data.clustering_sampled_nodes": 20000.0,
}


def test_each_dataset_table_is_followed_by_its_statistics_from_any_run() -> None:
    runs = [  # newest first, as search_runs returns them
        ("new", {names.TAG_METHOD: "mf", names.TAG_DATASET: "music"}, {"auc_all": 0.7}),
        (
            "mid",
            {names.TAG_METHOD: "skipgram", names.TAG_DATASET: "music"},
            {"auc_all": 0.9, **MUSIC_STATISTICS},
        ),
        (
            "old",
            {names.TAG_METHOD: "word2vec", names.TAG_DATASET: "music"},
            {"auc_all": 0.8, **MUSIC_STATISTICS, "data.products": 1.0},
        ),
        ("bare", {names.TAG_METHOD: "mf", names.TAG_DATASET: "older"}, {"auc_all": 0.6}),
    ]
    board = build_leaderboard("file:///x", runs, rank_by="auc_all")
    music, older = (next(t for t in board.tables if t.dataset == d) for d in ("music", "older"))
    assert music.statistics["products"] == 62306 and older.statistics == {}
    expected = (
        "data: 62,306 products, 92,058 pairs, degree-1 28.4%, seen 68.0%, cold-start 0.0%, "
        "clustering 0.301 (seen, cold-start: of validation positives; clustering on 20,000 "
        "sampled products)"
    )
    text = format_text(board)
    music_block = text[text.index("music:") : text.index("older:")]
    assert expected in music_block.strip().splitlines()[-2:]  # then the note on ties
    assert text.count("data: ") == 1  # the run-less dataset prints no line
    assert expected in format_markdown(board) and f"<p>{expected}</p>" in format_html(board)


def test_statistics_logged_by_runs_reach_the_printed_leaderboard(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiment = client.create_experiment("recsys-music", str(tmp_path / "artifacts"))
    _log_run(client, experiment, "popularity", MUSIC_PATH, {"auc_all": 0.6, "matched_auc_all": 0.5})
    _log_run(
        client,
        experiment,
        "word2vec",
        MUSIC_PATH,
        {"auc_all": 0.9, "matched_auc_all": 0.9, **MUSIC_STATISTICS},
    )
    result = CliRunner().invoke(leaderboard_command, ["--tracking-uri", uri, "--no-log"])
    assert result.exit_code == 0, result.output
    assert "data: 62,306 products, 92,058 pairs, degree-1 28.4%" in result.output


def test_only_runs_on_the_newest_runs_data_are_ranked() -> None:
    def tags(method: str, **data: str) -> dict[str, str]:
        return {names.TAG_METHOD: method, names.TAG_DATASET: "pairs.csv", **data}

    new, old = {names.TAG_DATA_KEY: "k2"}, {names.TAG_DATA_KEY: "k1"}
    runs = [  # newest first
        ("new-pop", tags("popularity", **new), {"matched_auc_all": 0.52}),
        ("new-knn", tags("itemknn", **new), {"matched_auc_all": 0.61}),
        ("old-pop", tags("popularity", **old), {"matched_auc_all": 1.0}),
        ("old-mf", tags("mf", **old), {"matched_auc_all": 0.9}),
    ]
    (table,) = build_leaderboard("file:///x", runs).tables
    assert [r.run_id for r in table.rows] == ["new-knn", "new-pop"]
    assert (table.n_runs, table.other_data_runs) == (2, 2)
    note = "2 older run(s) under this name left out: scored on other data"
    assert note in format_text(build_leaderboard("file:///x", runs))
    # Runs logged before the data key: their input checksums decide; no tag at all: kept.
    legacy = [
        ("a", tags("popularity", **{names.TAG_CHECKSUM: "c2"}), {"matched_auc_all": 0.5}),
        ("b", tags("itemknn", **{names.TAG_CHECKSUM: "c1"}), {"matched_auc_all": 0.6}),
        ("c", tags("mf"), {"matched_auc_all": 0.7}),
    ]
    (table,) = build_leaderboard("file:///x", legacy).tables
    assert sorted(r.run_id for r in table.rows) == ["a", "c"] and table.other_data_runs == 1
    assert "left out" not in format_text(build_leaderboard("file:///x", runs[:2]))


def test_a_changed_file_does_not_mix_into_its_leaderboard(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    pairs = tmp_path / "pairs.csv"
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"

    def write_pairs(n_items: int) -> None:
        a, b = rng.integers(0, n_items, (2, 1500))
        keep = a != b
        pairs.write_text("".join(f"p{x},p{y}\n" for x, y in zip(a[keep], b[keep], strict=True)))

    params = {"dataset": str(pairs), "data_dir": str(tmp_path / "data")}
    write_pairs(300)
    for method in ("popularity", "itemknn"):
        run_method(method, params, tracking_uri=uri, progress=False)
    write_pairs(200)  # the same name, other content
    newest = run_method("popularity", params, tracking_uri=uri, progress=False)
    (table,) = query_leaderboard(MlflowClient(uri)).tables
    assert [r.run_id for r in table.rows] == [newest]
    assert table.other_data_runs == 2 and table.statistics["products"] <= 200


def test_runs_without_the_ranking_metric_are_named_not_taken_for_unknown(
    populated_store: tuple[str, dict[str, str]],
) -> None:
    uri, _ = populated_store
    args = ["--tracking-uri", uri, "--rank-by", "auc_cold_start", "--no-log"]
    one = CliRunner().invoke(leaderboard_command, [*args, "--dataset", "meta_Digital_Music"])
    assert one.exit_code == 1 and "no finished method runs" not in one.output
    assert "1 run(s) of meta_Digital_Music, none logs auc_cold_start (no cold-start slice" in (
        one.output
    )
    every = CliRunner().invoke(leaderboard_command, args)
    assert every.exit_code == 0 and "synthetic-small: best finished run" in every.output
    hidden = [line for line in every.output.splitlines() if line.startswith("not shown: ")]
    assert [line.split(",")[0] for line in hidden] == [
        "not shown: 1 run(s) of electronics",
        "not shown: 1 run(s) of meta_Digital_Music",
    ]


def test_the_ranking_metric_is_always_a_column_and_missing_intervals_are_said() -> None:
    runs = [
        _run("skipgram", {"pr_auc": 0.71, "matched_auc_cold_start": 0.66,
                          "matched_auc_cold_start_ci_low": 0.6,
                          "matched_auc_cold_start_ci_high": 0.72}),
        _run("word2vec", {"pr_auc": 0.70, "matched_auc_cold_start": 0.62,
                          "matched_auc_cold_start_ci_low": 0.56,
                          "matched_auc_cold_start_ci_high": 0.68}),
    ]  # fmt: skip
    text = format_text(build_leaderboard("file:///x", runs, rank_by="pr_auc"))
    header = next(x for x in text.splitlines() if x.startswith("#"))
    cells = header.split()
    assert cells.index("pr_auc") == cells.index("minutes") - 1  # the last metric column
    first = next(x for x in text.splitlines() if x.startswith("1 "))
    assert "0.7100" in first
    assert "pr_auc has no 95% interval: ties cannot be marked" in text
    board = build_leaderboard("file:///x", runs, rank_by="matched_auc_cold_start")
    text = format_text(board)
    assert "matched_auc_cold_start" in next(x for x in text.splitlines() if x.startswith("#"))
    assert "0.6200±0.0600" in text and "tied" in text and "no 95% interval" not in text
    assert "| matched_auc_cold_start |" in format_markdown(board)
    assert "<th>matched_auc_cold_start</th>" in format_html(board)


def test_a_row_away_from_the_defaults_names_its_settings() -> None:
    """A row is its method's best run over any settings: one trained with others says so."""
    study, default, tuned = (
        _run("word2vec", {"matched_auc_all": 0.9}),
        _run("skipgram", {"matched_auc_all": 0.8}),
        _run("mf", {"matched_auc_all": 0.7}),
    )
    study[1][names.TAG_SETTINGS] = "preset=study, epochs=1"
    default[1][names.TAG_SETTINGS] = ""
    tuned[1].update({names.TAG_SETTINGS: "dim=64", names.TAG_TUNED: "true"})
    text = format_text(build_leaderboard("file:///x", [study, default, tuned]))
    lines = {line.split()[1]: line for line in text.splitlines() if line[:1].isdigit()}
    assert "word2vec {preset=study, epochs=1}" in lines["word2vec"]
    assert "{" not in lines["skipgram"] and "{" not in lines["mf"]  # defaults; "tuned" says it
    assert "mf (tuned)" in lines["mf"]
