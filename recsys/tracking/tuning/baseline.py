"""The default settings as a study's first trial, and the ranking floor they set.

Tuned for degree-matched AUC alone, the walk methods bought a tie or +0.005 of it and lost
most of their ranking (Digital Music: word2vec's recall@10 0.333 -> 0.051, skipgram's
0.237 -> 0.162; docs/tuning.md). So a study's first trial trains the method's default
settings (Optuna's ``enqueue_trial``), every complete trial records its recall@10 on the
inner split, and with the floor on (the default) a trial qualifies only when its recall@10
is at least the default trial's. The best trial is the best objective among those that
qualify, and a constraint on each trial (``Trial.set_constraint``) steers TPE toward them.
The default trial always qualifies, so a sweep never picks settings that score below the
defaults on the inner split.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from recsys.config import TuneChoices
from recsys.tracking.run import validate_params
from recsys.tracking.tuning.space import Dimension

BASELINE_ATTR = "baseline"  # user attribute of the enqueued default trial
RECALL_ATTR = "recall_at_10"  # user attribute: the trial's recall@10 on the inner split
FLOOR_ATTR = "ranking_floor"  # study user attribute (part of the study's identity)
FLOOR_CONSTRAINT = "recall_at_10_floor"  # the trial's constraint for TPE


def default_params(
    method: str, fixed: Mapping[str, Any], space: Sequence[Dimension]
) -> dict[str, Any]:
    """The searched settings' values when only the fixed ``-P`` settings are given (a
    preset among them applied), for those inside the (possibly narrowed) space; a
    setting whose default lies outside is left for the sampler to draw."""
    _, _, config = validate_params(method, dict(fixed))
    params: dict[str, Any] = {}
    for dimension in space:
        value = getattr(config, dimension.name)
        tunable = dimension.tunable
        inside = (
            value in tunable.choices
            if isinstance(tunable, TuneChoices)
            else tunable.low <= value <= tunable.high
        )
        if inside:
            params[dimension.name] = value
    return params


def enqueue_defaults(study: optuna.Study, params: Mapping[str, Any]) -> None:
    """Queue the default settings as the study's next trial, marked as its baseline."""
    study.enqueue_trial(dict(params), user_attrs={BASELINE_ATTR: True})


def _recall(trial: FrozenTrial) -> float | None:
    value = trial.user_attrs.get(RECALL_ATTR)
    return float(value) if value is not None and math.isfinite(value) else None


def _default_of(trials: Sequence[FrozenTrial]) -> FrozenTrial | None:
    """The complete default trial among ``trials``, None while it has not completed."""
    for trial in trials:
        if trial.user_attrs.get(BASELINE_ATTR) and trial.state == TrialState.COMPLETE:
            return trial
    return None


def baseline_recall(trials: Sequence[FrozenTrial]) -> float | None:
    """recall@10 of the complete default trial, None while it has not completed."""
    default = _default_of(trials)
    return None if default is None else _recall(default)


def record_recall(trial: optuna.Trial, recall: float, floor_on: bool) -> None:
    """Keep the trial's recall@10 and, with the floor on, its constraint for TPE
    (``baseline recall@10 - the trial's``, feasible at or below 0; Optuna's
    ``Trial.set_constraint``). A trial that ends before the default trial has none."""
    trial.set_user_attr(RECALL_ATTR, recall)
    if not floor_on:
        return
    if trial.user_attrs.get(BASELINE_ATTR):
        trial.set_constraint(FLOOR_CONSTRAINT, 0.0)
        return
    baseline = baseline_recall(trial.study.get_trials(deepcopy=False))
    if baseline is not None:
        trial.set_constraint(FLOOR_CONSTRAINT, baseline - recall)


def ranking_floor(study: optuna.Study, trials: Sequence[FrozenTrial] | None = None) -> float | None:
    """The recall@10 the best must reach: the complete default trial's (among ``trials``,
    default the study's), with the floor on; None when it is off or that trial has not
    completed."""
    if not study.user_attrs.get(FLOOR_ATTR):
        return None
    return baseline_recall(study.get_trials(deepcopy=False) if trials is None else trials)


def qualifying_trials(study: optuna.Study) -> list[FrozenTrial]:
    """The complete trials the best is chosen from: with the floor on and the default
    trial complete, those whose recall@10 is at least the default's; otherwise all."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    floor = ranking_floor(study, complete)
    if floor is None:
        return complete
    return [t for t in complete if (recall := _recall(t)) is not None and recall >= floor]


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    """The qualifying trial of the highest objective, None when no trial completed."""
    candidates = qualifying_trials(study)
    if not candidates:
        return None
    return max(candidates, key=lambda t: (float(t.value or -math.inf), -t.number))


def default_trial(study: optuna.Study) -> FrozenTrial | None:
    """The complete default trial (the floor's baseline), None without one."""
    return _default_of(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
