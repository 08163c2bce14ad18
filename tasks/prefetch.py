"""Fetch ahead while pages are written: I/O and database work overlap."""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


def prefetched_batches(
    items: Iterator[T], *, depth: int = 4, max_batch: int = 4
) -> Generator[list[T], None, None]:
    """Yield ``items`` in order, in batches of whatever is ready, while a thread fetches ahead.

    Each batch holds at least one item and at most ``max_batch``: when the consumer keeps up
    it gets one item at a time; when it falls behind it gets the backlog at once. Memory stays
    bounded by ``depth`` items; an error in the producer is raised here after the items
    produced before it; closing the generator stops the producer.
    """
    buffer: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(value: object) -> bool:
        while not stop.is_set():
            try:
                buffer.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as error:  # handed to the consumer, which raises it
            put(error)

    worker = threading.Thread(target=produce, name="journeyops-prefetch", daemon=True)
    worker.start()
    pending: BaseException | None = None
    finished = False
    try:
        while not finished:
            batch: list[T] = []
            value = buffer.get()
            while True:
                if value is _DONE:
                    finished = True
                    break
                if isinstance(value, BaseException):
                    pending = value
                    break
                batch.append(value)  # type: ignore[arg-type]
                if len(batch) >= max_batch:
                    break
                try:
                    value = buffer.get_nowait()
                except queue.Empty:
                    break
            if batch:
                yield batch
            if pending is not None:
                raise pending
    finally:
        stop.set()
        worker.join(timeout=30)
