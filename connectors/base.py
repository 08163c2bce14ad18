"""What every source of signals hands to the pull: pages of records with their cursor."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

# Returns, for external ids, the version last stored (so unchanged records are not refetched).
KnownVersions = Callable[[list[str]], dict[str, str]]


@dataclass(frozen=True)
class SignalRecord:
    """A record turned into a signal's fields, ready to upsert."""

    external_id: str
    occurred_at: datetime
    text: str
    payload: dict[str, Any]
    customer_ref: str | None = None
    # Whatever tells two versions of the record apart (an updated_at, an attempt count).
    version: str = ""
    # Orders versions: a stored record is only replaced by one with an equal or higher sequence.
    sequence: int = 0


@dataclass(frozen=True)
class SkippedItem:
    """A record that could not become a signal, with the reason."""

    external_id: str
    reason: str
    excerpt: str

    @classmethod
    def of(cls, external_id: str | None, reason: str, raw: Any) -> SkippedItem:
        """Build a skipped item; a record without an id is named by a hash of its content."""
        try:
            text = json.dumps(raw, default=str, sort_keys=True)
        except (TypeError, ValueError):
            text = repr(raw)
        if not external_id:
            external_id = "sha1:" + hashlib.sha1(text.encode("utf-8")).hexdigest()
        return cls(external_id=external_id[:200], reason=reason[:500], excerpt=text[:2000])


@dataclass
class Page:
    """One page of a stream: written in one transaction together with ``cursor``."""

    stream: str
    cursor: dict[str, Any]
    records: list[SignalRecord] = field(default_factory=list)
    skipped: list[SkippedItem] = field(default_factory=list)
    seen: int = 0
    unchanged: int = 0
    # Well-formed records that carry no signal (a subscription update that cancels nothing).
    ignored: int = 0


class SignalSource(Protocol):
    """A service that signals are pulled from."""

    name: str

    def pages(self, cursors: dict[str, dict[str, Any]], known: KnownVersions) -> Iterator[Page]:
        """Yield pages from where ``cursors`` left off; each page carries its new cursor."""
        ...

    def close(self) -> None: ...
