"""The flow of one run: event → trigger → authorise → acknowledge → act → answer.

Everything the run learns goes to ``Outcome``, and whatever happens, ``finish`` writes it
to the outputs and the step summary: a task that was created is always reported.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from .commands import Command, UsageError, parse_command
from .events import Skip, Trigger, parse_event
from .github import GitHub, GitHubError, ThreadMarker
from .prompt import build_prompt
from .rebyte import (
    MAX_PROMPT_CHARS,
    APIError,
    LimitExceededError,
    NotFoundError,
    RebyteClient,
    RebyteError,
    ServerError,
    TransportError,
    UnauthorizedError,
    UnexpectedResponse,
)
from .report import (
    TaskFacts,
    failure_comment,
    fork_comment,
    pending_comment,
    permission_comment,
    started_comment,
    summary,
    usage_comment,
)
from .settings import Settings
from .track import Cancelled, Tracked, Tracker
from .workflow import Workflow

EXIT_OK, EXIT_FAILED = 0, 1


@dataclass(frozen=True)
class Plan:
    """What to ask Rebyte for, settled before any call."""

    prompt: str
    executor: str | None
    model: str | None
    skills: tuple[str, ...]
    branch: str
    github_url: str
    visibility: str | None


@dataclass(frozen=True)
class Target:
    """Where a pull request's code lives (empty for an issue or an event without one)."""

    head_ref: str | None = None
    head_sha: str | None = None
    head_repo: str | None = None
    from_fork: bool = False


@dataclass
class Outcome:
    """What a run has done so far; written out once, at the end, whatever happened."""

    skipped: str = ""
    facts: TaskFacts | None = None
    status: str = ""
    comment_id: str = ""
    headline: str = ""
    detail: str = ""
    failed: bool = False

    def outputs(self) -> dict[str, str]:
        facts = self.facts
        return {
            "task-id": facts.task_id if facts else "",
            "task-url": facts.url if facts else "",
            "workspace-id": facts.workspace_id if facts else "",
            "status": self.status,
            "comment-id": self.comment_id,
            "skipped": self.skipped,
        }


