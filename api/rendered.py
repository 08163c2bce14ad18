"""Journey views this process has rendered, kept while the workspace's revision holds."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable


class RenderedViews:
    """Rendered answers by key, each tagged with the workspace revision it was built at.

    A lookup with another revision misses (and drops the stale answer). Bounded in bytes: the
    least recently used answers leave first; one larger than the whole budget is not kept.
    Shared by the request threads of one process.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[int, bytes]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        """Bytes held."""
        return self._size

    def get(self, key: Hashable, revision: int) -> bytes | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] != revision:
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: Hashable, revision: int, body: bytes) -> None:
        with self._lock:
            if key in self._entries:
                if self._entries[key][0] > revision:
                    return  # a newer answer arrived first
                self._drop(key)
            if len(body) > self.max_bytes:
                return
            self._entries[key] = (revision, body)
            self._size += len(body)
            while self._size > self.max_bytes:
                self._drop(next(iter(self._entries)))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._size = 0

    def _drop(self, key: Hashable) -> None:
        _, body = self._entries.pop(key)
        self._size -= len(body)
