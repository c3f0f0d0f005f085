"""Search spaces: declared beside each config's fields, valid for the config, narrowed (never
widened) by --space, listed by --help-params; tuned runs beside default ones on the
leaderboard."""

from __future__ import annotations

import re

import optuna
import pytest
from click.testing import CliRunner

from recsys.cli import main as cli
from recsys.config import TuneChoices, TuneRange, search_space
from recsys.methods import BASELINE_METHODS, get_method, method_names
from recsys.tracking import names
from recsys.tracking.leaderboard.rows import build_leaderboard
from recsys.tracking.params import ParameterError, build_config
from recsys.tracking.tuning.baseline import default_params
from recsys.tracking.tuning.space import Dimension, method_space, parse_space


@pytest.mark.parametrize("method", method_names())
def test_every_declared_space_is_valid_for_its_config_and_holds_the_default(method: str) -> None:
    config_class = get_method(method).config_class
    space = search_space(config_class)
    if method not in ("adamic_adar",):
        assert space, f"{method} declares nothing to tune"
    if method not in BASELINE_METHODS:
        assert {"dim", "epochs"} <= set(space), "learned methods tune dim and epochs"
    for name, tunable in space.items():
        values = (
            tunable.choices if isinstance(tunable, TuneChoices) else (tunable.low, tunable.high)
        )
        for value in values:  # each end of the range is a valid setting of the config
            build_config(config_class, {name: value}, method)
        default = config_class.model_fields[name].default
        if isinstance(tunable, TuneChoices):
            assert default in tunable.choices, (name, default)
        else:
            assert tunable.low <= default <= tunable.high, (name, default)
            assert not tunable.log or tunable.low > 0


def test_space_text_is_parsed_and_narrows_the_declared_space() -> None:
    narrowing = parse_space(["lr=0.005:0.05,dim=64|128", "negatives=3"])
    assert narrowing == {"lr": "0.005:0.05", "dim": "64|128", "negatives": "3"}
    config_class = get_method("skipgram").config_class
    dimensions = {
        d.name: d for d in method_space("skipgram", config_class, {"epochs": "2"}, narrowing)
    }
    assert "epochs" not in dimensions  # fixed with -P: not searched
    assert dimensions["lr"].tunable == TuneRange(0.005, 0.05, log=True)  # keeps the log scale
    assert dimensions["dim"].tunable == TuneChoices((64, 128))
    assert dimensions["negatives"].tunable == TuneChoices((3,))
    assert dimensions["walks_per_node"].integer and not dimensions["lr"].integer


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lr=0.001:0.05", "inside the declared range 0.005:0.2 (log)"),  # wider: refused
        ("lr=0.05:0.01", "LOW <= HIGH"),
        ("dim=48", "outside the declared space 32|64|128|256"),
        ("dim=32:64", "searched over the choices"),
        ("walk_length=7.5", "not a valid value"),
        ("optimizer=adam", "not in skipgram's search space"),
        ("lr", "is not key=value"),
    ],
)
def test_bad_space_text_is_refused_naming_the_setting(text: str, message: str) -> None:
    config_class = get_method("skipgram").config_class
    with pytest.raises(ParameterError, match=re.escape(message)):
        method_space("skipgram", config_class, {}, parse_space([text]))


def test_dimensions_draw_inside_their_ranges_with_optuna() -> None:
    dimensions = [
        Dimension("lr", TuneRange(0.005, 0.05, log=True), integer=False),
        Dimension("window", TuneRange(2, 4), integer=True),
        Dimension("dim", TuneChoices((64, 128)), integer=True),
    ]
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        trial = study.ask()
        values = {d.name: d.suggest(trial) for d in dimensions}
        assert 0.005 <= values["lr"] <= 0.05
        assert values["window"] in (2, 3, 4) and isinstance(values["window"], int)
        assert values["dim"] in (64, 128)
        study.tell(trial, 0.0)


def test_help_params_lists_the_search_space() -> None:
    result = CliRunner().invoke(cli, ["train", "skipgram", "--help-params"])
    assert result.exit_code == 0
    assert "search space of `recsys tune skipgram`" in result.output
    assert "  lr: 0.005:0.2 (log)" in result.output
    assert "  dim: 32|64|128|256" in result.output
    nothing = CliRunner().invoke(cli, ["train", "adamic_adar", "--help-params"])
    assert "(nothing to tune)" in nothing.output


def test_tuned_and_default_runs_are_separate_rows_side_by_side() -> None:
    def run(run_id: str, auc: float, **tags: str) -> tuple[str, dict[str, str], dict[str, float]]:
        base = {names.TAG_METHOD: "skipgram", names.TAG_DATASET: "d"}
        return (
            run_id,
            {**base, **tags},
            {names.METRIC_AUC_ALL: auc, names.METRIC_MATCHED_AUC_ALL: auc},
        )

    board = build_leaderboard(
        "sqlite:///x.db",
        [
            run("default", 0.80),
            run("tuned", 0.85, **{names.TAG_TUNED: "true"}),
            run("tuned-worse", 0.82, **{names.TAG_TUNED: "true"}),
            run("trial", 0.99, **{names.TAG_KIND: names.KIND_TUNE_TRIAL}),  # inner split
        ],
    )
    (table,) = board.tables
    assert [(r.label, r.run_id) for r in table.rows] == [
        ("skipgram (tuned)", "tuned"),
        ("skipgram", "default"),
    ]


def test_mlproject_tune_script_maps_parameters_to_cli_options() -> None:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "experiments" / "tune.py"
    spec = importlib.util.spec_from_file_location("experiments_tune", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    argv = ["method=mf", "dataset=d", "trials=5", "study=", "space=lr=0.01:0.1,dim=64|128"]
    argv += ["final=false", "ranking_floor=true", "--epochs", "2"]
    assert module.to_cli_arguments(argv) == [
        "mf",
        "--dataset",
        "d",
        "--trials",
        "5",
        "--space",
        "lr=0.01:0.1,dim=64|128",
        "--no-final",
        "--ranking-floor",
        "-P",
        "epochs=2",
    ]
    assert module.to_cli_arguments(["method=mf", "ranking_floor=false"]) == [
        "mf",
        "--no-ranking-floor",
    ]


def test_the_default_trial_takes_presets_and_leaves_out_defaults_outside_the_space() -> None:
    method = get_method("side_info")
    space = method_space("side_info", method.config_class, {}, {})
    defaults = default_params("side_info", {}, space)
    config = method.config_class()
    assert defaults == {d.name: getattr(config, d.name) for d in space}
    assert defaults["walk_length"] == 40
    # preset=study sets walks of 10; a space narrowed past the default leaves lr to TPE.
    fixed = {"preset": "study"}
    narrowed = method_space("side_info", method.config_class, fixed, {"lr": "0.05:0.2"})
    studied = default_params("side_info", fixed, narrowed)
    assert studied["walk_length"] == 10 and "lr" not in studied
