"""The `rebyte` command, run as a subprocess against the emulator."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from rebyte_action.rebyte.emulator import Emulator

from .conftest import API_KEY

REBYTE = str(Path(sys.executable).with_name("rebyte"))


def rebyte(
    emulator: Emulator | None, *args: str, key: str | None = API_KEY, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REBYTE_")}
    if key is not None:
        env["REBYTE_API_KEY"] = key
    if emulator is not None:
        env["REBYTE_BASE_URL"] = emulator.url
    return subprocess.run(
        [REBYTE, *args], capture_output=True, text=True, env=env, input=stdin, timeout=30, check=False
    )


def out(result: subprocess.CompletedProcess[str]) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_create_prints_the_task_as_json_and_the_live_url_on_stderr(emulator: Emulator) -> None:
    result = rebyte(emulator, "create", "--prompt", "Hello world", "--repo", "octo/repo", "--branch", "dev")
    task = out(result)
    assert task["url"] == f"https://app.rebyte.ai/run/{task['id']}"
    assert task["url"] in result.stderr
    stored = emulator.state.tasks[task["id"]]
    assert (stored.github_url, stored.branch_name) == ("octo/repo", "dev")
    # The repository's address, as copied from the browser, is read as owner/repo.
    address = out(rebyte(emulator, "create", "-p", "Hi", "--repo", "https://github.com/octo/repo.git"))
    assert emulator.state.tasks[address["id"]].github_url == "octo/repo"


def test_create_with_files_uploads_each_then_attaches_them(emulator: Emulator, tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.txt"
    first.write_text("x,y\n")
    second.write_text("notes")
    task = out(
        rebyte(
            emulator,
            "create",
            "-p",
            "Analyse",
            "--file",
            str(first),
            "--file",
            str(second),
            "--executor",
            "claude",
            "--model",
            "pro",
            "--skill",
            "pdf",
            "--skills",
            "data-analysis,deep-research",
        )
    )
    stored = emulator.state.tasks[task["id"]]
    assert [f["filename"].split("-")[0] for f in stored.files] == ["a", "b"]
    assert stored.skills == ["pdf", "data-analysis", "deep-research"]
    assert (stored.executor, stored.model) == ("claude", "pro")
    uploaded = [emulator.state.uploads[f["id"]].data for f in stored.files]
    assert uploaded == [b"x,y\n", b"notes"]


def test_create_wait_exits_0_when_the_task_completes(emulator: Emulator) -> None:
    result = rebyte(emulator, "create", "-p", "quick", "--wait", "--interval", "0.05")
    assert out(result)["status"] == "completed"
    assert "running" in result.stderr
    assert "completed" in result.stderr


@pytest.mark.parametrize("directive", ["[emulate:fail]", "[emulate:cancel]"])
def test_create_wait_exits_3_when_the_task_fails_or_is_canceled(emulator: Emulator, directive: str) -> None:
    result = rebyte(emulator, "create", "-p", f"job {directive}", "--wait", "--interval", "0.05")
    assert result.returncode == 3
    assert json.loads(result.stdout)["status"] in ("failed", "canceled")


def test_wait_exits_4_on_timeout_and_still_prints_the_task(emulator: Emulator) -> None:
    task_id = out(rebyte(emulator, "create", "-p", "forever [emulate:hang]"))["id"]
    result = rebyte(emulator, "wait", task_id, "--timeout", "0.3", "--interval", "0.1")
    assert result.returncode == 4
    assert json.loads(result.stdout)["status"] == "running"
    assert "still running" in result.stderr


def test_wait_shows_each_status_change_on_stderr(emulator: Emulator) -> None:
    task_id = out(rebyte(emulator, "create", "-p", "x"))["id"]
    result = rebyte(emulator, "wait", task_id, "--interval", "0.05")
    assert out(result)["status"] == "completed"
    assert result.stderr.splitlines()[-1] == f"task {task_id}: completed"


def test_get_list_and_list_all(emulator: Emulator) -> None:
    ids = [out(rebyte(emulator, "create", "-p", f"t{n}"))["id"] for n in range(3)]
    assert out(rebyte(emulator, "get", ids[0]))["id"] == ids[0]
    page = out(rebyte(emulator, "list", "--limit", "2", "--offset", "1"))
    assert [t["id"] for t in page["data"]] == [ids[1], ids[0]]
    every = out(rebyte(emulator, "list", "--all"))
    assert [t["id"] for t in every["data"]] == list(reversed(ids))


def test_follow_up_visibility_share_and_delete(emulator: Emulator) -> None:
    task_id = out(rebyte(emulator, "create", "-p", "x"))["id"]
    assert "promptId" in out(rebyte(emulator, "follow-up", task_id, "-p", "more", "--skill", "pdf"))
    assert out(rebyte(emulator, "visibility", task_id, "private"))["visibility"] == "private"
    shared = rebyte(emulator, "share", task_id)
    assert out(shared)["shareUrl"] == f"https://app.rebyte.ai/share/{task_id}"
    assert out(shared)["shareUrl"] in shared.stderr
    assert out(rebyte(emulator, "delete", task_id)) == {"id": task_id, "deleted": True}
    assert rebyte(emulator, "get", task_id).returncode == 1


def test_follow_up_can_wait(emulator: Emulator) -> None:
    task_id = out(rebyte(emulator, "create", "-p", "x"))["id"]
    assert (
        rebyte(
            emulator, "follow-up", task_id, "-p", "and fail [emulate:fail]", "--wait", "--interval", "0.05"
        ).returncode
        == 3
    )


def test_upload_prints_the_id_and_uniquified_filename(emulator: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text("{}")
    answer = out(rebyte(emulator, "upload", str(path)))
    assert set(answer) == {"id", "filename"}
    assert emulator.state.uploads[answer["id"]].data == b"{}"


def test_the_prompt_can_come_from_stdin(emulator: Emulator) -> None:
    task = out(rebyte(emulator, "create", "--prompt-file", "-", stdin="from a pipe\n"))
    assert emulator.state.tasks[task["id"]].prompts[0].text == "from a pipe\n"


def test_an_api_error_exits_1_with_the_code_and_message(emulator: Emulator) -> None:
    result = rebyte(emulator, "get", "no-such-task")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "not_found" in result.stderr
    assert "no-such-task" in result.stderr


def test_a_bad_key_exits_1_without_printing_the_key(emulator: Emulator) -> None:
    result = rebyte(emulator, "list", key="sk_secret_value")
    assert result.returncode == 1
    assert "unauthorized" in result.stderr
    assert "sk_secret_value" not in result.stderr + result.stdout


def test_a_missing_key_is_one_clear_line_and_exit_2(emulator: Emulator) -> None:
    result = rebyte(emulator, "list", key=None)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "export REBYTE_API_KEY=" in result.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["create"], "--prompt"),
        (["create", "-p", "  "], "empty"),
        (["create", "-p", "x", "--executor", "vim"], "invalid choice"),
        (["create", "-p", "x", "--file", "/no/such/file"], "no such file"),
        (["create", "-p", "x", "--repo", "not a repo"], "--repo/--github-url: expected OWNER/REPO"),
        (["list", "--limit", "500"], "limit"),
        (["visibility", "t", "everyone"], "invalid choice"),
        (["upload", "/no/such/file"], "no such file"),
        (["upload", "/"], "/ is a directory, not a file"),
        (["create", "-p", "x", "--file", "/"], "--file: / is a directory, not a file"),
        (["frobnicate"], "invalid choice"),
        (["create", "-p", "x", "--wait", "--timeout", "-5"], "--timeout: must be a number of seconds > 0"),
        (["create", "-p", "x", "--wait", "--interval", "-1"], "--interval: must be a number of seconds > 0"),
        (
            ["create", "-p", "x", "--wait", "--interval", "soon"],
            "--interval: must be a number of seconds > 0",
        ),
        (["wait", "t", "--timeout", "0"], "--timeout: must be a number of seconds > 0"),
        (["--base-url", "notaurl", "list"], "--base-url: must be an http:// or https:// URL"),
        (["--base-url", "ftp://x", "list"], "--base-url: must be an http:// or https:// URL"),
    ],
)
def test_usage_errors_exit_2_and_say_what_is_wrong(emulator: Emulator, args: list[str], words: str) -> None:
    result = rebyte(emulator, *args)
    assert result.returncode == 2
    assert words in result.stderr
    assert "Traceback" not in result.stderr
    assert emulator.requests() == []


def test_a_network_failure_exits_1(tmp_path: Path) -> None:
    env_emulator = Emulator()
    url = env_emulator.url
    env_emulator.stop()  # never started serving: the port now refuses connections
    env = {**os.environ, "REBYTE_API_KEY": API_KEY, "REBYTE_BASE_URL": url}
    result = subprocess.run(
        [REBYTE, "list"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert result.returncode == 1
    assert "ConnectError" in result.stderr


def test_the_emulator_command_prints_its_url_and_serves_the_api() -> None:
    process = subprocess.Popen(
        [
            REBYTE,
            "emulator",
            "--port",
            "0",
            "--task-seconds",
            "0.1",
            "--fault",
            '{"kind": "status", "status": 503}',
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        first = httpx.get(url + "/v1/tasks", headers={"API_KEY": API_KEY})
        assert first.status_code == 503  # the fault given on the command line
        assert httpx.get(url + "/v1/tasks", headers={"API_KEY": API_KEY}).json()["total"] == 0
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_the_emulator_command_refuses_a_bad_fault() -> None:
    result = rebyte(None, "emulator", "--port", "0", "--fault", '{"kind": "boom"}')
    assert result.returncode == 2
    assert "--fault" in result.stderr


@pytest.mark.parametrize("port", ["99999", "-1"])
def test_the_emulator_command_refuses_a_port_out_of_range_in_one_line(port: str) -> None:
    result = rebyte(None, "emulator", "--port", port)
    assert result.returncode == 2
    assert "--port: must be a port number from 0 to 65535" in result.stderr
    assert "Traceback" not in result.stderr


def test_ctrl_c_while_waiting_says_the_task_goes_on_and_how_to_follow_it_again(emulator: Emulator) -> None:
    task_id = out(rebyte(emulator, "create", "-p", "x [emulate:hang]"))["id"]
    env = {**os.environ, "REBYTE_API_KEY": API_KEY, "REBYTE_BASE_URL": emulator.url}
    process = subprocess.Popen(
        [REBYTE, "wait", task_id, "--interval", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # A shell's background job ignores SIGINT, and a child inherits that: as a terminal would.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stderr is not None
    assert "running" in process.stderr.readline()  # it is waiting
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130
    lines = stderr.splitlines()
    assert f"rebyte wait {task_id}" in lines[-1] and "goes on" in lines[-1]
    assert "Traceback" not in stderr


def test_wait_draws_a_spinner_when_stderr_is_a_terminal(emulator: Emulator) -> None:
    import pty

    task_id = out(rebyte(emulator, "create", "-p", "x [emulate:hang]"))["id"]  # so the wait always waits
    leader, follower = pty.openpty()
    env = {**os.environ, "REBYTE_API_KEY": API_KEY, "REBYTE_BASE_URL": emulator.url}
    process = subprocess.run(
        [REBYTE, "wait", task_id, "--interval", "0.3", "--timeout", "1"],
        stdout=subprocess.PIPE,
        stderr=follower,
        env=env,
        timeout=30,
        check=False,
    )
    os.close(follower)
    drawn = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        drawn += chunk
    os.close(leader)
    assert process.returncode == 4
    assert json.loads(process.stdout)["status"] == "running"
    text = drawn.decode()
    assert "waiting…" in text and "\r" in text
    assert "\x1b[K" in text  # the spinner line is cleared before the final status
