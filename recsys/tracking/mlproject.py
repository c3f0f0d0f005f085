"""The MLproject's method entry points, generated from the pydantic schemas.

Each method's entry point declares every parameter of DataConfig and of the method's
config, typed (int, float, string) with the schema's default, so ``mlflow run`` shows the
study's settings and the file cannot drift from the code: ``tests/test_mlproject.py``
compares them, and ``python -m recsys.tracking.mlproject`` rewrites the generated block
of ``MLproject`` (between the BEGIN/END markers; hand-written jobs outside it are kept).

Values reach ``experiments/train.py`` as ``key=value``; undeclared ``-P`` options arrive as
``--key value`` (MLflow appends them), so every entry point also accepts any parameter
its schema knows. An empty value means "the schema's default" (``data_dir=""`` defers to
``$RECSYS_DATA_DIR`` or ./data).

The settings a named preset fills in (``-P preset=study``: optimizer, learning rate...) are
the exception: they are not declared, since MLflow passes and logs every declared default
explicitly and an explicit value wins over the preset. Given with ``-P`` they arrive as
undeclared options; left out, the preset or the schema's default applies and the run's
params show the value used.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from recsys.config import DataConfig
from recsys.methods import METHOD_MODULES, get_method, method_names
from recsys.tracking.params import FlatField, flat_fields, refuse_repeats, split_assignment

BEGIN_MARKER = "  # BEGIN generated method entry points (python -m recsys.tracking.mlproject)"
END_MARKER = "  # END generated method entry points"
PREPARE_ENTRY_POINT = "prepare"
EMPTY_DEFAULT_FIELDS = ("data_dir",)  # machine-specific: "" defers to the schema's default


def entry_arguments(argv: list[str]) -> list[tuple[str, str]]:
    """An entry script's ``key=value`` and ``--key value`` tokens as ``(key, value)`` pairs.

    Raises:
        ValueError: a ``--key`` without a value, a token of neither form, or a key given
            twice (:class:`ParameterError`).
    """
    pairs: list[tuple[str, str]] = []
    index = 0
    while index < len(argv):
        token = argv[index]
        if token.startswith("--") and "=" not in token:
            if index + 1 >= len(argv):
                raise ValueError(f"parameter {token} has no value")
            pairs.append((token[2:], argv[index + 1]))
            index += 2
        elif "=" in token:
            pairs.append(split_assignment(token.lstrip("-")))
            index += 1
        else:
            raise ValueError(f"expected key=value or --key value, got {token!r}")
    refuse_repeats((key for key, _ in pairs), how="-P {key}=...")
    return pairs


def mlproject_type(field: FlatField) -> str:
    """The MLproject type of a parameter: int, float or string (documentation for users;
    MLflow passes every value through as text and pydantic validates it)."""
    if field.choices and all(isinstance(c, int) for c in field.choices):
        return "int"
    if field.annotation in ("int", "float"):
        return field.annotation
    return "string"


def mlproject_default(field: FlatField) -> Any:
    """The default as MLproject holds it: "" for machine-specific paths, else the schema's."""
    if field.name in EMPTY_DEFAULT_FIELDS or field.default is None:
        return ""
    if isinstance(field.default, Path):
        return str(field.default)
    return field.default


def choices_of(field: FlatField) -> str:
    """ "a | b" for a Literal parameter (a comment in MLproject), else ""."""
    return " | ".join(str(choice) for choice in field.choices)


def undeclared_fields(config_class: type[BaseModel] | None) -> set[str]:
    """Settings an entry point must not declare: MLflow passes a declared parameter at its
    default as if it were given, which would win over what any of the config's named
    presets fills in (``PRESETS``) and over a default decided at run time
    (``GIVEN_ONLY``: node2vec's synchronous batch cap). ``-P`` still sets them."""
    presets: dict[str, dict[str, Any]] = getattr(config_class, "PRESETS", {})
    given_only: frozenset[str] = getattr(config_class, "GIVEN_ONLY", frozenset())
    return {name for values in presets.values() for name in values} | set(given_only)


def entry_point_parameters(config_class: type[BaseModel] | None) -> dict[str, dict[str, Any]]:
    """Every flat parameter of DataConfig (+ the method's config) but its
    :func:`undeclared_fields`: {name: {type, default}} (plus "choices" for Literal
    parameters, rendered as a comment)."""
    fields = dict(flat_fields(DataConfig))
    if config_class is not None:
        fields.update(flat_fields(config_class))
    for name in undeclared_fields(config_class):
        fields.pop(name, None)
    return {
        name: {
            "type": mlproject_type(field),
            "default": mlproject_default(field),
            "choices": choices_of(field),
        }
        for name, field in fields.items()
    }


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = repr(value)
        mantissa, e, exponent = text.partition("e")
        # YAML 1.1 (PyYAML, MLflow's parser) reads 1e-06 as text; 1.0e-06 is a float.
        return f"{mantissa}.0e{exponent}" if e and "." not in mantissa else text
    if isinstance(value, int):
        return repr(value)
    return json.dumps(str(value))  # JSON strings are valid YAML and always quoted


def render_entry_point(name: str, script: str, parameters: dict[str, dict[str, Any]]) -> str:
    """One entry point's YAML, indented for the entry_points mapping."""
    lines = [f"  {name}:", "    parameters:"]
    for key, spec in parameters.items():
        line = f"      {key}: {{type: {spec['type']}, default: {_yaml_scalar(spec['default'])}}}"
        lines.append(line + (f"  # {spec['choices']}" if spec.get("choices") else ""))
    lines.append("    command: >-")
    lines.append(f"      {script}")
    for key in parameters:
        lines.append(f"      {key}={{{key}}}")
    return "\n".join(lines)


def _config_class_or_none(name: str) -> type[BaseModel] | None:
    """The method's config class, or None while its module has not been written yet
    (its entry point then declares the dataset parameters and passes the rest through)."""
    try:
        return get_method(name).config_class
    except ModuleNotFoundError as err:
        if err.name != METHOD_MODULES[name]:
            raise
        return None


def render_generated_block() -> str:
    """The generated block: one entry point per registered method, then ``prepare``."""
    blocks = [BEGIN_MARKER]
    for name in method_names():
        config_class = _config_class_or_none(name)
        blocks.append(
            render_entry_point(
                name, f"python experiments/train.py {name}", entry_point_parameters(config_class)
            )
        )
    blocks.append(
        render_entry_point(
            PREPARE_ENTRY_POINT, "python experiments/prepare.py", entry_point_parameters(None)
        )
    )
    blocks.append(END_MARKER)
    return "\n".join(blocks)


def update_mlproject(path: Path) -> bool:
    """Rewrite the generated block of ``path`` in place; True when it changed."""
    text = path.read_text()
    if BEGIN_MARKER not in text or END_MARKER not in text:
        raise ValueError(f"{path} lacks the generated-block markers {BEGIN_MARKER.strip()!r}")
    head, rest = text.split(BEGIN_MARKER, 1)
    _, tail = rest.split(END_MARKER, 1)
    updated = head + render_generated_block() + tail
    path.write_text(updated)
    return updated != text


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "MLproject")
    print(f"{target}: {'updated' if update_mlproject(target) else 'already up to date'}")
