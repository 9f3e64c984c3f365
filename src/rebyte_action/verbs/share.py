"""``/rebyte share``: make the thread's task public, and answer with its share link."""

from __future__ import annotations

from dataclasses import replace

from ..decide import describe_rebyte_error
from ..github import GitHubError
from ..rebyte import NotFoundError, RebyteError
from ..replies import no_task_comment, share_comment
from ..report import TaskFacts, ThreadMarker, started_comment
from ..session import EXIT_OK, Session


def run(session: Session, found: ThreadMarker | None) -> int:
    """PATCH /v1/tasks/{id}/visibility public; the reply and the task's status comment get the link."""
    trigger, github = session.trigger, session.github
    assert trigger is not None and github is not None
    asker, request_url = trigger.actor.login, trigger.comment.url if trigger.comment else None
    phrase = session.settings.trigger_phrase
    if found is None or found.marker.task_id is None:
        session.reply(no_task_comment("share", phrase, asker, request_url, trigger.request_key))
        return session.skip("share was asked for, and this thread has no task")
    marker = found.marker
    facts = TaskFacts.from_marker(marker)
    session.outcome.facts = facts
    with session.rebyte() as rebyte:
        try:
            change = rebyte.set_visibility(facts.task_id, "public")
        except NotFoundError:
            session.reply(
                no_task_comment("share", phrase, asker, request_url, trigger.request_key).replace(
                    "has none yet", "had one, but it was deleted on Rebyte"
                )
            )
            return session.skip(f"share was asked for, and task {facts.task_id} was deleted on Rebyte")
        except RebyteError as error:
            return session.fail("Could not share the thread's Rebyte task", describe_rebyte_error(error))
    share_url = change.share_url or facts.url
    session.outcome.facts = facts = replace(facts, share_url=share_url)
    session.outcome.headline = "task shared"
    session.reply(share_comment(share_url, facts.url, asker, request_url, trigger.request_key))
    if session.issue is not None and marker.facts is not None:  # older answers cannot be redrawn
        body = started_comment(facts, marker.request, state=marker.state, check_run=marker.check_run)
        try:
            github.edit_comment(session.issue, found.comment_id, body)
        except GitHubError as error:
            session.workflow.warning(f"Could not add the share link to the status comment: {error}")
    return EXIT_OK
