"""Every command that reads a dataset says the same accepted forms in its --help."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from recsys.cli import main as cli
from recsys.config import DATASET_FORMS, DataConfig


def _squeezed(text: str) -> str:
    """Without whitespace: Click rewraps help lines (and may break them at a hyphen)."""
    return "".join(text.split())


@pytest.mark.parametrize(
    "command",
    [["train", "popularity"], ["main"], ["tune", "popularity"], ["prepare"], ["describe"]],
)
def test_every_dataset_help_names_every_accepted_form(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert _squeezed(DATASET_FORMS) in _squeezed(result.output)
    for form in ("synthetic-like:FILE[:SCALE]", ":SCALE", "pairs file", "amazon-meta.txt"):
        assert form in DATASET_FORMS


def test_the_dataset_parameter_describes_the_same_forms() -> None:
    assert DataConfig.model_fields["dataset"].description == DATASET_FORMS


@pytest.mark.parametrize(
    "command",
    [["train", "popularity"], ["main"], ["tune", "popularity"], ["prepare"], ["describe"]],
)
def test_every_command_that_shows_progress_takes_the_same_quiet_flags(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert "-q, --quiet, --no-progress" in result.output


@pytest.mark.parametrize("command", [["train", "popularity"], ["main"]])
def test_training_commands_take_products_as_prepare_does(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert "--products FILE" in result.output
    assert _squeezed("(the same as -P products=FILE)") in _squeezed(result.output)
    both = ["--products", "a.csv", "-P", "products=b.csv"]
    result = CliRunner().invoke(cli, [*command, *both])
    assert result.exit_code != 0 and "products=... is given twice" in result.output


def test_the_dataset_help_says_scale_is_absolute_as_it_is() -> None:
    from recsys.data.synthetic.presets import PRESETS, resolve_sizes

    assert "synthetic-small is 0.01 of Electronics, so synthetic-small:0.5 is 50" in DATASET_FORMS
    small = PRESETS["small"]
    _, default = resolve_sizes(small, None)
    _, half = resolve_sizes(small, 0.5)
    assert half.n_products == pytest.approx(50 * default.n_products, rel=0.01)
