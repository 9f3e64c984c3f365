"""The entry point the container runs: ``python -m rebyte_action``.

Most events a workflow sees are not requests (a comment without the phrase, an edited
comment, another label). Those are decided from the event file and the few inputs a skip
needs, read from the environment, before PyGithub, httpx or pydantic are imported: a
skipped event costs the runner about what ``python -c pass`` does. The plain ones
(:mod:`gate`) import nothing beyond ``json``; the rest are parsed in full by :mod:`events`.
"""

import json
import os
import sys

from .gate import DEFAULT_LABEL, DEFAULT_TRIGGER_PHRASE, plain_skip
from .outcome import Outcome
from .workflow import Workflow, read_input


def skip_early() -> int | None:
    """Exit 0 with the reason when the event is plainly not a request; None to run in full.

    Anything unusual (reconcile mode, a blank phrase or label, an event file that cannot be
    read) goes to the full run, which reports it as it always has.
    """
    if read_input("mode", "run").strip().lower() != "run":
        return None
    phrase = read_input("trigger-phrase", DEFAULT_TRIGGER_PHRASE).strip()
    label = read_input("label", DEFAULT_LABEL).strip()
    path = os.environ.get("GITHUB_EVENT_PATH", "")
    if not (phrase and label and path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            payload = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(payload, dict):
        return None
    event_name, direct_prompt = os.environ.get("GITHUB_EVENT_NAME", ""), read_input("prompt")
    reason = plain_skip(event_name, payload, trigger_phrase=phrase, label=label, direct_prompt=direct_prompt)
    if reason is None:
        from .events import Skip, parse_event

        decision = parse_event(
            event_name,
            payload,
            trigger_phrase=phrase,
            label=label,
            direct_prompt=direct_prompt,
            run_id=os.environ.get("GITHUB_RUN_ID", ""),
            fallback_repository=os.environ.get("GITHUB_REPOSITORY", ""),
        )
        if not isinstance(decision, Skip):
            return None
        reason = decision.reason
    workflow = Workflow(os.environ.get("GITHUB_OUTPUT", ""), os.environ.get("GITHUB_STEP_SUMMARY", ""))
    outcome = Outcome()
    code = outcome.skip(workflow, reason)
    outcome.write(workflow)
    return code


def main() -> int:
    early = skip_early()
    if early is not None:
        return early
    from .run import main as run

    return run()


sys.exit(main())
