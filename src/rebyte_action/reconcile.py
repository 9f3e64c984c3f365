"""The scheduled reconciler (``mode: reconcile``): close what runs that did not wait left open.

One run, from a ``schedule`` (or ``workflow_dispatch``) workflow with no issue or sender:

1. one paginated listing of the repository's issue comments updated in the last
   ``reconcile-days`` (``GET /repos/{repo}/issues/comments?sort=created&direction=desc&since=``),
   whose hidden markers (from bots and trusted authors only) name the tasks this action
   started here and what their comments show;
2. of the tasks not yet shown as ended, at most ``reconcile-max``, oldest first;
3. Rebyte's list endpoint (``GET /v1/tasks``, 100 a page, newest first, stopping once past
   the oldest of them) tells from ``completedAt`` which have finished, and only those (and
   any the list does not show, e.g. deleted) are read one by one (``GET /v1/tasks/{id}``);
4. for each that ended: its status comments, check runs and final reactions show the end
   (a deleted task, 404, ends canceled). A fan-out group's comment is redrawn whole
   (``group_reconcile.py``).

A second run right after writes nothing: the markers then say the tasks ended.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from .answer import show_state
from .decide import describe_rebyte_error
from .github import GitHub, GitHubError
from .rebyte import NotFoundError, RebyteClient, RebyteError
from .report import STATUS_ICONS, TaskFacts, TaskState, ThreadMarker, deleted_state, state_of
from .session import EXIT_FAILED, EXIT_OK, Session
from .verbs import queued

PAGE = 100
CLOCK_SLACK = timedelta(minutes=10)  # between GitHub's and Rebyte's clocks


class CountingTransport(httpx.HTTPTransport):
    """An HTTP transport that counts the requests it sends (retries included)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        return super().handle_request(request)


@dataclass
class _Row:
    task_id: str
    url: str
    comments: list[ThreadMarker]
    was: str
    now: str = ""
    wrote: list[str] = field(default_factory=list)


def _read_limits(session: Session, github: GitHub) -> str | None:
    """The config file from the default branch (``GET …/contents/{path}``, no ref), for its
    ``limits:`` (no file: the step's inputs). A bad or unreadable file is a warning, and the
    reason returned: its limits are unknown, so no queued request is started on this run (they
    could allow fewer than the inputs); the rest of the reconcile goes on."""
    from .config import ConfigError, fetch_config

    path = session.settings.config_file
    try:
        session.config = fetch_config(github, path, None)
    except (ConfigError, GitHubError) as error:
        why = f"Could not use {path}: {error}; no queued request is started until its limits can be read"
        session.workflow.warning(why)
        return why
    return None


def reconcile(session: Session) -> int:
    """One reconcile pass over the repository; the step summary is a table of what it saw and did."""
    settings = session.settings
    github = session.connect()
    if github is None or not session.ready("rebyte"):
        return EXIT_FAILED
    frozen = None  # why the queue is not drained on this run
    if settings.config_file:  # its limits: decide how many queued requests may start
        frozen = _read_limits(session, github)
    now = datetime.now(UTC)
    since = now - timedelta(days=settings.reconcile_days)
    markers = github.repository_markers(since)
    listing_requests = github.requests
    open_tasks, too_old = _open_tasks(markers, since)
    order = sorted(open_tasks, key=lambda task_id: min(m.comment_id for m in open_tasks[task_id]))
    chosen, left = order[: settings.reconcile_max], order[settings.reconcile_max :]
    rows = [_row(task_id, open_tasks[task_id]) for task_id in chosen]
    counter = CountingTransport()
    if rows:
        with session.rebyte(transport=counter) as rebyte:
            oldest = min((m.created_at for r in rows for m in r.comments if m.created_at), default=None)
            try:
                running = _still_running(rebyte, {r.task_id for r in rows}, oldest)
            except RebyteError as error:  # nothing is written: the next scheduled run looks again
                return session.fail(
                    "Could not list Rebyte's tasks",
                    f"{describe_rebyte_error(error).rstrip('.')}. No comment or check run was changed; "
                    "the next scheduled run tries again.",
                    comment=False,
                )
            for row in rows:
                if row.task_id in running:
                    row.now = row.was
                    continue
                _settle(session, github, rebyte, row, now)
    from .group_reconcile import open_groups, settle_groups  # fan-out groups: their own comments

    groups = open_groups(markers, since)[: max(0, settings.reconcile_max - len(rows))]
    if groups:
        with session.rebyte(transport=counter) as rebyte:
            rows += settle_groups(session, github, rebyte, groups, now)
    ended = {r.task_id for r in rows if r.now and r.now != r.was and not r.now.startswith("unknown")}
    queue_lines = queued.reconcile_queue(session, github, markers, ended, counter, frozen=frozen)
    changed = [r for r in rows if r.wrote]
    session.outcome.headline = (
        f"reconciled: {len(changed)} of {len(rows)} open tasks ended since the last look"
    )
    session.outcome.detail = _table(
        rows,
        left=len(left),
        too_old=too_old,
        days=settings.reconcile_days,
        limit=settings.reconcile_max,
        github_listing=listing_requests,
        github_total=github.requests,
        rebyte_total=counter.sent,
    )
    if queue_lines:
        session.outcome.detail += "\n\n" + queue_lines
    session.workflow.log(session.outcome.headline)
    return EXIT_OK


