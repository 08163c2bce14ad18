"""Group commit: concurrent writes share transactions, and one bad record fails only its own."""

from __future__ import annotations

import asyncio
import time

import pytest

from api.batching import GroupCommit


class Recorder:
    """A write that takes a while, like a commit, and refuses the record 13."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    def __call__(self, batch: list[int]) -> list[int]:
        self.batches.append(list(batch))
        time.sleep(0.02)
        if 13 in batch:
            raise ValueError("13 does not fit")
        return [record * 2 for record in batch]


async def submit_all(writer: GroupCommit[int, int], records: list[int]) -> list[object]:
    return await asyncio.gather(
        *(writer.submit(record) for record in records), return_exceptions=True
    )


def test_records_arriving_during_a_write_share_the_next_one() -> None:
    write = Recorder()
    records = list(range(20, 50))

    async def scenario() -> list[object]:
        writer: GroupCommit[int, int] = GroupCommit(write)
        first = asyncio.create_task(writer.submit(records[0]))
        await asyncio.sleep(0.005)  # its write has begun
        return [await first, *await submit_all(writer, records[1:])]

    assert asyncio.run(scenario()) == [record * 2 for record in records]
    assert write.batches == [records[:1], records[1:]]


def test_batches_are_bounded() -> None:
    write = Recorder()
    asyncio.run(submit_all(GroupCommit(write, max_batch=4), list(range(20))))
    assert max(len(batch) for batch in write.batches) == 4


def test_batches_are_bounded_by_weight_but_take_at_least_one_record() -> None:
    write = Recorder()
    writer: GroupCommit[int, int] = GroupCommit(write, weigh=lambda record: record, max_weight=10)
    asyncio.run(submit_all(writer, [4, 5, 3, 30, 2]))
    assert write.batches == [[4, 5], [3], [30], [2]]


def test_a_bad_record_fails_its_own_caller_only() -> None:
    write = Recorder()
    results = asyncio.run(submit_all(GroupCommit(write), [1, 2, 13, 4, 5]))
    assert [r for r in results if not isinstance(r, Exception)] == [2, 4, 8, 10]
    [failed] = [r for r in results if isinstance(r, Exception)]
    assert isinstance(failed, ValueError)
    assert results[2] is failed


def test_a_caller_that_has_gone_leaves_the_others_answered() -> None:
    write = Recorder()

    async def scenario() -> list[object]:
        writer: GroupCommit[int, int] = GroupCommit(write)
        first = asyncio.create_task(writer.submit(1))
        await asyncio.sleep(0)
        gone = asyncio.create_task(writer.submit(2))
        stays = asyncio.create_task(writer.submit(3))
        await asyncio.sleep(0)
        gone.cancel()
        with pytest.raises(asyncio.CancelledError):
            await gone
        return [await first, await stays]

    assert asyncio.run(scenario()) == [2, 6]
    assert [2, 3] in write.batches  # its record was written all the same
