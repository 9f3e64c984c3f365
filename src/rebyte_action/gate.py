"""Which events are plainly not requests, decided from a few fields of the payload.

Most events a workflow sees are not requests: an edited comment, a comment without the phrase,
another label. :func:`plain_skip` says so, with the very reason :func:`events.parse_event`
gives, using nothing heavier than ``str`` methods: this module imports nothing, so a skipped
event costs the runner about what ``python -c pass`` does (``dataclasses`` alone, which
:mod:`events` needs, would cost a skip more than all it now imports but ``json``).
``parse_event`` stays the one authority: where the answer takes more than these fields (a
payload with a field of the wrong type, a direct prompt, a comment that may hold the phrase),
this returns None and the event is parsed in full. ``tests/test_gate.py`` holds the two to
the same answers; a skip added to ``parse_event`` before its phrase check belongs here too.
"""

from __future__ import annotations

DEFAULT_TRIGGER_PHRASE = "/rebyte"  # action.yml's defaults for trigger-phrase and label
DEFAULT_LABEL = "rebyte"
DEFAULT_CONFIG_FILE = ".github/rebyte.yml"  # action.yml\'s default for the config-file input
COMMENT_EVENTS = ("issue_comment", "pull_request_review_comment")
LABEL_EVENTS = ("issues", "pull_request", "pull_request_target")
MARKER_PREFIX = "<!-- rebyte-action:"  # how every marker begins (markers.py writes them)

# The fields parse_event reads, by the type it requires; "!" marks one it cannot do without.
_COMMON = ("repository.full_name", "repository.default_branch", "sender.type")
_PULL_REQUEST = (
    "!pull_request.number",
    "pull_request.title",
    "pull_request.body",
    "pull_request.html_url",
    "pull_request.user.login",
    "pull_request.head.ref",
    "pull_request.head.sha",
    "pull_request.head.repo.full_name",
    "pull_request.base.repo.full_name",
)
_ISSUE = ("!issue.number", "issue.title", "issue.body", "issue.html_url", "issue.user.login")
_COMMENT = (
    "!comment.id",
    "comment.body",
    "comment.html_url",
    "comment.author_association",
    "comment.path",
    "comment.line",
    "comment.original_line",
    "comment.start_line",
    "comment.original_start_line",
    "comment.side",
    "comment.diff_hunk",
)
_NUMBERS = frozenset({"number", "id", "line", "original_line", "start_line", "original_start_line"})
# Every byte a reader cannot see (events' normalize() removes some), and line breaks.
_UNSEEN = bytes(range(32)) + b"\x7f"


def plain_skip(
    event_name: str, payload: dict[str, object], *, trigger_phrase: str, label: str, direct_prompt: str
) -> str | None:
    """The reason ``parse_event`` gives for skipping this event, where these fields make it plain.

    None when the event may be a request, or when only the full parse can tell (a direct prompt,
    a field missing or of the wrong type, a phrase or comment with characters that hide).
    """
    action = payload.get("action")
    if event_name in COMMENT_EVENTS and action != "created":
        return f"{event_name} '{action}' events are ignored: only new comments are requests"
    if direct_prompt.strip() or not _well_formed(event_name, payload):
        return None
    has_subject = isinstance(payload.get("pull_request"), dict) or isinstance(payload.get("issue"), dict)
    if event_name in COMMENT_EVENTS:
        body = _field(payload, "comment.body") or ""
        assert isinstance(body, str)  # _well_formed checked it
        if MARKER_PREFIX in body:
            return "the comment is one of this action's own answers"
        if not has_subject:
            return f"the {event_name} payload has no issue or pull request"
        if _may_hold(body, trigger_phrase):
            return None
        return f"the comment has no line starting with {trigger_phrase}"
    if event_name in LABEL_EVENTS:
        if action != "labeled":
            return f"{event_name} '{action}' events are ignored without the prompt input"
        added = _field(payload, "label.name")
        if not isinstance(added, str) or added.casefold() == label.casefold():
            return None
        return f"the label added was '{added}', not '{label}'"
    return f"'{event_name}' events start a task only with the prompt input"


def _may_hold(body: str, phrase: str) -> bool:
    """Whether ``body`` may hold ``phrase`` where parse_event looks (False only when it cannot).

    parse_event looks for the phrase, case aside, in the body without its invisible characters
    (all of them control or non-ASCII characters). Dropping every control and non-ASCII
    character from the case-folded body can only bring more of it together, never part a
    phrase of printable ASCII characters: a body where even that finds no phrase holds none.
    """
    folded = phrase.casefold()
    if not folded.isascii() or not folded.isprintable():
        return True
    seen = body.casefold().encode("ascii", "ignore").translate(None, _UNSEEN)
    return folded.encode() in seen


def _well_formed(event_name: str, payload: dict[str, object]) -> bool:
    """Whether every field parse_event reads for this event has the type it requires (so it
    raises nothing), the ones it needs present."""
    paths = list(_COMMON)
    paths.append("!sender.login" if event_name in COMMENT_EVENTS + LABEL_EVENTS else "sender.login")
    if isinstance(payload.get("pull_request"), dict):
        paths += _PULL_REQUEST
    elif isinstance(payload.get("issue"), dict):
        paths += _ISSUE
    if event_name in COMMENT_EVENTS:
        if not isinstance(payload.get("comment"), dict):
            return False
        paths += _COMMENT
    for path in paths:
        value = _field(payload, path.lstrip("!"))
        if value is None:
            if path.startswith("!"):
                return False
        elif path.rsplit(".", 1)[1] in _NUMBERS:
            if not isinstance(value, int) or isinstance(value, bool):
                return False
        elif not isinstance(value, str):
            return False
    return True


def _field(payload: dict[str, object], path: str) -> object:
    """The value at dotted ``path``; None when it or a parent is missing, null or not an object."""
    value: object = payload
    for key in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value