class Run:
    def __init__(self, settings: Settings, workflow: Workflow):
        self.settings = settings
        self.workflow = workflow
        self.outcome = Outcome()
        self.github: GitHub | None = None
        self.trigger: Trigger | None = None
        self.answer_id: int | None = None  # the one comment that answers this request

    # -- the flow --------------------------------------------------------------------

    def execute(self) -> int:
        try:
            return self._flow()
        except GitHubError as error:
            return self._fail("GitHub call failed", str(error), comment=False)
        except Cancelled:
            return self._fail(
                "The workflow run was cancelled",
                "The action stopped; a task it started goes on.",
                comment=False,
            )
        except Exception as error:  # a bug: still say so plainly, and report any task created
            return self._fail(
                "The action failed unexpectedly", self._scrub(f"{type(error).__name__}: {error}")
            )
        finally:
            self._finish()

    def _flow(self) -> int:
        settings = self.settings
        payload = self._load_event()
        if payload is None:
            return EXIT_FAILED
        decision = parse_event(
            settings.event_name,
            payload,
            trigger_phrase=settings.trigger_phrase,
            label=settings.label,
            direct_prompt=settings.prompt,
            run_id=settings.run_id,
            fallback_repository=settings.repository,
        )
        if isinstance(decision, Skip):
            return self._skip(decision.reason)
        trigger = self.trigger = decision
        actor = trigger.actor
        if actor.is_bot and not self._bot_allowed(actor.login):
            return self._skip(f"{actor.login} is a bot; list it in allowed-bots to let it start tasks")
        if not self._ready("github"):
            return EXIT_FAILED
        github = self.github = GitHub(
            settings.github_token.get_secret_value() if settings.github_token else "",
            settings.api_url,
            self.repository,
        )
        refusal = self._refusal()
        if refusal is not None:
            return refusal
        target = self._target(github)
        if target.from_fork and not settings.allow_forks:
            self._reply(fork_comment(target.head_repo or "a deleted fork"))
            return self._skip("the pull request comes from a fork, and allow-forks is off")
        # Checked this late so that requests refused above need no secret: GitHub gives
        # none to workflows run for pull requests from forks.
        if not self._ready("rebyte"):
            return EXIT_FAILED

        self._react("eyes")  # at once: creating the task can take minutes

        command = self._command()
        if command is None:  # answered already: help, a usage error, a prompt too long
            return EXIT_FAILED if self.outcome.failed else EXIT_OK
        branch = (
            command.branch
            or settings.branch
            or target.head_ref
            or _branch_of(payload.get("ref"))
            or _branch_of(settings.ref)
            or trigger.default_branch
        )
        github_url = target.head_repo if (target.from_fork and target.head_repo) else self.repository
        plan = self._plan(command, branch, github_url)
        markers = github.thread_markers(trigger.subject.number) if trigger.subject is not None else []
        earlier = _latest(m for m in markers if m.marker.request == trigger.request_key)
        if earlier is not None:  # a re-run of this request
            if earlier.marker.kind == "task" and earlier.marker.task_id:
                return self._already_done(earlier, plan, target)
            if earlier.marker.kind == "pending":
                return self._outcome_unknown(earlier)
            self.answer_id = earlier.comment_id  # it failed before: try again in the same comment
        fresh = command.new or command.executor or command.model or command.branch
        continue_from = None if fresh else _latest_task(markers)
        return self._act(plan, target, continue_from)

    @property
    def repository(self) -> str:
        return self.settings.repository or (self.trigger.repository if self.trigger else "")

    def _refusal(self) -> int | None:
        """Who may trigger: a skip when the sender lacks the permission input's role."""
        trigger, github = self.trigger, self.github
        assert trigger is not None and github is not None
        actor = trigger.actor
        if not actor.login or actor.is_bot:  # a schedule has no sender; an allowed bot has no role
            return None
        have = github.permission(actor.login)
        need = self.settings.required_permission
        if have >= need:
            return None
        self._reply(permission_comment(actor.login, have.name.lower(), need.name.lower()))
        return self._skip(f"@{actor.login} has {have.name.lower()} permission; {need.name.lower()} is needed")

    def _target(self, github: GitHub) -> Target:
        """Where the pull request's code lives; a PR comment's payload lacks it, so fetch it once."""
        subject = self.trigger.subject if self.trigger else None
        if subject is None or not subject.is_pull_request:
            return Target()
        head_ref, head_sha, head_repo = subject.head_ref, subject.head_sha, subject.head_repo
        if head_ref is None:
            pull = github.pull(subject.number)
            head_ref, head_sha, head_repo = pull.head_ref, pull.head_sha, pull.head_repo
        return Target(head_ref, head_sha, head_repo, from_fork=head_repo != self.repository)

    # -- steps -----------------------------------------------------------------------

    def _load_event(self) -> dict[str, Any] | None:
        path = self.settings.event_path
        if not path:
            self.workflow.error(
                "GITHUB_EVENT_PATH is not set: run this action from a GitHub Actions workflow"
            )
            self.outcome.failed = True
            return None
        try:
            with open(path, encoding="utf-8") as handle:
                payload = json.load(handle)
        except (OSError, ValueError) as error:
            self.workflow.error(f"cannot read the event at GITHUB_EVENT_PATH ({path}): {error}")
            self.outcome.failed = True
            return None
        if not isinstance(payload, dict):
            self.workflow.error(f"the event at GITHUB_EVENT_PATH ({path}) is not a JSON object")
            self.outcome.failed = True
            return None
        return payload

    def _bot_allowed(self, login: str) -> bool:
        allowed = {b.lower().removesuffix("[bot]") for b in self.settings.allowed_bots}
        return "*" in allowed or login.lower().removesuffix("[bot]") in allowed

    def _ready(self, service: str) -> bool:
        """Whether the inputs needed to talk to ``service`` are there; an ::error:: per missing one."""
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
                "input 'rebyte-api-key' is empty: add `rebyte-api-key: ${{ secrets.REBYTE_API_KEY }}` to the "
                "step's `with:` and store the key as a repository secret (workflows run for pull requests "
                "from forks get no secrets)"
            )
        for problem in problems:
            self.workflow.error(problem)
        if problems:
            self.outcome.failed = True
            self.outcome.headline = "not started: the step is misconfigured"
            self.outcome.detail = "\n".join(f"- {p}" for p in problems)
        return not problems

    def _command(self) -> Command | None:
        trigger = self.trigger
        assert trigger is not None
        if trigger.kind == "label":
            subject = trigger.subject
            assert subject is not None
            kind = "pull request" if subject.is_pull_request else "issue"
            title = subject.title.strip()
            return Command(
                prompt=f"Work on {kind} #{subject.number}: {title}\n\nDo what it asks; it is described below."
            )
        if trigger.kind == "direct":
            return self._check_length(Command(prompt=trigger.text))
        try:
            command = parse_command(trigger.text)
        except UsageError as error:
            self._reply(usage_comment(str(error)))
            self._skip(f"usage error: {error}")
            return None
        if command.help:
            self._reply(usage_comment(None))
            self._skip("help was asked for")
            return None
        return self._check_length(command)

    def _check_length(self, command: Command) -> Command | None:
        if len(command.prompt) <= MAX_PROMPT_CHARS:
            return command
        problem = (
            f"the prompt has {len(command.prompt):,} characters; Rebyte takes at most {MAX_PROMPT_CHARS:,}"
        )
        if self.trigger is not None and self.trigger.kind == "direct":
            self.workflow.error(f"input 'prompt': {problem}")
            self.outcome.failed = True
            return None
        self._reply(usage_comment(problem))
        self._skip(f"usage error: {problem}")
        return None

    def _plan(self, command: Command, branch: str, github_url: str) -> Plan:
        settings, trigger = self.settings, self.trigger
        assert trigger is not None
        return Plan(
            prompt=build_prompt(trigger, command.prompt, branch=branch),
            executor=command.executor or settings.executor,
            model=command.model or settings.model,
            skills=tuple(dict.fromkeys(command.skills or settings.skills)),
            branch=branch,
            github_url=github_url,
            visibility="public" if command.public else settings.visibility,
        )

    def _rebyte(self) -> RebyteClient:
        key = self.settings.rebyte_api_key
        return RebyteClient(key.get_secret_value() if key else "", base_url=self.settings.rebyte_base_url)

    @property
    def following(self) -> bool:
        return self.settings.wait or self.settings.check_run

    def _act(self, plan: Plan, target: Target, continue_from: ThreadMarker | None) -> int:
        trigger = self.trigger
        assert trigger is not None
        # The answer exists before the task does: a re-run that finds it still pending knows
        # a task may have started, and starts no second one.
        self._answer(
            pending_comment(trigger.actor.login, trigger.request_key, continuing=bool(continue_from))
        )
        with self._rebyte() as rebyte:
            try:
                facts = self._continue(rebyte, plan, continue_from) if continue_from else None
                facts = facts or self._create(rebyte, plan)
            except RebyteError as error:
                return self._rebyte_failed(error)
            self.outcome.facts = facts
            self.outcome.status = "running"
            self.outcome.headline = "task continued" if facts.continued else "task started"
            self.workflow.log(
                f"Rebyte task {facts.task_id} {'continued' if facts.continued else 'started'}: {facts.url}"
            )
            if plan.visibility:
                self.outcome.facts = facts = self._set_visibility(rebyte, facts, plan.visibility)
            self._answer(
                started_comment(facts, trigger.request_key, status="running" if self.following else None)
            )
            if not self.following:
                return EXIT_OK
            return self._follow(rebyte, facts, target)

    def _follow(self, rebyte: RebyteClient, facts: TaskFacts, target: Target) -> int:
        """Stay with the task to its end; the step's result is the task's."""
        settings, trigger = self.settings, self.trigger
        assert trigger is not None
        tracker = Tracker(
            self.github,
            rebyte,
            self.workflow,
            facts=facts,
            request_key=trigger.request_key,
            issue=trigger.subject.number if trigger.subject else None,
            comment_id=self.answer_id,
            head_sha=target.head_sha or settings.sha or None,
            check_run=settings.check_run,
            timeout_minutes=settings.timeout_minutes,
            poll_seconds=settings.poll_seconds,
        )
        try:
            tracker.start()
            ended = tracker.follow(on_status=self._status_seen)
        except Cancelled:  # whenever it comes, close what was opened
            tracker.finish(Tracked(status=tracker.shown or "running", cancelled=True))
            raise
        self.outcome.status = ended.status
        if ended.succeeded:
            self.outcome.headline = "task completed"
            return EXIT_OK
        self.outcome.failed = True
        if ended.timed_out:
            self.outcome.headline = f"task still {ended.status} after {settings.timeout_minutes:g} minutes"
            self.workflow.error(
                f"Stopped following the task: {self.outcome.headline}. It goes on at {facts.url}"
            )
        elif ended.error:
            self.outcome.headline = "lost track of the task"
            self.workflow.error(f"Lost track of the task at {facts.url}: {ended.error}")
        else:
            self.outcome.headline = f"task {ended.status}"
            self.workflow.error(f"The Rebyte task ended {ended.status}: {facts.url}")
        self._react("confused")
        return EXIT_FAILED

    def _status_seen(self, status: str) -> None:
        self.outcome.status = status

    def _rebyte_failed(self, error: RebyteError) -> int:
        if _may_have_taken_effect(error):
            return self._fail(
                "Rebyte did not answer clearly",
                "The request reached Rebyte, but the answer was lost or broken, so the task may have "
                "started. It was not sent again, so that nothing is paid for twice: look for it at "
                f"https://app.rebyte.ai before asking again. ({_describe_rebyte_error(error)})",
            )
        if isinstance(error, TransportError):
            return self._fail("Could not reach Rebyte", str(error))
        return self._fail("Rebyte could not start the task", _describe_rebyte_error(error))

    def _facts(self, plan: Plan, task_id: str, url: str, workspace_id: str, *, continued: bool) -> TaskFacts:
        trigger = self.trigger
        assert trigger is not None
        request_url = (
            trigger.comment.url if trigger.comment else (trigger.subject.url if trigger.subject else None)
        )
        return TaskFacts(
            task_id=task_id,
            url=url,
            workspace_id=workspace_id,
            branch=plan.branch,
            repository=plan.github_url,
            executor=plan.executor,
            model=plan.model,
            skills=plan.skills,
            requested_by=trigger.actor.login,
            request_url=request_url,
            run_url=self.settings.run_url,
            continued=continued,
        )

    def _continue(self, rebyte: RebyteClient, plan: Plan, found: ThreadMarker) -> TaskFacts | None:
        """Send the request to the thread's task; None when that task is gone."""
        task_id = found.marker.task_id
        assert task_id is not None
        try:
            task = rebyte.get_task(task_id)
        except NotFoundError:
            self.workflow.log(f"The thread's task {task_id} is gone; starting a new one")
            return None
        rebyte.follow_up(task_id, plan.prompt, skills=list(plan.skills))
        return self._facts(plan, task.id, task.url, found.marker.workspace_id or "", continued=True)

    def _create(self, rebyte: RebyteClient, plan: Plan) -> TaskFacts:
        created = rebyte.create_task(
            plan.prompt,
            executor=plan.executor,
            model=plan.model,
            skills=list(plan.skills),
            github_url=plan.github_url,
            branch_name=plan.branch,
        )
        return self._facts(plan, created.id, created.url, created.workspace_id, continued=False)

    def _set_visibility(self, rebyte: RebyteClient, facts: TaskFacts, visibility: str) -> TaskFacts:
        try:
            change = rebyte.set_visibility(facts.task_id, visibility)
        except RebyteError as error:
            self.workflow.warning(
                f"The task started, but its visibility could not be set to {visibility}: {error}"
            )
            return facts
        return replace(facts, share_url=change.share_url) if change.share_url else facts

    def _already_done(self, found: ThreadMarker, plan: Plan, target: Target) -> int:
        """A re-run of a request that already has its task: report it (and follow it), start nothing."""
        marker = found.marker
        assert marker.task_id is not None
        self.workflow.log(f"This request already started task {marker.task_id} (comment {found.comment_id})")
        self.answer_id = found.comment_id
        self.outcome.comment_id = str(found.comment_id)
        self.outcome.headline = "already started by an earlier attempt of this run; nothing new started"
        with self._rebyte() as rebyte:
            try:
                task = rebyte.get_task(marker.task_id)
            except RebyteError as error:
                self.workflow.warning(f"Could not read task {marker.task_id}: {error}")
                task = None
            facts = self._facts(
                plan,
                marker.task_id,
                task.url if task else marker.url or "",
                marker.workspace_id or "",
                continued=False,
            )
            self.outcome.facts = facts
            self.outcome.status = task.status.value if task else ""
            if task is None or not self.following:
                return EXIT_OK
            return self._follow(rebyte, facts, target)

    def _outcome_unknown(self, found: ThreadMarker) -> int:
        """An earlier attempt stopped between announcing and answering: a task may exist."""
        self.answer_id = found.comment_id
        self.outcome.comment_id = str(found.comment_id)
        return self._fail(
            "Not started again",
            "An earlier attempt of this workflow run stopped while it was starting the task, so a task "
            "may have started. No second one is started, so that nothing is paid for twice: look for "
            "it at https://app.rebyte.ai, and ask again in a new comment if there is none.",
            kind="pending",  # later attempts must not start one either
        )

    # -- answers ---------------------------------------------------------------------

    def _answer(self, body: str) -> None:
        """Post the answer comment, or edit it once it exists. GitHub's errors propagate."""
        trigger, github = self.trigger, self.github
        if trigger is None or github is None or trigger.subject is None:
            return
        if self.answer_id is None:
            self.answer_id = github.comment(trigger.subject.number, body).id
        else:
            github.edit_comment(trigger.subject.number, self.answer_id, body)
        self.outcome.comment_id = str(self.answer_id)

    def _react(self, content: str) -> None:
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

    def _reply(self, body: str) -> None:
        trigger, github = self.trigger, self.github
        if trigger is None or github is None or trigger.subject is None:
            return
        try:
            posted = github.comment(trigger.subject.number, body)
            self.outcome.comment_id = str(posted.id)
        except GitHubError as error:
            self.workflow.warning(f"could not post the reply: {error}")

    def _skip(self, reason: str) -> int:
        self.workflow.log(f"Nothing to do: {reason}")
        self.outcome.skipped = reason
        self.outcome.headline = self.outcome.headline or "nothing started"
        self.outcome.detail = self.outcome.detail or reason
        return EXIT_OK

    def _fail(self, what: str, detail: str, *, comment: bool = True, kind: str = "failed") -> int:
        self.outcome.failed = True
        self.outcome.headline = what.lower()
        self.outcome.detail = detail
        self.workflow.error(f"{what}: {detail}")
        if comment:
            facts = self.outcome.facts
            request = self.trigger.request_key if self.trigger else None
            body = failure_comment(
                what, detail, self.settings.run_url, facts.url if facts else None, request, kind=kind
            )
            try:
                self._answer(body)
            except GitHubError as error:
                self.workflow.warning(f"could not post the failure on GitHub: {error}")
            self._react("confused")
        return EXIT_FAILED

    def _scrub(self, text: str) -> str:
        for secret in (self.settings.rebyte_api_key, self.settings.github_token):
            if secret is not None and secret.get_secret_value():
                text = text.replace(secret.get_secret_value(), "***")
        return text

    def _finish(self) -> None:
        outcome = self.outcome
        facts = outcome.facts
        if facts is not None and outcome.failed:
            # Nothing is lost: the URL reaches the log even when GitHub could not take it.
            self.workflow.log(f"Rebyte task {facts.task_id}: {facts.url}")
        self.workflow.set_outputs(outcome.outputs())
        headline = outcome.headline or ("failed" if outcome.failed else "done")
        self.workflow.summary(summary(facts, headline=headline, detail=outcome.detail))
        if self.github is not None:
            self.github.close()


