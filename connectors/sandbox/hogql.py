"""Enough of HogQL for the stand-in: the queries journeyops sends, run on SQLite."""

from __future__ import annotations

import re


class HogQLError(ValueError):
    """A query the stand-in does not understand (PostHog answers these with 400)."""


_STRING = r"'(?:[^'\\]|\\.)*'"
_ALLOWED_FUNCTIONS = {"count", "uniq", "json_extract", "coalesce", "min", "max", "avg", "sum"}


def _sqlite_string(hogql_literal: str) -> str:
    body = hogql_literal[1:-1]
    value = re.sub(r"\\(.)", r"\1", body)
    return "'" + value.replace("'", "''") + "'"


def _time_literal(literal: str) -> str:
    value = _sqlite_string(literal)[1:-1]
    value = value.replace("T", " ").rstrip("Z")
    if "." not in value:
        value += ".000000"
    return "'" + value.ljust(26, "0")[:26] + "'"


def translate(query: str) -> str:
    """Translate a HogQL SELECT over ``events`` into SQLite SQL, or raise HogQLError."""
    text = query.strip().rstrip(";")
    if not re.match(r"(?is)^select\s.+\sfrom\s+events\b", text):
        raise HogQLError("only SELECT ... FROM events is supported by the sandbox")
    if re.search(r"(?i)\b(insert|update|delete|drop|attach|pragma|join|union)\b", text):
        raise HogQLError("statement not allowed")
    text = re.sub(
        rf"toDateTime64\(\s*({_STRING})\s*,\s*\d+\s*,\s*'UTC'\s*\)",
        lambda m: _time_literal(m.group(1)),
        text,
    )
    text = re.sub(rf"toDateTime\(\s*({_STRING})\s*\)", lambda m: _time_literal(m.group(1)), text)
    text = re.sub(r"toString\(\s*uuid\s*\)", "uuid", text)
    text = re.sub(
        r"toStartOfHour\(\s*timestamp\s*\)", "substr(timestamp, 1, 13) || ':00:00.000000'", text
    )
    text = re.sub(
        r"toStartOfDay\(\s*timestamp\s*\)", "substr(timestamp, 1, 10) || ' 00:00:00.000000'", text
    )
    text = re.sub(
        r"\bminIf\(\s*timestamp\s*,\s*(.*?)\)\s+AS\s+(\w+)",
        r"min(CASE WHEN \1 THEN timestamp END) AS \2",
        text,
    )
    text = re.sub(r"\buniq\(\s*([\w.$]+)\s*\)", r"count(DISTINCT \1)", text)
    text = re.sub(r"\bcount\(\s*\)", "count(*)", text)
    text = re.sub(
        r"\bproperties\.(\$?[A-Za-z_][\w$]*)",
        lambda m: f"json_extract(properties, '$.\"{m.group(1)}\"')",
        text,
    )
    text = re.sub(
        _STRING, lambda m: _sqlite_string(m.group(0)) if "\\" in m.group(0) else m.group(0), text
    )
    for name in re.findall(r"\b([A-Za-z_]\w*)\s*\(", text):
        if name.lower() not in _ALLOWED_FUNCTIONS | {
            "in",
            "and",
            "or",
            "not",
            "distinct",
            "substr",
            "when",
            "then",
        }:
            raise HogQLError(f"function {name}() is not supported by the sandbox")
    return text
