"""The process's rendered views: current while their revision holds, bounded in bytes."""

from __future__ import annotations

from api.rendered import RenderedViews


def test_an_answer_is_served_while_its_revision_holds() -> None:
    rendered = RenderedViews(100)
    rendered.put("a", 3, b"map at 3")
    assert rendered.get("a", 3) == b"map at 3"
    assert rendered.get("a", 4) is None
    assert rendered.get("a", 3) is None  # the stale answer was dropped
    assert rendered.size == 0


def test_a_slower_older_render_does_not_replace_a_newer_one() -> None:
    rendered = RenderedViews(100)
    rendered.put("a", 5, b"new")
    rendered.put("a", 4, b"old")
    assert rendered.get("a", 5) == b"new"


def test_the_least_recently_used_leave_first_and_oversize_answers_are_not_kept() -> None:
    rendered = RenderedViews(10)
    rendered.put("a", 1, b"aaaa")
    rendered.put("b", 1, b"bbbb")
    assert rendered.get("a", 1) == b"aaaa"  # now b is the least recently used
    rendered.put("c", 1, b"cccc")
    assert (rendered.get("a", 1), rendered.get("b", 1), rendered.get("c", 1)) == (
        b"aaaa",
        None,
        b"cccc",
    )
    assert rendered.size == 8
    rendered.put("d", 1, b"d" * 11)
    assert rendered.get("d", 1) is None
    assert rendered.size == 8
    rendered.clear()
    assert (rendered.size, rendered.get("a", 1)) == (0, None)


def test_a_budget_of_nothing_keeps_nothing() -> None:
    rendered = RenderedViews(0)
    rendered.put("a", 1, b"x")
    assert rendered.get("a", 1) is None
