"""`recsys prepare` through click's CliRunner."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from recsys.cli import main
from tests.data.helpers import python_lines, records_2014, write_lines


def test_prepare_prints_what_it_read_and_where_it_is(tmp_path: Path) -> None:
    lines = python_lines(records_2014())
    lines.insert(2, "{'asin': 'X',")  # line 3
    source = write_lines(tmp_path / "meta_Tiny.json.gz", lines)
    args = ["prepare", str(source), "--data-dir", str(tmp_path / "d"), "--no-study-filters"]
    result = CliRunner().invoke(main, [*args, "--validation-fraction", "0.4", "--seed", "3"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "4 read, 4 kept (no filters)" in out
    assert "products   5 in pairs" in out
    assert "5 unique undirected: also_bought 3, also_viewed 3, bought_together 1" in out
    assert "buy_after_viewing 1" in out
    assert "train      3 pairs" in out
    assert (
        "validation 2 positives + 2 negatives per protocol (study, matched; fraction 0.4, seed 3)"
        in out
    )
    assert "1 malformed lines (first: 3)" in out
    assert str(tmp_path / "d" / "prepared" / "meta_Tiny-") in out
    again = CliRunner().invoke(main, [*args, "--validation-fraction", "0.4", "--seed", "3", "-q"])
    assert again.exit_code == 0
    assert again.output.strip().startswith(str(tmp_path / "d" / "prepared" / "meta_Tiny-"))
    assert "\n" not in again.output.strip()


def test_invalid_options_name_the_parameter(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["prepare", "x.json", "--validation-fraction", "1.5"])
    assert result.exit_code == 2 and "--validation-fraction" in result.output
    result = runner.invoke(main, ["prepare", "x.json", "--seed", "-1"])
    assert result.exit_code == 2 and "--seed" in result.output
    result = runner.invoke(main, ["prepare", "x.json", "--seed", "many"])
    assert result.exit_code == 2 and "--seed" in result.output


def test_data_errors_are_short_messages_not_tracebacks(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json.gz"
    result = CliRunner().invoke(main, ["prepare", str(missing), "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "neither a dataset name" in result.output and "Traceback" not in result.output
    empty = tmp_path / "empty.json"
    empty.touch()
    result = CliRunner().invoke(main, ["prepare", str(empty), "--data-dir", str(tmp_path)])
    assert result.exit_code == 1 and "empty (0 bytes)" in result.output


def test_help_lists_the_dataset_names() -> None:
    result = CliRunner().invoke(main, ["prepare", "--help"])
    assert result.exit_code == 0
    for text in ("synthetic-small", "electronics", "--no-study-filters", "--validation-fraction"):
        assert text in result.output
