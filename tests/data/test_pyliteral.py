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


ESCAPED = [
    r"""{'title': 'Beyonc\xc3\xa9', 'x': '\u00e9'}""",  # Python 2 bytes written as \x escapes
    r"""{'a': '\ud83d\ude00', 'b': '\U0001F600', 'c': '\U0000d800'}""",  # surrogates stay apart
    r"""{'a': '\0\a\v\N{BULLET}', 'b': 'it\'s "x"', 'c': "\\'"}""",  # rare escapes
    r"""{'a': 'C:\\dir\\', 'b': "\"'"}""",
]


@pytest.mark.parametrize("line", ESCAPED)
def test_escapes_are_decoded_like_literal_eval(line: str) -> None:
    assert parse_python_literal(line) == ast.literal_eval(line)


@pytest.mark.parametrize(
    "line",
    [
        "{'a': NaN}",
        r"{'a': '\/'}",
        "{'a': Infinity}",
        "{'a': __import__('os')}",
        "{'a': 'unterminated}",
        "",
    ],
)
@pytest.mark.filterwarnings("ignore::SyntaxWarning", "ignore::DeprecationWarning")
def test_invalid_or_unusual_literals_raise_or_match(line: str) -> None:
    try:
        expected = ast.literal_eval(line)
    except (ValueError, SyntaxError):
        with pytest.raises((ValueError, SyntaxError)):
            parse_python_literal(line)
    else:  # '\/' is valid Python (backslash, slash), unlike in JSON
        assert parse_python_literal(line) == expected
