"""docs/results.md, rendered from benchmark JSON: small hand-made results, and the committed page.

The renderer and the provenance helper are scripts in benchmarks/ (run as
``python benchmarks/render_results.py``), imported here from that folder.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from recsys.evaluation.intervals import AUC_INTERVALS

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
PROVENANCE = {
    "date": "2026-12-02T11:00:59Z",
    "machine": {"cpu": "Test CPU", "cores": 2, "usable_cores": 2, "gpus": [], "host": "h"},
    "argv": [str(BENCHMARKS / "bench_formats.py"), "--repeat", "1", "--json", "out.json"],
    "git_commit": "abc1234",
    "git_dirty": False,
}


@pytest.fixture
def benchmarks(monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, ModuleType]:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module("results"), importlib.import_module("render_results")


def write(folder: Path, name: str, document: dict[str, Any]) -> None:
    (folder / f"{name}.json").write_text(json.dumps(document))


def test_write_result_adds_provenance(
    benchmarks: tuple[ModuleType, ModuleType], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results, _ = benchmarks
    monkeypatch.setattr("sys.argv", ["benchmarks/bench_x.py", "--json", "x.json"])
    results.write_result(tmp_path / "sub" / "x.json", {"results": [1, 2]})
    document = json.loads((tmp_path / "sub" / "x.json").read_text())
    provenance = document["provenance"]
    assert document["results"] == [1, 2]
    assert provenance["argv"] == ["benchmarks/bench_x.py", "--json", "x.json"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", provenance["date"])
    assert provenance["machine"]["cores"] >= 1
    assert provenance["git_commit"] is None or re.fullmatch(
        r"[0-9a-f]{4,}", provenance["git_commit"]
    )
    assert provenance["auc_intervals"] == AUC_INTERVALS
    with pytest.raises(ValueError, match="provenance"):
        results.write_result(tmp_path / "y.json", {"provenance": {}})


def test_row_log_keeps_measured_rows_so_a_stopped_run_resumes(
    benchmarks: tuple[ModuleType, ModuleType], tmp_path: Path
) -> None:
    results, _ = benchmarks
    path = tmp_path / "rows.jsonl"
    log = results.RowLog(path, key=("dataset", "method"))
    assert log.get(dataset="a", method="m") is None
    first = log.add({"dataset": "a", "method": "m", "auc": 0.9})
    log.add({"dataset": "a", "method": "n", "auc": 0.8, "git_commit": "old0001"})
    assert first["git_commit"] == results.git_commit()[0]

    resumed = results.RowLog(path, key=("dataset", "method"))  # a new process, same file

    assert resumed.get(dataset="a", method="m") == first
    assert resumed.get(dataset="a", method="n")["git_commit"] == "old0001"
    assert resumed.get(dataset="b", method="m") is None
    assert len(path.read_text().splitlines()) == 2
    assert results.RowLog(None, key=("dataset",)).add({"dataset": "x"})["dataset"] == "x"


def test_renders_tables_with_provenance_and_missing_results(
    benchmarks: tuple[ModuleType, ModuleType], tmp_path: Path
) -> None:
    _, render = benchmarks
    formats = [
        {"reader": "pairs file (CSV)", "input": "4 rows", "units": 4, "unit": "pairs",
         "seconds": 2.0, "result": "4 pairs", "per_second": 2.0},
    ]  # fmt: skip
    write(tmp_path, "bench_formats", {"provenance": PROVENANCE, "results": formats})
    skipgram = [
        {"trainer": "gensim Word2Vec sg=1", "window": "reduced", "pairs": 4e6, "seconds": 4.0,
         "pairs_per_second": 1e6},
        {"trainer": "ours (sgd)", "window": "reduced", "pairs": 4e6, "seconds": 2.0,
         "pairs_per_second": 2e6},
    ]  # fmt: skip
    write(tmp_path, "bench_skipgram", {"source": "toy walks", "results": skipgram})
    defaults = [
        {"dataset": "a", "variant": "m1", "auc_all": 0.9, "auc_seen": 0.8,
         "matched_auc_all": 0.7, "matched_auc_seen": 0.6, "minutes": 1.0},
        {"dataset": "a", "variant": "m2", "auc_all": 0.95, "auc_seen": 0.7,
         "matched_auc_all": 0.7, "matched_auc_seen": 0.5, "minutes": 2.0,
         "auc_cold_start": 0.91, "recall_at_10": 0.25, "pairs_per_second": 1.5e6},
    ]  # fmt: skip
    write(tmp_path, "bench_defaults", {"provenance": PROVENANCE, "results": defaults})

    page = render.render_page(tmp_path)

    assert "## Which method is best, per dataset and protocol" in page
    assert "| a | m1 | 0.9000 | **0.8000** | **0.7000** | **0.6000** | - | - | 1.00 | - |" in page
    assert (
        "| a | m2 | **0.9500** | 0.7000 | **0.7000** | 0.5000 | 0.9100 | 0.2500 | 2.00 "
        "| 1,500,000 |" in page
    )
    assert "Measured 2026-12-02 11:00 UTC on Test CPU, 2 cores, no GPU; commit abc1234:" in page
    assert "    python benchmarks/bench_formats.py --repeat 1 --json out.json" in page
    assert "| pairs file (CSV) | 4 rows | 2.00 s | 2 pairs/s | 4 pairs |" in page
    # no provenance in the file: said, not invented; ours over gensim's pairs/s
    assert "Date, machine and command not recorded; this records them:" in page
    assert "    python benchmarks/bench_skipgram.py --json docs/results/bench_skipgram.json" in page
    assert "| ours (sgd) | reduced | 4.0M | 2.0 | 2.000M | 2.00x |" in page
    assert (
        "**Serving under load**: not yet measured: run "
        "`python benchmarks/bench_serving.py --json docs/results/bench_serving.json`."
    ) in page
    assert "**Ranking over the whole catalog**: not yet measured" in page


def test_tuning_table_calls_overlapping_intervals_a_tie(
    benchmarks: tuple[ModuleType, ModuleType], tmp_path: Path
) -> None:
    _, render = benchmarks

    def scores(auc_seen: float, half: float, minutes: float) -> dict[str, Any]:
        return {"auc_all": 0.9, "auc_all_half_interval": 0.01, "auc_seen": auc_seen,
                "auc_seen_half_interval": half, "recall_at_10": None,
                "recall_at_10_half_interval": None, "minutes": minutes}  # fmt: skip

    rows = [
        {"dataset": "a", "method": "m1", "trials": 8, "default": scores(0.80, 0.01, 1.0),
         "tuned": scores(0.85, 0.01, 9.0)},
        {"dataset": "a", "method": "m2", "trials": 8, "default": scores(0.80, 0.03, 1.0),
         "tuned": scores(0.83, 0.03, 9.0)},
    ]  # fmt: skip
    workers = {"method": "m1", "dataset": "a", "storage": "postgresql", "runs": [
        {"workers": 1, "trials": 8, "minutes": 4.0, "trials_per_minute": 2.0},
        {"workers": 2, "trials": 8, "minutes": 2.5, "trials_per_minute": 3.2},
    ]}  # fmt: skip
    document = {"provenance": PROVENANCE, "metrics": ["auc_all", "auc_seen", "recall_at_10"],
                "results": rows, "workers": workers}  # fmt: skip
    write(tmp_path, "bench_tuning", document)

    page = render.render_page(tmp_path)

    assert (
        "| a | m1 | 8 | 0.9000±0.0100 | 0.8000±0.0100 | - | 1.0 "
        "| 0.9000±0.0100 | 0.8500±0.0100 | - | 9.0 | tuned better |"
    ) in page
    assert page.count("| tied |") == 1  # m2: 0.80±0.03 and 0.83±0.03 overlap
    assert "2 worker(s) 8 trials in 2.5 min (3.20 trials/min)" in page
    assert "m1 on a, one study in postgresql:" in page
    # Judged by the objective the trials maximised, when the result names it.
    for row, matched in zip(rows, (0.90, 0.95), strict=True):
        for side, shift in (("default", 0.0), ("tuned", -0.05)):
            row[side] |= {"matched_auc_all": matched + shift, "matched_auc_all_half_interval": 0.01}
    document |= {"metrics": ["auc_all", "auc_seen", "matched_auc_all", "recall_at_10"],
                 "objective": "matched_auc_all"}  # fmt: skip
    write(tmp_path, "bench_tuning", document)
    page = render.render_page(tmp_path)
    assert "trials maximise `matched_auc_all`" in page
    assert page.count("| default better |") == 2 and "| tuned better |" not in page
    # Rows a resumed run kept name the commit that measured them.
    rows[0]["git_commit"], rows[1]["git_commit"] = "old0001", "abc1234"
    write(tmp_path, "bench_tuning", document)
    page = render.render_page(tmp_path)
    assert "| matched all | measured at |" in page
    assert "| default better | old0001 |" in page and "| default better | abc1234 |" in page
    # Intervals measured before they counted pairs sharing a product say so.
    assert "read its ties as too few" in page
    document["provenance"] = {**PROVENANCE, "auc_intervals": AUC_INTERVALS}
    write(tmp_path, "bench_tuning", document)
    assert "read its ties as too few" not in render.render_page(tmp_path)


def test_twin_rows_kept_from_an_earlier_run_name_their_commit(
    benchmarks: tuple[ModuleType, ModuleType], tmp_path: Path
) -> None:
    _, render = benchmarks
    statistics = {"products": 10.0, "seen_share": 0.5}

    def sample(name: str, commit: str) -> dict[str, Any]:
        return {"sample": name, "real": statistics, "twin": statistics,
                "relative_error": {"seen_share": 0.0}, "within_tolerance": True,
                "fit_seconds": 3.0, "git_commit": commit}  # fmt: skip

    generation = {"dataset": "synthetic-books", "products": 10, "pairs": 20, "seconds": 5.0,
                  "peak_rss_mb": 100, "file_mb": 1.0, "git_commit": "old0001"}  # fmt: skip
    document = {"provenance": PROVENANCE, "tolerance": 0.2, "matched": ["seen_share"],
                "samples": [sample("A", "old0001"), sample("B", "abc1234")], "presets": [],
                "generation": [generation]}  # fmt: skip
    write(tmp_path, "bench_twins", document)

    page = render.render_page(tmp_path)

    assert "| A | +0.0% | yes | 3 s | - | old0001 |" in page
    assert "| B | +0.0% | yes | 3 s | - | abc1234 |" in page
    assert "| synthetic-books | 10 | 20 | 5 | 100 MB | 1 MB | old0001 |" in page


def test_check_says_when_the_page_is_out_of_date(
    benchmarks: tuple[ModuleType, ModuleType], tmp_path: Path
) -> None:
    _, render = benchmarks
    results_dir, page = tmp_path / "results", tmp_path / "results.md"
    results_dir.mkdir()
    options = ["--results-dir", str(results_dir), "--output", str(page)]
    assert render.main([*options, "--check"]) == 1  # no page yet
    assert render.main(options) == 0
    assert render.main([*options, "--check"]) == 0
    ranking = {"items": 1000, "dim": 8, "queries": 10, "held_out_per_query": 6.0,
               "scoring": "center_context", "seconds_first": 2.0, "seconds": 1.0,
               "peak_rss_mb": 100, "recall_at_10": 0.0}  # fmt: skip
    write(results_dir, "bench_ranking", {"provenance": PROVENANCE, **ranking})
    assert render.main([*options, "--check"]) == 1
    assert render.main(options) == 0
    assert "A small setting (1,000 products)" in page.read_text()


def test_committed_page_matches_committed_results(
    benchmarks: tuple[ModuleType, ModuleType],
) -> None:
    _, render = benchmarks
    assert render.main(["--check"]) == 0, "run: python benchmarks/render_results.py"
