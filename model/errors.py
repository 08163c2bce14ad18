"""Errors the model raises; each says what was wrong and what to do about it."""

from __future__ import annotations

from pydantic import ValidationError


class JourneyOpsError(Exception):
    """Base of every error journeyops raises on purpose."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message


class InvalidInput(JourneyOpsError):
    """A value breaks a rule of the model (an API answers 422)."""


class NotFound(JourneyOpsError):
    """A referenced thing does not exist in this workspace (an API answers 404)."""


class Conflict(JourneyOpsError):
    """The write clashes with what exists: a taken slug, a forbidden link (an API answers 409)."""


def _location(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + part
    return path


def describe_validation_error(error: ValidationError, *, context: str | None = None) -> str:
    """Turn a pydantic error into one readable line per problem, naming each field."""
    lines = []
    for problem in error.errors(include_url=False):
        # Drop the tag pydantic adds for discriminated unions ("insight", "touchpoint", ...).
        loc = tuple(problem["loc"])
        tag = problem.get("ctx", {}) or {}
        field = _location(loc)
        if problem["type"] == "extra_forbidden":
            where = f"{context} items" if context else "this record"
            lines.append(f"{field}: not a field of {where}")
            continue
        message = problem["msg"]
        if problem["type"] == "union_tag_invalid" and "expected_tags" in tag:
            message = f"must be one of {tag['expected_tags']}"
        lines.append(f"{field}: {message}" if field else message)
    return "; ".join(lines)


def invalid_from(error: ValidationError, *, context: str | None = None) -> InvalidInput:
    """Build an InvalidInput from a pydantic error, naming the first bad field."""
    problems = error.errors(include_url=False)
    field = _location(tuple(problems[0]["loc"])) if problems else None
    return InvalidInput(describe_validation_error(error, context=context), field=field)
