"""`rebyte try-event EVENT.json`: the action on a user's own event file, through the CLI as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rebyte_action.try_event import EventFileError, infer_event_name, parse_inputs

from .action_harness import EVENTS, load_event


def try_event(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rebyte_action.cli", "try-event", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
    )


def write(tmp_path: Path, event: Any, name: str = "event.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(event) if not isinstance(event, str) else event)
    return path


def section(out: str, title: str) -> str:
    """The text under ``== title ==`` up to the next banner."""
    start = out.index(f"== {title}")
    start = out.index("\n", start) + 1
    end = out.find("\n== ", start)
    return out[start : end if end != -1 else len(out)]


@pytest.mark.parametrize(
    ("fixture", "event_name"),
    [
        ("issue_comment.created", "issue_comment"),
        ("issues.labeled", "issues"),
        ("pull_request.labeled", "pull_request"),
        ("pull_request_review_comment.created", "pull_request_review_comment"),
        ("workflow_dispatch", "workflow_dispatch"),
    ],
)
def test_each_real_payload_is_told_apart_by_its_shape(fixture: str, event_name: str) -> None:
    assert infer_event_name(load_event(fixture)) == event_name


def test_an_issue_comment_fixture_as_it_is_is_skipped_and_says_why() -> None:
    result = try_event(EVENTS / "issue_comment.created.json")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Event:           issue_comment (told from the payload's shape), action created" in out
    assert "skipped=the comment has no line starting with /rebyte" in out
    assert section(out, "GitHub requests the action made").strip() == "(none)"
    assert section(out, "Rebyte API calls").strip() == "(none)"
    assert section(out, "The prompt sent to Rebyte").strip() == "(none)"


def test_a_rebyte_comment_on_a_pull_request_starts_a_task_on_its_head_branch(tmp_path: Path) -> None:
    event = load_event("issue_comment.created")
    event["comment"]["body"] = "/rebyte --executor claude fix the typo"
    event["issue"]["pull_request"] = {"url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/1"}
    result = try_event(write(tmp_path, event))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Seeded:          sender @Codertocat has the write role on Codertocat/Hello-World" in out
    assert section(out, "GitHub requests the action made").splitlines() == [
        "GET /repos/Codertocat/Hello-World/collaborators/Codertocat/permission",
        "GET /repos/Codertocat/Hello-World/pulls/1",
        "POST /repos/Codertocat/Hello-World/issues/comments/492700400/reactions  eyes",
        "GET /repos/Codertocat/Hello-World/issues/1/comments",
        "POST /repos/Codertocat/Hello-World/issues/1/comments",
        "GET /repos/Codertocat/Hello-World/issues/comments",
        "PATCH /repos/Codertocat/Hello-World/issues/comments/900000002",
    ]
    assert section(out, "Rebyte API calls").strip() == "POST /v1/tasks -> 201"
    sent = section(out, "The prompt sent to Rebyte")
    assert sent.startswith("fix the typo") and "pull request #1" in sent.lower()
    comment = section(out, "The comment it posted on #1 (as it reads now)")
    assert "🚀 **Rebyte task started**: [watch it live](https://app.rebyte.ai/run/" in comment
    assert "on branch `pr-1`" in comment
    outputs = section(out, "Its outputs")
    assert "task-url=https://app.rebyte.ai/run/" in outputs and "status=running" in outputs
    assert "### Rebyte: task started" in section(out, "Its step summary")
    assert out.rstrip().endswith("The action exited 0.")


def test_a_label_event_starts_a_task_when_the_label_input_names_its_label() -> None:
    result = try_event(EVENTS / "issues.labeled.json", "--input", "label=bug")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "POST /repos/Codertocat/Hello-World/issues/1/reactions  eyes" in result.stdout
    assert "task-url=https://app.rebyte.ai/run/" in result.stdout

    other = try_event(EVENTS / "issues.labeled.json")
    assert "skipped=the label added was 'bug', not 'rebyte'" in other.stdout


def test_the_config_file_input_serves_the_local_file_and_its_label_presets_apply(tmp_path: Path) -> None:
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "rebyte.yml").write_text("labels:\n  bug:\n    prompt: Find the bug.\n")
    event = EVENTS / "issues.labeled.json"  # the label "bug"
    result = try_event(event, "--input", "config-file=.github/rebyte.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Seeded:          .github/rebyte.yml from this directory" in result.stdout
    assert section(result.stdout, "The prompt sent to Rebyte").startswith("Find the bug.")
    missing = try_event(event, "--input", "config-file=.github/other.yml", cwd=tmp_path)
    assert "Seeded:          no .github/other.yml here" in missing.stdout
    assert "skipped=the label added was 'bug', not 'rebyte'" in missing.stdout


def test_a_labelled_pull_request_works_on_the_branch_its_payload_names() -> None:
    result = try_event(EVENTS / "pull_request.labeled.json", "--input", "label=BUG")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "POST /repos/Codertocat/Hello-World/issues/2/reactions  eyes" in result.stdout
    assert "on branch `changes`" in result.stdout
    assert "GET /repos/Codertocat/Hello-World/pulls/2" not in result.stdout  # the payload said it


def test_a_review_comment_is_acknowledged_on_the_review_comment(tmp_path: Path) -> None:
    event = load_event("pull_request_review_comment.created")
    event["comment"]["body"] = "/rebyte use more emoji here"
    result = try_event(write(tmp_path, event), "--input", "wait=true")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Event:           pull_request_review_comment (told from the payload's shape)" in out
    assert "POST /repos/Codertocat/Hello-World/pulls/comments/284312630/reactions  eyes" in out
    assert "status=completed" in out  # wait=true followed the emulator's task to its end


def test_a_dispatch_runs_the_prompt_input_in_direct_mode_without_a_comment() -> None:
    result = try_event(EVENTS / "workflow_dispatch.json", "--input", "prompt=Update the changelog")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    # only writers can dispatch a workflow: not even a permission check
    assert section(out, "GitHub requests the action made").splitlines() == ["(none)"]
    assert section(out, "The comment it posted").strip() == "(none)"
    assert "task-url=https://app.rebyte.ai/run/" in out
    assert "on branch `master`" in section(out, "Its step summary")  # the dispatch's ref


def test_a_sender_below_the_permission_input_gets_a_reply_and_no_task(tmp_path: Path) -> None:
    event = load_event("issue_comment.created")
    event["comment"]["body"] = "/rebyte go"
    result = try_event(write(tmp_path, event), "--permission", "read")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "needs **write** permission on this repository, and you have **read**" in result.stdout
    assert section(result.stdout, "Rebyte API calls").strip() == "(none)"

    stranger = try_event(write(tmp_path, event), "--permission", "none")
    assert "and you have **none**" in stranger.stdout


def test_the_event_name_can_be_given_when_the_shape_is_ambiguous() -> None:
    result = try_event(
        EVENTS / "pull_request.labeled.json",
        "--event-name",
        "pull_request_target",
        "--input",
        "label=bug",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Event:           pull_request_target (as given), action labeled" in result.stdout
    assert "task-url=https://app.rebyte.ai/run/" in result.stdout


def test_a_failing_action_is_the_commands_exit_code(tmp_path: Path) -> None:
    result = try_event(
        EVENTS / "workflow_dispatch.json", "--input", "prompt=x [emulate:fail]", "--input", "wait=true"
    )
    assert result.returncode == 1
    assert "status=failed" in result.stdout
    assert result.stdout.rstrip().endswith("The action exited 1.")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"action": ', "is not valid JSON: Expecting value: line 1 column 12"),
        ("", "is empty; it should hold a webhook payload"),
        ("[1, 2]", "holds a JSON list, not an object"),
        ('{"action": "created", "comment": {"id": 1}}', "has no repository.full_name"),
        (
            '{"zen": "Keep it simple.", "hook_id": 1, "repository": {"full_name": "o/r"}}',
            "cannot tell which event this payload is from its keys (hook_id, repository, zen); "
            "pass --event-name",
        ),
    ],
)
def test_a_bad_event_file_is_refused_with_a_message_naming_the_file_and_the_fault(
    tmp_path: Path, content: str, message: str
) -> None:
    path = write(tmp_path, content, "mine.json")
    result = try_event(path)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {path}: "), result.stderr
    assert message in result.stderr
    assert result.stdout == ""  # nothing started


def test_a_missing_file_and_a_folder_are_named(tmp_path: Path) -> None:
    missing = try_event(tmp_path / "nope.json")
    assert (missing.returncode, missing.stderr.strip()) == (
        2,
        f"error: {tmp_path / 'nope.json'}: no such file",
    )
    folder = try_event(tmp_path)
    assert folder.returncode == 2 and "is a directory, not an event file" in folder.stderr


def test_inputs_are_checked_against_the_actions_own() -> None:
    assert parse_inputs(["wait=true", "allow_forks=true", "skills=a,b=c"]) == {
        "wait": "true",
        "allow-forks": "true",
        "skills": "a,b=c",
    }
    with pytest.raises(EventFileError, match="write it as name=value"):
        parse_inputs(["wait"])
    with pytest.raises(EventFileError, match="no such input; it has trigger-phrase, label, prompt"):
        parse_inputs(["colour=blue"])
    with pytest.raises(EventFileError, match="try-event sets it"):
        parse_inputs(["rebyte-base-url=https://api.rebyte.ai"])


def test_a_bad_input_is_a_usage_error_before_anything_starts() -> None:
    result = try_event(EVENTS / "issues.labeled.json", "--input", "colour=blue")
    assert result.returncode == 2
    assert result.stderr.startswith("error: --input colour: the action has no such input")
    assert result.stdout == ""
