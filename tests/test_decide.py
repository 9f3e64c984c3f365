"""The decisions as plain data: importable without PyGithub or httpx, and who starts a thread's task."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

from rebyte_action.decide import reaction_target, whose_turn
from rebyte_action.report import Marker, ThreadMarker

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
FRESH = timedelta(minutes=15)


def pending(comment_id: int, request: str, minutes_ago: float = 0) -> ThreadMarker:
    return ThreadMarker(
        comment_id, Marker("pending", request=request), created_at=NOW - timedelta(minutes=minutes_ago)
    )


def test_the_decisions_import_without_pygithub_or_httpx() -> None:
    code = (
        "import sys\n"
        "import rebyte_action.decide, rebyte_action.commands, rebyte_action.events, rebyte_action.report\n"
        "import rebyte_action.replies\n"
        "heavy = sorted(m for m in ('github', 'httpx', 'requests') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr


def test_the_first_pending_answer_starts_the_task_and_a_later_one_waits() -> None:
    markers = [pending(10, "comment:1"), pending(11, "comment:2")]
    assert whose_turn(markers, mine=10, request="comment:1", now=NOW, stale_after=FRESH) == "start"
    assert whose_turn(markers, mine=11, request="comment:2", now=NOW, stale_after=FRESH) == "wait"


def test_once_the_earlier_request_has_its_task_a_later_one_continues_it() -> None:
    task = ThreadMarker(10, Marker("task", task_id="t1", request="comment:1", status="running"))
    turn = whose_turn(
        [task, pending(11, "comment:2")], mine=11, request="comment:2", now=NOW, stale_after=FRESH
    )
    assert turn == task


def test_an_abandoned_or_failed_earlier_request_does_not_hold_the_thread() -> None:
    old = pending(10, "comment:1", minutes_ago=60)
    failed = ThreadMarker(9, Marker("failed", request="comment:0"))
    assert whose_turn([old, failed], mine=11, request="comment:2", now=NOW, stale_after=FRESH) == "start"


def test_a_canceled_task_is_no_task_to_continue() -> None:
    canceled = ThreadMarker(5, Marker("task", task_id="t0", status="canceled"))
    assert whose_turn([canceled], mine=11, request="comment:2", now=NOW, stale_after=FRESH) == "start"


def test_a_second_delivery_of_the_same_request_is_a_duplicate_whatever_the_earlier_answer_shows() -> None:
    task = ThreadMarker(10, Marker("task", task_id="t1", request="comment:1", status="running"))
    for earlier in (pending(10, "comment:1"), task, ThreadMarker(10, Marker("unknown", request="comment:1"))):
        turn = whose_turn([earlier], mine=11, request="comment:1", now=NOW, stale_after=FRESH)
        assert turn == "duplicate"
    # The first of the two answers starts the task: the later one is not its business.
    later = [pending(11, "comment:1")]
    assert whose_turn(later, mine=10, request="comment:1", now=NOW, stale_after=FRESH) == "start"


def test_a_reaction_goes_to_the_request_its_key_names() -> None:
    assert reaction_target("comment:42", 7) == (7, 42, False)
    assert reaction_target("review_comment:43", 7) == (7, 43, True)
    assert reaction_target("label:7:4242", 7) == (7, None, False)
    assert reaction_target("run:4242", 7) == (7, None, False)
    assert reaction_target(None, 7) == (7, None, False)
