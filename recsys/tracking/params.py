"""Flat parameters <-> nested pydantic configs, validated before any work starts.

CLI ``-P key=value`` options and MLproject parameters are flat strings; the configs are
pydantic models that may nest (``DataConfig.weights`` is a ``RelationWeights``). A nested
model's fields are addressed by their own names (``also_viewed=0.5``), so every leaf of a
schema must have a unique name; :func:`flat_fields` checks that.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin

from pydantic import BaseModel, ValidationError

from recsys.config import DataConfig, TrainerConfig

M = TypeVar("M", bound=BaseModel)


def param_text(value: Any) -> str:
    """A setting as an MLflow param: an unset one (None) is "", as `mlflow run` logs the
    MLproject's empty default, so runs launched either way compare equal in the UI."""
    return "" if value is None else str(value)


class ParameterError(ValueError):
    """A parameter is unknown or invalid; the message names it and what is allowed."""


def split_assignment(text: str) -> tuple[str, str]:
    """``"dim=64"`` -> ``("dim", "64")``: the one reading of a flat ``key=value`` parameter
    (CLI ``-P``, the main job's ``-P``, MLproject entry scripts).

    Raises:
        ParameterError: no ``=``, or nothing before it.
    """
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ParameterError(f"{text!r} is not key=value (e.g. dim=64)")
    return key.strip(), value


def refuse_repeats(keys: Iterable[str], how: str = "-P {key}=...") -> None:
    """A key given twice is an error, not "the last one wins": with long command lines the
    earlier value is as likely the intended one.

    Raises:
        ParameterError: the first repeated key, written as ``how`` shows it.
    """
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise ParameterError(f"{how.format(key=key)} is given twice; give it once")
        seen.add(key)


@dataclass(frozen=True)
class FlatField:
    """One leaf parameter of a config schema."""

    name: str
    path: tuple[str, ...]  # field names from the root model down to this leaf
    annotation: str  # the type as written, e.g. "int" or "Literal['cpu', 'cuda']"
    default: Any
    description: str
    required: bool
    choices: tuple[Any, ...] = ()  # the allowed values of a Literal parameter


def _literal_choices(annotation: Any) -> tuple[Any, ...]:
    return get_args(annotation) if get_origin(annotation) is Literal else ()


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _walk(model: type[BaseModel], prefix: tuple[str, ...]) -> Iterator[FlatField]:
    for name, info in model.model_fields.items():
        if _is_model(info.annotation):
            yield from _walk(info.annotation, (*prefix, name))  # type: ignore[arg-type]
            continue
        required = info.is_required()
        default = None if required else info.get_default(call_default_factory=True)
        annotation = getattr(info.annotation, "__name__", None) or str(info.annotation)
        if str(info.annotation).startswith("typing.Literal"):
            annotation = str(info.annotation).removeprefix("typing.")
        yield FlatField(
            name=name,
            path=(*prefix, name),
            annotation=annotation,
            default=default,
            description=info.description or "",
            required=required,
            choices=_literal_choices(info.annotation),
        )


def flat_fields(model: type[BaseModel]) -> dict[str, FlatField]:
    """Every leaf parameter of ``model`` by its flat name.

    Raises:
        ValueError: two leaves share a name, so flat parameters would be ambiguous.
    """
    fields: dict[str, FlatField] = {}
    for flat in _walk(model, ()):
        if flat.name in fields:
            raise ValueError(
                f"{model.__name__}: parameter {flat.name!r} appears at both "
                f"{'.'.join(fields[flat.name].path)} and {'.'.join(flat.path)}"
            )
        fields[flat.name] = flat
    return fields


def _coerce_choice(value: Any, field: FlatField) -> Any:
    """Text "1" -> 1 for ``Literal[0, 1]``: pydantic matches Literal members by type, and
    CLI / MLproject values arrive as text."""
    if isinstance(value, str) and field.choices:
        for choice in field.choices:
            if not isinstance(choice, str) and str(choice) == value.strip():
                return choice
    return value


def _nest(values: Mapping[str, Any], fields: Mapping[str, FlatField]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in values.items():
        value = _coerce_choice(value, fields[key])
        node = nested
        *parents, leaf = fields[key].path
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    return nested


def build_config(model: type[M], values: Mapping[str, Any], owner: str) -> M:
    """Validate flat ``values`` into ``model``; errors name the parameter and its value."""
    fields = flat_fields(model)
    try:
        return model.model_validate(_nest(values, fields))
    except ValidationError as err:
        problems = []
        for error in err.errors():
            leaf = str(error["loc"][-1]) if error["loc"] else "?"
            shown = f"{leaf}={values[leaf]!r}" if leaf in values else leaf
            problems.append(f"{shown}: {error['msg']}")
        raise ParameterError(f"invalid parameter for {owner}: " + "; ".join(problems)) from None


def split_params(
    params: Mapping[str, Any], method_config: type[BaseModel], method_name: str
) -> tuple[DataConfig, BaseModel]:
    """Validate flat params into (DataConfig, the method's config), unknown keys rejected.

    A key is routed to the schema that declares it (to both if both do).

    Raises:
        ParameterError: a key no schema declares, or a value a schema rejects.
    """
    data_fields = flat_fields(DataConfig)
    method_fields = flat_fields(method_config)
    unknown = sorted(set(params) - set(data_fields) - set(method_fields))
    if unknown:
        known = ", ".join(sorted({*data_fields, *method_fields}))
        raise ParameterError(
            f"unknown parameter {', '.join(map(repr, unknown))} for method {method_name!r}; "
            f"known parameters: {known} (see `recsys train {method_name} --help-params`)"
        )
    data_config = build_config(
        DataConfig, {k: v for k, v in params.items() if k in data_fields}, "the dataset"
    )
    config = build_config(
        method_config,
        {k: v for k, v in params.items() if k in method_fields},
        f"method {method_name!r}",
    )
    return data_config, config


def flatten_config(config: BaseModel) -> dict[str, Any]:
    """The leaf values of a validated config by flat name (what gets logged as params),
    but the settings it does not use (:meth:`TrainerConfig.unused_settings`)."""
    dumped = config.model_dump(mode="json")
    unused = config.unused_settings() if isinstance(config, TrainerConfig) else frozenset()
    flat: dict[str, Any] = {}
    for name, info in flat_fields(type(config)).items():
        if name in unused:
            continue
        node: Any = dumped
        for part in info.path:
            node = node[part]
        flat[name] = node
    return flat


def describe_params(model: type[BaseModel]) -> list[tuple[str, str, str, str]]:
    """(name, type, default, description) for every flat parameter, for --help output."""
    rows = []
    for flat in flat_fields(model).values():
        if flat.required:
            default = "(required)"
        elif isinstance(flat.default, Path):
            default = repr(str(flat.default))
        else:
            default = repr(flat.default)
        rows.append((flat.name, flat.annotation, default, flat.description))
    return rows
