"""A method's search space as Optuna samples it: declared beside the config, narrowed by
``--space``, minus the settings fixed with ``-P``.

The ranges live on the config fields (``Annotated[float, TuneRange(...)]``,
:func:`recsys.config.search_space`); this module only narrows them and turns each into an
Optuna ``suggest_*`` call. ``--space`` may narrow a range or a set of choices, never widen
it, so a study cannot drift outside what the method's author measured as sensible.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import optuna
from pydantic import BaseModel, TypeAdapter, ValidationError

from recsys.config import Tunable, TuneChoices, TuneRange, search_space
from recsys.tracking.params import ParameterError, split_assignment


@dataclass(frozen=True)
class Dimension:
    """One searched setting: its name, where it is searched, and whether in integers."""

    name: str
    tunable: Tunable
    integer: bool

    def suggest(self, trial: optuna.Trial) -> Any:
        """The trial's value of this setting, sampled by the study's sampler."""
        tunable = self.tunable
        if isinstance(tunable, TuneChoices):
            return trial.suggest_categorical(self.name, list(tunable.choices))
        if self.integer:
            return trial.suggest_int(
                self.name, int(tunable.low), int(tunable.high), log=tunable.log
            )
        return trial.suggest_float(self.name, tunable.low, tunable.high, log=tunable.log)


def parse_space(texts: Iterable[str]) -> dict[str, str]:
    """``["lr=0.005:0.05,dim=64|128"]`` -> ``{"lr": "0.005:0.05", "dim": "64|128"}``.

    Raises:
        ParameterError: an entry without ``=``, or a setting given twice.
    """
    parsed: dict[str, str] = {}
    for text in texts:
        for entry in filter(None, (part.strip() for part in text.split(","))):
            try:
                key, value = split_assignment(entry)
            except ParameterError as error:
                raise ParameterError(
                    f"--space {error}; e.g. 'lr=0.005:0.05,dim=64|128' (quoted: | is a shell pipe)"
                ) from None
            if key in parsed:
                raise ParameterError(f"--space names {key} twice")
            parsed[key] = value.strip()
    return parsed


def _value(adapter: TypeAdapter[Any], name: str, text: str) -> Any:
    try:
        return adapter.validate_strings(text.strip())
    except ValidationError as error:
        reason = error.errors()[0]["msg"]
        raise ParameterError(f"--space {name}: {text!r} is not a valid value ({reason})") from None


def narrow(name: str, declared: Tunable, text: str, adapter: TypeAdapter[Any]) -> Tunable:
    """The declared range or choices of ``name`` narrowed by ``text`` (``LOW:HIGH``, or
    ``A|B`` choices, or one value). Ranges keep the declared scale (log or linear).

    Raises:
        ParameterError: a value of the wrong type, a range or choice outside the declared
            one, or a range asked of a setting searched over choices.
    """
    if ":" in text:
        if isinstance(declared, TuneChoices):
            raise ParameterError(
                f"--space {name}={text}: {name} is searched over the choices {declared}; "
                "give a subset such as " + "|".join(map(str, declared.choices[:2]))
            )
        low_text, _, high_text = text.partition(":")
        low, high = _value(adapter, name, low_text), _value(adapter, name, high_text)
        if not declared.low <= low <= high <= declared.high:
            raise ParameterError(
                f"--space {name}={text}: give LOW <= HIGH inside the declared range {declared}"
            )
        return TuneRange(low, high, declared.log)
    values = tuple(dict.fromkeys(_value(adapter, name, part) for part in text.split("|")))
    for value in values:
        inside = (
            value in declared.choices
            if isinstance(declared, TuneChoices)
            else declared.low <= value <= declared.high
        )
        if not inside:
            raise ParameterError(
                f"--space {name}={text}: {value!r} is outside the declared space {declared}"
            )
    return TuneChoices(values)


def method_space(
    method_name: str,
    config_class: type[BaseModel],
    fixed: Mapping[str, Any],
    narrowing: Mapping[str, str],
) -> list[Dimension]:
    """The dimensions a study of ``method_name`` searches, in the config's field order.

    Args:
        fixed: ``-P`` parameters; a fixed setting is not searched.
        narrowing: from :func:`parse_space`.

    Raises:
        ParameterError: ``--space`` names a setting that is not searched or is also fixed,
            narrows badly, or nothing is left to search.
    """
    declared = search_space(config_class)
    unknown = sorted(set(narrowing) - set(declared))
    if unknown:
        raise ParameterError(
            f"--space {', '.join(unknown)}: not in {method_name}'s search space; it searches "
            f"{', '.join(declared) or 'nothing'} (see `recsys train {method_name} --help-params`)"
        )
    both = sorted(set(narrowing) & set(fixed))
    if both:
        raise ParameterError(f"{', '.join(both)}: given with both -P (fixed) and --space")
    fields = config_class.model_fields
    dimensions = [
        Dimension(
            name,
            narrow(name, tunable, narrowing[name], TypeAdapter(fields[name].annotation or Any))
            if name in narrowing
            else tunable,
            integer=fields[name].annotation is int,
        )
        for name, tunable in declared.items()
        if name not in fixed
    ]
    if not dimensions:
        raise ParameterError(
            f"{method_name} has nothing left to tune"
            + (f" (-P fixes {', '.join(sorted(fixed))})" if declared else " (no settings)")
        )
    return dimensions


def describe(dimensions: Iterable[Dimension]) -> dict[str, str]:
    """``{name: "LOW:HIGH (log)" | "A|B"}``: the space as a study records and prints it."""
    return {d.name: str(d.tunable) for d in dimensions}
