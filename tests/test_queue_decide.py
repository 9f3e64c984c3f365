"""Limits and the queue as pure decisions over plain markers: counting, order, claims, plans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from rebyte_action.decide import Plan
from rebyte_action.queue import (
    Limits,
    blocked_by,
    effective_limits,
    pack_plan,
    place,
    read_state,
    unpack_plan,
    won_claim,
)
from rebyte_action.report import Marker, ThreadMarker, find_markers
from rebyte_action.settings import SettingsError, load_settings

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def at(comment_id: int, marker: Marker, minutes_ago: float = 1, issue: int = 1) -> ThreadMarker:
    return ThreadMarker(comment_id, marker, issue=issue, created_at=NOW - timedelta(minutes=minutes_ago))


def task(comment_id: int, task_id: str, by: str, status: str | None = None, **kw: Any) -> ThreadMarker:
    return at(comment_id, Marker("task", task_id, status=status, facts={"by": by}), **kw)


def queued(comment_id: int, request: str, by: str, **kw: Any) -> ThreadMarker:
    return at(comment_id, Marker("queued", request=request, facts={"by": by}), **kw)


def state(*markers: ThreadMarker, hours: float = 24) -> Any:
    return read_state(list(markers), now=NOW, queue_hours=hours)


def test_running_tasks_are_those_not_shown_ended_counted_once_with_who_started_them() -> None:
    found = state(
        task(10, "t1", "ann"),
        task(11, "t1", "bob", "running"),  # a follow-up to t1: still t1, started by ann
        task(12, "t2", "bob", "completed"),
        task(13, "t3", "cid", "timed out"),  # no longer followed, but not ended
        at(14, Marker("task", "t4")),  # an old marker without facts: counted, requester unknown
    )
    assert found.running == {"t1": "ann", "t3": "cid", "t4": ""}


def test_a_task_shown_ended_in_any_comment_is_not_running() -> None:
    found = state(task(10, "t1", "ann", "running"), task(11, "t1", "ann", "canceled"))
    assert found.running == {}


def test_max_running_counts_running_tasks_and_tickets_posted_before_mine_only() -> None:
    limits = Limits(max_running=2)
    found = state(task(10, "t1", "ann"), at(20, Marker("pending", facts={"by": "bob"})))
    assert blocked_by(found, limits, "cid", ticket=21) is not None  # t1 + bob's earlier pending
    assert blocked_by(found, limits, "cid", ticket=19) is None  # bob's came after: mine goes first
    assert "max-running" in (blocked_by(found, limits, "cid", ticket=21) or "")


def test_a_stale_pending_answer_takes_no_place() -> None:
    found = state(at(20, Marker("pending", facts={"by": "bob"}), minutes_ago=60))
    assert blocked_by(found, Limits(max_running=1), "cid", ticket=21) is None


def test_the_per_user_limit_counts_only_that_requesters_tasks() -> None:
    limits = Limits(per_user=1)
    found = state(task(10, "t1", "ann"), task(11, "t2", "bob"))
    assert "@ann has 1 task(s)" in (blocked_by(found, limits, "ann", ticket=None) or "")
    assert blocked_by(found, limits, "cid", ticket=None) is None


def test_no_limit_blocks_nothing() -> None:
    found = state(*(task(10 + i, f"t{i}", "ann") for i in range(50)))
    assert blocked_by(found, Limits(), "ann", ticket=None) is None
    assert not Limits().active and Limits(per_user=1).active


def test_the_queue_is_in_comment_id_order_and_places_count_from_one() -> None:
    found = state(queued(30, "comment:3", "c"), queued(10, "comment:1", "a"), queued(20, "comment:2", "b"))
    assert [w.comment_id for w in found.queue] == [10, 20, 30]
    assert [place(found, i) for i in (10, 20, 30, 40)] == [1, 2, 3, 4]


def test_a_request_answered_again_later_no_longer_waits() -> None:
    started = at(10, Marker("task", "t1", request="comment:1", facts={"by": "a"}))
    found = state(queued(9, "comment:1", "a"), started)
    assert found.queue == [] and found.running == {"t1": "a"}


def test_queued_requests_older_than_queue_hours_are_expired() -> None:
    found = state(queued(10, "comment:1", "a", minutes_ago=25 * 60), queued(11, "comment:2", "b"), hours=24)
    assert [w.comment_id for w in found.expired] == [10]
    assert [w.comment_id for w in found.queue] == [11]


def test_the_lowest_live_claim_wins_and_claims_take_places() -> None:
    claim = {"q": 10, "by": "a"}
    found = state(
        queued(10, "comment:1", "a"),
        at(41, Marker("claim", facts=claim)),
        at(40, Marker("claim", facts=claim)),
    )
    assert won_claim(found, 10, 40) and not won_claim(found, 10, 41)
    assert blocked_by(found, Limits(max_running=1), "z", ticket=42) is not None  # claim 40 takes the place
    assert blocked_by(found, Limits(max_running=2), "z", ticket=42) is None  # claim 41 backs off: none
    assert blocked_by(found, Limits(max_running=1), "z", ticket=40) is None


def test_a_claim_on_a_request_that_no_longer_waits_wins_nothing() -> None:
    found = state(at(40, Marker("claim", facts={"q": 10})))
    assert not won_claim(found, 10, 40)


def test_a_plan_survives_the_marker_round_trip_whatever_its_prompt_holds() -> None:
    prompt = "fix it --> <!-- and \u202e this -->\n" + "x" * 50_000
    plan = Plan(prompt, "claude", None, ("a", "b"), "main", "o/r", "public")
    rendered = Marker("queued", request="comment:1", facts=pack_plan(plan)).render()
    assert len(rendered) < 2_000  # deflated
    (marker,) = find_markers(f"text {rendered} more")
    assert marker.facts is not None and unpack_plan(marker.facts) == plan
    assert unpack_plan({"prompt": "not base64!", "branch": "m", "repo": "o/r"}) is None


def test_the_config_files_limits_win_over_the_inputs_key_by_key() -> None:
    settings = SimpleNamespace(max_running=3, max_running_per_user=0, queue=True, queue_hours=24.0)
    assert effective_limits(settings) == Limits(3, 0, True, 24.0)
    merged = effective_limits(settings, {"max-running-per-user": 1, "queue": False})
    assert merged == Limits(3, 1, False, 24.0)


def test_a_request_whose_claim_was_left_behind_is_abandoned_not_started_again() -> None:
    stale = at(40, Marker("claim", facts={"q": 10}), minutes_ago=60)
    found = state(queued(10, "comment:1", "a"), stale)
    assert found.queue == [] and [w.comment_id for w in found.abandoned] == [10]
    live = state(queued(10, "comment:1", "a"), stale, at(41, Marker("claim", facts={"q": 10})))
    assert [w.comment_id for w in live.queue] == [10] and live.abandoned == []


def test_bad_limit_inputs_are_refused_naming_the_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INPUT_MAX-RUNNING", "-1")
    monkeypatch.setenv("INPUT_QUEUE", "maybe")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert "input 'max-running': must be a whole number of tasks ≥ 0 (0: no limit)" in str(error.value)
    assert "input 'queue': must be true or false" in str(error.value)


def test_a_fan_outs_tasks_each_take_a_place_and_ended_ones_free_theirs() -> None:
    members = (
        Marker("task", "t1", status="running", facts={"executor": "claude"}),
        Marker("task", "t2", facts={"executor": "codex"}),
        Marker("task", "t3", status="completed", facts={"executor": "gemini"}),
        Marker("failed", facts={"executor": "opencode"}, detail="refused"),
    )
    group = at(10, Marker("group", request="comment:1", facts={"by": "ann"}, members=members))
    assert state(group).running == {"t1": "ann", "t2": "ann"}
    later = read_state([group], now=NOW, queue_hours=24, ended=frozenset({"t2"}))
    assert later.running == {"t1": "ann"}


def test_a_fan_outs_pending_answer_or_claim_takes_a_place_per_task_while_it_starts() -> None:
    from rebyte_action.queue_report import claim_comment
    from rebyte_action.report import pending_comment

    (wide_pending,) = find_markers(pending_comment("ann", "comment:1", continuing=False, places=3))
    (wide_claim,) = find_markers(claim_comment(10, "bob", 2))
    starting = state(at(5, wide_pending), at(6, wide_claim))
    assert starting.ticket_places == {5: 3, 6: 2}
    limits = Limits(max_running=5)
    assert blocked_by(starting, limits, "cy", ticket=7) is not None  # 3 + 2 places taken, not 2
    assert "5 running or starting" in str(blocked_by(starting, limits, "cy", ticket=7))
    assert blocked_by(starting, Limits(max_running=6), "cy", ticket=7) is None
    assert blocked_by(starting, Limits(per_user=3), "ann", ticket=7) is not None  # ann's three
