"""The fast Python-literal parser agrees with ast.literal_eval and evaluates nothing."""

from __future__ import annotations

import ast

import pytest

from recsys.data.pyliteral import parse_python_literal

CASES = [
    {"asin": "A1", "related": {"also_bought": ["B", "C"]}, "price": 1.5, "n": -3},
    {"title": "Don't stop", "brand": 'say "hi"', "both": 'it\'s "x"'},
    {"title": "tab\there\nnewline \\ backslash", "q": "'", "d": '"'},
    {"title": "caf\u00e9 \u2603 \U0001f600 \x07"},
    {"empty": "", "list": [], "nested": [["a", "b"], ["c"]], "e": 1e-05, "big": 10**20},
    {"none": None, "flag": True, "tuple": (1, 2)},  # not JSON-able: the fallback path
]


@pytest.mark.parametrize("value", CASES)
def test_round_trip_equals_literal_eval(value: dict[str, object]) -> None:
    line = str(value)
    assert parse_python_literal(line) == ast.literal_eval(line) == value


def test_python2_byte_escapes_are_decoded_like_literal_eval() -> None:
    line = r"{'title': 'Beyonc\xc3\xa9', 'x': '\u00e9'}"
    assert parse_python_literal(line) == ast.literal_eval(line)


@pytest.mark.parametrize(
    "line",
    ["{'a': NaN}", "{'a': Infinity}", "{'a': __import__('os')}", "{'a': 'unterminated}", ""],
)
def test_invalid_literals_raise(line: str) -> None:
    with pytest.raises((ValueError, SyntaxError)):
        parse_python_literal(line)
