"""`recsys describe` through click's CliRunner, on a small pairs file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from recsys.cli import main


def ring_with_chords(path: Path) -> Path:
    """60 products in a ring plus every 3rd product joined to the one 2 ahead (triangles)."""
    rows = [f"p{i},p{(i + 1) % 60}" for i in range(60)]
    rows += [f"p{i},p{(i + 2) % 60}" for i in range(0, 60, 3)]
    path.write_text("source,target\n" + "\n".join(rows) + "\n")
    return path


def test_describe_prints_a_table_and_json_with_the_same_numbers(tmp_path: Path) -> None:
    source = ring_with_chords(tmp_path / "ring.csv")
    args = ["describe", str(source), "--data-dir", str(tmp_path / "d"), "--seed", "1"]
    table = CliRunner().invoke(main, args)
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0].startswith("ring (") and str(tmp_path / "d" / "prepared") in lines[0]
    assert lines[1].split() == ["products", "60"]
    assert any(line.split()[-1] == "80" and line.startswith("pairs") for line in lines)
    assert any("validation positives seen" in line and line.endswith("%") for line in lines)
    assert lines[-1].startswith("pairs within one top category") and lines[-1].endswith("n/a")

    as_json = CliRunner().invoke(main, [*args, "--json"])
    assert as_json.exit_code == 0, as_json.output
    stats = json.loads(as_json.output)
    assert stats["dataset"] == "ring"
    assert (stats["products"], stats["pairs"]) == (60, 80)
    assert stats["degree_max"] == 3 and stats["degree1_share"] == 0.0
    # 20 triangles (i, i+1, i+2), i = 0, 3, ...: i and i+2 have degree 3 and close 1 of
    # their 3 neighbour pairs, i+1 has degree 2 and closes its one: (1/3 + 1 + 1/3) / 3.
    assert stats["clustering"] == pytest.approx(5 / 9)
    assert stats["clustering_sampled_nodes"] == 0
    assert stats["same_category_share"] is None  # a bare pairs file: no categories


def test_describe_reports_a_bad_file_as_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "one.csv"
    bad.write_text("a\nb\nc\n")
    result = CliRunner().invoke(main, ["describe", str(bad), "--data-dir", str(tmp_path / "d")])
    assert result.exit_code != 0
    assert "Error:" in result.output and "Traceback" not in result.output
