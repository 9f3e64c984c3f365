"""What GitHub accepts, as the fake checks it: roles, reactions, check runs (docs.github.com, REST)."""

from __future__ import annotations

from typing import Any

# The role (``role_name``) as the legacy ``permission`` field of
# GET /repos/{owner}/{repo}/collaborators/{username}/permission gives it.
LEGACY_PERMISSION = {
    "admin": "admin",
    "maintain": "write",
    "write": "write",
    "triage": "read",
    "read": "read",
}
REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")
CHECK_RUN_CONCLUSIONS = (
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "success",
    "skipped",
    "timed_out",
)


def check_run_problem(body: dict[str, Any]) -> str | None:
    """What GitHub would refuse in a check run's body (create or update), or None."""
    status, conclusion = body.get("status"), body.get("conclusion")
    if status is not None and status not in ("queued", "in_progress", "completed"):
        return f"status {status!r} is not queued, in_progress or completed"
    if conclusion is not None and conclusion not in CHECK_RUN_CONCLUSIONS:
        return f"conclusion {conclusion!r} is not one of {', '.join(CHECK_RUN_CONCLUSIONS)}"
    if status == "completed" and not conclusion:
        return "conclusion is required when status is completed"
    output = body.get("output")
    if output is not None:
        if not isinstance(output, dict) or not output.get("title") or not output.get("summary"):
            return "output needs a title and a summary"
        if len(output["summary"]) > 65535 or len(output.get("text") or "") > 65535:
            return "output summary and text are at most 65535 characters"
    return None
