"""Group commit: many concurrent writes, one transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

from starlette.concurrency import run_in_threadpool

Record = TypeVar("Record")
Result = TypeVar("Result")


class GroupCommit(Generic[Record, Result]):
    """Writes records in batches: whatever arrives while a batch is being written goes into
    the next one, so a burst of requests costs a few transactions instead of one each.

    ``write`` takes a batch and returns one result per record, in order, once the batch is
    committed; it runs in the thread pool, one batch at a time. A batch holds at most
    ``max_batch`` records and, past its first, ``max_weight`` in all as ``weigh`` counts (bytes,
    say). A caller hears back only after its record is committed. If a batch fails, its
    records are written one by one, so one bad record fails only its own caller. One instance
    serves one event loop (an app).
    """

    def __init__(
        self,
        write: Callable[[list[Record]], list[Result]],
        max_batch: int = 200,
        weigh: Callable[[Record], int] = lambda _: 1,
        max_weight: int | None = None,
    ):
        self._write = write
        self.max_batch = max_batch
        self._weigh = weigh
        self.max_weight = max_weight
        self._pending: list[tuple[Record, asyncio.Future[Result]]] = []
        self._drain_task: asyncio.Task[None] | None = None

    async def submit(self, record: Record) -> Result:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        self._pending.append((record, future))
        task = self._drain_task
        if task is None or task.done() or task.get_loop() is not loop:
            self._drain_task = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._pending:
            batch = self._next_batch()
            try:
                results = await run_in_threadpool(self._write, [record for record, _ in batch])
            except Exception as error:
                if len(batch) == 1:
                    _settle(batch[0][1], error=error)
                else:  # find the bad record: the others are written and answered alone
                    for record, future in batch:
                        try:
                            [result] = await run_in_threadpool(self._write, [record])
                        except Exception as alone:
                            _settle(future, error=alone)
                        else:
                            _settle(future, result)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                _settle(future, result)

    def _next_batch(self) -> list[tuple[Record, asyncio.Future[Result]]]:
        taken, weight = 0, 0
        for record, _ in self._pending[: self.max_batch]:
            weight += self._weigh(record)
            if taken and self.max_weight is not None and weight > self.max_weight:
                break
            taken += 1
        batch = self._pending[:taken]
        del self._pending[:taken]
        return batch


def _settle(
    future: asyncio.Future[Result], result: Result | None = None, error: Exception | None = None
) -> None:
    if future.done():  # its caller has gone (a dropped connection); the write stands
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)  # type: ignore[arg-type]