def _open_tasks(markers: list[ThreadMarker], since: datetime) -> tuple[dict[str, list[ThreadMarker]], int]:
    """Task id -> its status comments not yet shown ended; and how many tasks are older than ``since``."""
    found: dict[str, list[ThreadMarker]] = {}
    too_old: set[str] = set()
    for found_marker in markers:
        marker = found_marker.marker
        if marker.kind != "task" or not marker.task_id or marker.is_final:
            continue
        if marker.facts is None:  # an answer from before markers kept the facts: cannot be redrawn
            continue
        if found_marker.created_at is not None and found_marker.created_at < since:
            too_old.add(marker.task_id)  # updated lately, but asked for too long ago: left alone
            continue
        if found_marker.issue is None:
            continue
        found.setdefault(marker.task_id, []).append(found_marker)
    return found, len(too_old - set(found))


def _row(task_id: str, comments: list[ThreadMarker]) -> _Row:
    newest = max(comments, key=lambda m: m.comment_id).marker
    return _Row(task_id, newest.url or "", comments, was=newest.status or "running (not followed)")


def _still_running(rebyte: RebyteClient, wanted: set[str], oldest: datetime | None) -> set[str]:
    """Of ``wanted``, the tasks Rebyte's list shows with no ``completedAt``: GET /v1/tasks pages,
    newest first, until every wanted task is seen or the page is older than ``oldest``."""
    running: set[str] = set()
    seen: set[str] = set()
    offset = 0
    while wanted - seen:
        page = rebyte.list_tasks(limit=PAGE, offset=offset)
        for task in page.data:
            if task.id in wanted:
                seen.add(task.id)
                if task.completed_at is None:
                    running.add(task.id)
        offset += len(page.data)
        if not page.data or offset >= page.total:
            break
        last = page.data[-1].created_at
        if oldest is not None and last is not None and last < oldest - CLOCK_SLACK:
            break
    return running


def _settle(session: Session, github: GitHub, rebyte: RebyteClient, row: _Row, now: datetime) -> None:
    """GET the task; when it ended (or is gone), show the end on each of its open comments."""
    deleted = False
    try:
        task = rebyte.get_task(row.task_id)
    except NotFoundError:
        task, deleted = None, True
    except RebyteError as error:
        session.workflow.warning(f"Could not read task {row.task_id}: {error}")
        row.now = "unknown (Rebyte error)"
        return
    for comment in row.comments:
        facts = TaskFacts.from_marker(comment.marker)
        if task is not None:
            state = state_of(task, continued=facts.continued)
        else:
            state = deleted_state(now)
        if not state.is_final:
            row.now = row.was
            return
        row.now = f"{STATUS_ICONS[state.status]} {state.status}" + (" (deleted on Rebyte)" if deleted else "")
        shown = comment.marker.state
        if task is None and shown is not None and shown.started_at is not None:
            state = TaskState(state.status, state.detail, shown.started_at, state.ended_at)
        wrote = show_state(
            github,
            session.workflow,
            issue=comment.issue,
            comment_id=comment.comment_id,
            facts=facts,
            request_key=comment.marker.request,
            state=state,
            check_run=comment.marker.check_run,
            was=comment.marker.state,
            me=comment.author,  # who posted the answer also set its reactions
        )
        row.wrote.extend(w for w in wrote if w not in row.wrote)


def _table(
    rows: list[_Row],
    *,
    left: int,
    too_old: int,
    days: float,
    limit: int,
    github_listing: int,
    github_total: int,
    rebyte_total: int,
) -> str:
    lines = []
    if rows:
        lines += ["| Task | Thread | Was | Now | Changed |", "|---|---|---|---|---|"]
        for row in rows:
            threads = ", ".join(sorted({f"#{m.issue}" for m in row.comments}))
            link = f"[`{row.task_id[:8]}`]({row.url})" if row.url else f"`{row.task_id[:8]}`"
            lines.append(
                f"| {link} | {threads} | {row.was} | {row.now or row.was} | {', '.join(row.wrote) or '-'} |"
            )
        lines.append("")
    else:
        lines.append("No open tasks: every task this action started here is known to have ended.")
        lines.append("")
    lines.append(f"Looked at {len(rows)} open task(s), oldest first (at most reconcile-max = {limit}).")
    if left:
        lines.append(f"{left} more open task(s) are left for the next run.")
    if too_old:
        lines.append(f"{too_old} open task(s) older than {days:g} days (reconcile-days) are left alone.")
    writes = github_total - github_listing
    lines.append(
        f"Requests: GitHub {github_total} ({github_listing} comment listing page(s), {writes} write(s)); "
        f"Rebyte {rebyte_total}."
    )
    return "\n".join(lines)