def _latest(markers: Iterable[ThreadMarker]) -> ThreadMarker | None:
    return max(markers, key=lambda m: m.comment_id, default=None)


def _latest_task(markers: list[ThreadMarker]) -> ThreadMarker | None:
    return _latest(m for m in markers if m.marker.kind == "task" and m.marker.task_id)


def _branch_of(ref: object) -> str | None:
    """``refs/heads/x`` is branch ``x``; a tag or anything else is no branch."""
    if isinstance(ref, str) and ref.startswith("refs/heads/"):
        return ref.removeprefix("refs/heads/")
    return None


def _may_have_taken_effect(error: RebyteError) -> bool:
    """Whether a failed create or follow-up may still have started work (so must not be resent)."""
    if isinstance(error, TransportError):
        return error.maybe_delivered
    return isinstance(error, UnexpectedResponse | ServerError)


def _describe_rebyte_error(error: RebyteError) -> str:

    if isinstance(error, UnauthorizedError):
        return (
            f"Rebyte refused the API key (`{error.code}`: {error.message}). Check the `REBYTE_API_KEY` "
            "secret: keys start with `rbk_` and come from https://app.rebyte.ai/settings/api-keys."
        )
    if isinstance(error, LimitExceededError):
        wait = f" Try again in {error.retry_after:g} seconds." if error.retry_after else ""
        return f"A Rebyte limit was reached (`{error.code}`: {error.message}).{wait}"
    if isinstance(error, APIError):
        return f"Rebyte answered `{error.code}` (HTTP {error.status}): {error.message}"
    return str(error)


def main() -> int:
    from .settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as error:
        # The settings are what failed, so the runner's files come straight from the environment.
        bootstrap = Workflow(os.environ.get("GITHUB_OUTPUT", ""), os.environ.get("GITHUB_STEP_SUMMARY", ""))
        bootstrap.error(f"{error}. Fix the step's `with:` inputs.")
        bootstrap.set_outputs({**Outcome().outputs(), "skipped": "the step's inputs are invalid"})
        bootstrap.summary(
            summary(None, headline="not started: the step's inputs are invalid", detail=str(error))
        )
        return EXIT_FAILED
    workflow = Workflow(settings.output_path, settings.summary_path)
    for secret in (settings.rebyte_api_key, settings.github_token):
        if secret is not None and secret.get_secret_value():
            workflow.mask(secret.get_secret_value())
    signal.signal(signal.SIGTERM, _cancel)  # PID 1 in a container ignores SIGTERM without a handler
    return Run(settings, workflow).execute()


def _cancel(signum: int, frame: object) -> None:
    raise Cancelled
