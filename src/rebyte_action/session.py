"""What one run holds while it works, and the few things every step does with it.

``Outcome`` (``outcome.py``) collects what the run has learned; whatever happens,
:meth:`Session.finish` writes it to the outputs and the step summary, so a task that was created is always
reported somewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import httpx

from .answer import Answer
from .config import RepositoryConfig
from .events import Trigger
from .github import GitHub, GitHubError
from .outcome import EXIT_FAILED, EXIT_OK, Outcome
from .queue import Limits, effective_limits
from .rebyte import RebyteClient
from .rebyte.client import DEFAULT_CREATE_TIMEOUT, DEFAULT_TIMEOUT, RetryPolicy
from .report import failure_comment
from .settings import Settings
from .workflow import Workflow

__all__ = ["EXIT_FAILED", "EXIT_OK", "Outcome", "Session"]


@dataclass
class Session:
    """One run: its settings, where it reports, the request and the GitHub connection once known."""

    settings: Settings
    workflow: Workflow
    outcome: Outcome = field(default_factory=Outcome)
    trigger: Trigger | None = None
    github: GitHub | None = None
    answer: Answer = field(init=False)
    acknowledged: bool = False
    config: RepositoryConfig | None = None  # the repository's config file once read (at most once a run)

    def __post_init__(self) -> None:
        self.answer = Answer(self)

    @property
    def limits(self) -> Limits:
        """This run's limits and queue settings: the inputs; the config file's ``limits:`` wins
        key by key, once the run has read the file."""
        found = self.config.limits.model_dump(by_alias=True, exclude_none=True) if self.config else None
        return effective_limits(self.settings, found)

    @property
    def repository(self) -> str:
        """``owner/name``: GITHUB_REPOSITORY, else the event's repository."""
        return self.settings.repository or (self.trigger.repository if self.trigger else "")

    @property
    def issue(self) -> int | None:
        """The number of the issue or pull request the request is about, if any."""
        subject = self.trigger.subject if self.trigger else None
        return subject.number if subject else None

    def rebyte(self, transport: httpx.BaseTransport | None = None) -> RebyteClient:
        """A Rebyte client with the step's key and base URL; use it as a context manager."""
        key, timeout = self.settings.rebyte_api_key, self.settings.rebyte_timeout
        backoff = self.settings.rebyte_backoff
        return RebyteClient(
            key.get_secret_value() if key else "",
            base_url=self.settings.rebyte_base_url,
            transport=transport,
            timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
            create_timeout=DEFAULT_CREATE_TIMEOUT if timeout is None else timeout,
            retry=RetryPolicy() if backoff is None else RetryPolicy(backoff=backoff),
        )

    def connect(self) -> GitHub | None:
        """The GitHub connection (no request yet), or None after an ::error:: per missing input."""
        if not self.ready("github"):
            return None
        token = self.settings.github_token.get_secret_value() if self.settings.github_token else ""
        self.github = GitHub(token, self.settings.api_url, self.repository, on_wait=self.workflow.log)
        return self.github

    def ready(self, service: str) -> bool:
        """Whether the inputs needed to talk to ``service`` ("github" or "rebyte") are there;
        an ::error:: per missing one."""
        settings = self.settings
        problems = []
        if service == "github":
            if not settings.github_token or not settings.github_token.get_secret_value().strip():
                problems.append("input 'github-token' is empty: leave it out to use ${{ github.token }}")
            if not self.repository:
                problems.append(
                    "GITHUB_REPOSITORY is not set: run this action from a GitHub Actions workflow"
                )
        elif not settings.rebyte_api_key or not settings.rebyte_api_key.get_secret_value().strip():
            problems.append(
                "input 'rebyte-api-key' is empty: add `rebyte-api-key: ${{ secrets.REBYTE_API_KEY }}` to "
                "the step's `with:` and store the key as a repository secret (workflows run for pull "
                "requests from forks get no secrets)"
            )
        for problem in problems:
            self.workflow_error(problem)
        if problems:
            self.outcome.headline = "not started: the step is misconfigured"
            self.outcome.detail = "\n".join(f"- {p}" for p in problems)
        return not problems

    # -- what every step does ---------------------------------------------------------

    def workflow_error(self, message: str) -> None:
        """An ::error:: annotation, and the run fails."""
        self.workflow.error(message)
        self.outcome.failed = True

    def acknowledge(self, *, answered: bool = False) -> None:
        """The 👀 on the request, once. On a re-run (``answered``: the thread has this request's
        answer) it is not added again: GitHub keeps one per user, so it would only spend a request."""
        if self.acknowledged or (answered and self.settings.run_attempt > 1):
            return
        self.acknowledged = True
        self.react("eyes")

    def react(self, content: str) -> None:
        """Add a reaction to the request (its comment, or the issue for a label); a failure is a warning."""
        trigger, github = self.trigger, self.github
        if trigger is None or github is None or trigger.subject is None:
            return
        comment = trigger.comment if trigger.kind in ("comment", "review_comment") else None
        try:
            github.react(
                content,
                issue=trigger.subject.number,
                comment_id=comment.id if comment else None,
                review=trigger.kind == "review_comment",
            )
        except GitHubError as error:
            self.workflow.warning(f"could not add the {content} reaction: {error}")

    def reply(self, body: str) -> None:
        """Post a new comment in the thread (help, refusals); a failure is a warning."""
        issue, github = self.issue, self.github
        if issue is None or github is None:
            return
        try:
            posted = github.comment(issue, body)
            self.outcome.comment_id = str(posted.id)
        except GitHubError as error:
            self.workflow.warning(f"could not post the reply: {error}")

    def skip(self, reason: str) -> int:
        """End the run with nothing started, saying why: exit 0."""
        return self.outcome.skip(self.workflow, reason)

    def fail(self, what: str, detail: str, *, comment: bool = True, kind: str = "failed") -> int:
        """End the run failed: an ::error::, and (with ``comment``) the answer says so with 😕."""
        self.outcome.failed = True
        self.outcome.headline = _headline(what)
        self.outcome.detail = detail
        self.workflow.error(f"{what}: {detail}")
        if comment:
            facts = self.outcome.facts
            request = self.trigger.request_key if self.trigger else None
            body = failure_comment(
                what, detail, self.settings.run_url, facts.url if facts else None, request, kind=kind
            )
            try:
                self.answer.write(body)
            except GitHubError as error:
                self.workflow.warning(f"could not post the failure on GitHub: {error}")
            self.react("confused")
        return EXIT_FAILED

    def scrub(self, text: str) -> str:
        """``text`` with the step's secrets replaced by ``***``, in any letter case (an option's
        value may have been lower-cased before it is quoted back)."""
        for secret in (self.settings.rebyte_api_key, self.settings.github_token):
            if secret is not None and secret.get_secret_value():
                value = secret.get_secret_value()
                if value.casefold() in text.casefold():
                    text = re.sub(re.escape(value), "***", text, flags=re.IGNORECASE)
        return text

    def scrub_request(self, text: str) -> str:
        """:meth:`scrub` for the asker's own words (a prompt, an option): when they hold a secret,
        also warn that it must be replaced (anyone who can read the request has seen it)."""
        shown = self.scrub(text)
        if shown != text:
            self.workflow.warning(REQUEST_LEAK_WARNING)
        return shown

    def finish(self) -> None:
        """Write the outputs and the step summary, and close the GitHub connection."""
        self.outcome.write(self.workflow)
        if self.github is not None:
            self.github.close()


PROPER_NAMES = ("Rebyte", "GitHub")
REQUEST_LEAK_WARNING = (
    "The request holds this step's Rebyte key or GitHub token: replaced by *** in what is sent "
    "to Rebyte. Anyone who can read the request has seen it: replace the secret."
)


def _headline(what: str) -> str:
    """``what`` to follow "Rebyte: " in the summary: a sentence's first word lower-cased, a name kept."""
    first, _, rest = what.partition(" ")
    if first in PROPER_NAMES or first.isupper():
        return what
    return f"{first[:1].lower()}{first[1:]} {rest}".rstrip()
