"""The emulator speaks the contract on the wire: raw HTTP requests, as the seed's curl examples send them."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from rebyte_action.rebyte.emulator import Emulator, EmulatorConfig

from .conftest import API_KEY

HEADERS = {"API_KEY": API_KEY, "Content-Type": "application/json"}


def api(emulator: Emulator, method: str, path: str, body: object = None, **kwargs: object) -> httpx.Response:
    content = None if body is None else json.dumps(body)
    headers = kwargs.pop("headers", HEADERS)
    return httpx.request(method, emulator.url + path, content=content, headers=headers, **kwargs)  # type: ignore[arg-type]


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]


def test_the_seed_create_example_answers_201_with_the_documented_fields(emulator: Emulator) -> None:
    response = api(
        emulator, "POST", "/v1/tasks", {"prompt": "Your task description here", "skills": ["deep-research"]}
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "workspaceId", "url", "status", "createdAt"}
    assert body["status"] == "running"
    assert body["url"] == f"https://app.rebyte.ai/run/{body['id']}"
    assert body["createdAt"].endswith("Z")
    assert len(body["createdAt"]) == len("2026-02-09T10:30:00.000Z")


def test_get_and_list_have_the_documented_shapes(emulator: Emulator) -> None:
    task_id = api(emulator, "POST", "/v1/tasks", {"prompt": "p"}).json()["id"]
    task = api(emulator, "GET", f"/v1/tasks/{task_id}").json()
    assert set(task) == {
        "id",
        "url",
        "status",
        "title",
        "executor",
        "model",
        "createdAt",
        "completedAt",
        "prompts",
    }
    assert set(task["prompts"][0]) == {"id", "status", "submittedAt", "completedAt"}
    page = api(emulator, "GET", "/v1/tasks").json()
    assert set(page) == {"data", "total", "limit", "offset"}
    assert (page["total"], page["limit"], page["offset"]) == (1, 50, 0)
    assert set(page["data"][0]) == {"id", "url", "title", "executor", "model", "createdAt", "completedAt"}


def test_delete_answers_204_with_no_body(emulator: Emulator) -> None:
    task_id = api(emulator, "POST", "/v1/tasks", {"prompt": "p"}).json()["id"]
    response = api(emulator, "DELETE", f"/v1/tasks/{task_id}")
    assert response.status_code == 204
    assert response.content == b""
    assert_error(api(emulator, "GET", f"/v1/tasks/{task_id}"), 404, "not_found")
    assert_error(api(emulator, "POST", f"/v1/tasks/{task_id}/prompts", {"prompt": "x"}), 404, "not_found")


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "application/json"},
        {"API_KEY": "sk-live-nope"},
        {"Authorization": f"Bearer {API_KEY}"},
    ],
)
def test_requests_without_an_rbk_key_are_unauthorized(emulator: Emulator, headers: dict[str, str]) -> None:
    assert_error(api(emulator, "GET", "/v1/tasks", headers=headers), 401, "unauthorized")


def test_the_key_prefix_is_configurable() -> None:
    with Emulator(EmulatorConfig(key_prefix="test_")) as emulator:
        assert api(emulator, "GET", "/v1/tasks", headers={"API_KEY": "test_1"}).status_code == 200
        assert_error(api(emulator, "GET", "/v1/tasks"), 401, "unauthorized")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, "prompt"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "x" * 100_001}, "100000"),
        ({"prompt": "x", "executor": "vim"}, "executor"),
        ({"prompt": "x", "skills": "pdf"}, "skills"),
        ({"prompt": "x", "githubUrl": "https://github.com/o/r"}, "githubUrl"),
        ({"prompt": "x", "files": [{"id": "nope", "filename": "a"}]}, "nope"),
        ([1, 2], "JSON object"),
    ],
)
def test_bad_create_bodies_are_validation_errors(emulator: Emulator, body: object, words: str) -> None:
    response = api(emulator, "POST", "/v1/tasks", body)
    assert_error(response, 400, "validation_error")
    assert words in response.json()["error"]["message"]


def test_a_body_that_is_not_json_is_a_validation_error(emulator: Emulator) -> None:
    response = httpx.post(emulator.url + "/v1/tasks", content=b"{not json", headers=HEADERS)
    assert_error(response, 400, "validation_error")


def test_an_unknown_workspace_is_not_found(emulator: Emulator) -> None:
    assert_error(
        api(emulator, "POST", "/v1/tasks", {"prompt": "x", "workspaceId": "ws-nope"}), 404, "not_found"
    )


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "offset=-1", "limit=ten"])
def test_bad_paging_is_a_validation_error(emulator: Emulator, query: str) -> None:
    assert_error(api(emulator, "GET", f"/v1/tasks?{query}"), 400, "validation_error")


def test_unknown_routes_are_not_found_in_the_contract_shape(emulator: Emulator) -> None:
    assert_error(api(emulator, "GET", "/v1/nothing"), 404, "not_found")
    assert_error(api(emulator, "PUT", "/v1/tasks"), 404, "not_found")


def test_an_upload_url_takes_a_put_without_the_key_and_serves_the_bytes_back(emulator: Emulator) -> None:
    answer = api(emulator, "POST", "/v1/files", {"filename": "data.csv"})
    assert answer.status_code == 201
    upload = answer.json()
    assert set(upload) == {"id", "filename", "uploadUrl"}
    assert upload["filename"] != "data.csv"
    assert upload["filename"].endswith(".csv")
    put = httpx.put(
        upload["uploadUrl"], content=b"a,b\n", headers={"Content-Type": "application/octet-stream"}
    )
    assert put.status_code == 200
    assert httpx.get(upload["uploadUrl"]).content == b"a,b\n"
    forged = upload["uploadUrl"].split("?")[0] + "?token=forged"
    assert httpx.put(forged, content=b"evil").status_code == 404


def test_a_file_must_be_uploaded_before_a_task_can_use_it(emulator: Emulator) -> None:
    upload = api(emulator, "POST", "/v1/files", {"filename": "a.txt"}).json()
    files = [{"id": upload["id"], "filename": upload["filename"]}]
    response = api(emulator, "POST", "/v1/tasks", {"prompt": "x", "files": files})
    assert_error(response, 400, "validation_error")
    httpx.put(upload["uploadUrl"], content=b"hi")
    assert api(emulator, "POST", "/v1/tasks", {"prompt": "x", "files": files}).status_code == 201


def test_a_filename_over_255_characters_is_refused(emulator: Emulator) -> None:
    assert_error(api(emulator, "POST", "/v1/files", {"filename": "a" * 256}), 400, "validation_error")


def test_a_hanging_task_stays_running(emulator: Emulator) -> None:
    emulator.config.task_seconds = 0.0
    hang = api(emulator, "POST", "/v1/tasks", {"prompt": "[emulate:hang] wait"}).json()["id"]
    done = api(emulator, "POST", "/v1/tasks", {"prompt": "quick"}).json()["id"]
    assert api(emulator, "GET", f"/v1/tasks/{hang}").json()["status"] == "running"
    assert api(emulator, "GET", f"/v1/tasks/{done}").json()["status"] == "completed"


def test_a_follow_up_on_a_busy_task_waits_its_turn(emulator: Emulator) -> None:
    emulator.config.task_seconds = 30.0
    task_id = api(emulator, "POST", "/v1/tasks", {"prompt": "long"}).json()["id"]
    assert api(emulator, "POST", f"/v1/tasks/{task_id}/prompts", {"prompt": "next"}).status_code == 201
    prompts = api(emulator, "GET", f"/v1/tasks/{task_id}").json()["prompts"]
    assert [p["status"] for p in prompts] == ["running", "pending"]


def test_faults_can_be_injected_and_cleared_at_run_time(emulator: Emulator) -> None:
    answer = httpx.post(
        emulator.url + "/_emulator/faults",
        json={"kind": "status", "status": 429, "retry_after": 3, "times": 2},
    )
    assert answer.status_code == 200
    first = api(emulator, "GET", "/v1/tasks")
    assert_error(first, 429, "limit_exceeded")
    assert first.headers["retry-after"] == "3"
    httpx.delete(emulator.url + "/_emulator/faults")
    assert api(emulator, "GET", "/v1/tasks").status_code == 200
    bad = httpx.post(emulator.url + "/_emulator/faults", json={"kind": "explode"})
    assert_error(bad, 400, "validation_error")


def test_latency_and_error_rate_can_be_changed_at_run_time(emulator: Emulator) -> None:
    answer = httpx.patch(emulator.url + "/_emulator/config", json={"latency": 0.2, "error_rate": 0})
    assert answer.status_code == 200
    assert answer.json()["latency"] == 0.2
    assert api(emulator, "GET", "/v1/tasks").elapsed.total_seconds() >= 0.2
    httpx.patch(emulator.url + "/_emulator/config", json={"latency": 0, "error_rate": 1})
    assert api(emulator, "GET", "/v1/tasks").status_code in (500, 502, 503)
    bad = httpx.patch(emulator.url + "/_emulator/config", json={"error_rate": 2})
    assert_error(bad, 400, "validation_error")
    assert_error(httpx.patch(emulator.url + "/_emulator/config", json={"colour": 1}), 400, "validation_error")


def test_a_share_of_requests_can_fail_at_random(emulator: Emulator) -> None:
    emulator.config.error_rate = 0.5
    statuses = [api(emulator, "GET", "/v1/tasks").status_code for _ in range(40)]
    assert 200 in statuses
    assert {s for s in statuses if s != 200} <= {500, 502, 503}
    assert len(set(statuses)) > 1


def test_added_latency_slows_every_request(emulator: Emulator) -> None:
    emulator.config.latency = 0.2
    elapsed = api(emulator, "GET", "/v1/tasks").elapsed.total_seconds()
    assert elapsed >= 0.2


def test_concurrent_creates_are_all_kept(emulator: Emulator) -> None:
    ids: list[str] = []
    lock = threading.Lock()

    def create(n: int) -> None:
        task_id = api(emulator, "POST", "/v1/tasks", {"prompt": f"task {n}"}).json()["id"]
        with lock:
            ids.append(task_id)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 20
    assert api(emulator, "GET", "/v1/tasks?limit=100").json()["total"] == 20


def test_the_seeds_own_python_client_shape_works_unchanged(emulator: Emulator) -> None:
    # The seed's client sends plain urllib requests with the API_KEY header and reads dicts back.
    import urllib.request

    request = urllib.request.Request(
        emulator.url + "/v1/tasks",
        data=json.dumps({"prompt": "Hello world"}).encode(),
        headers={"API_KEY": API_KEY, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        task = json.load(response)
    assert task["url"].endswith(task["id"])


def test_the_seeds_curl_examples_work_with_only_the_base_url_changed(emulator: Emulator, tmp_path) -> None:
    import shutil
    import subprocess

    curl_path = shutil.which("curl")
    if curl_path is None:
        pytest.skip("curl is not installed on this machine")
    base = emulator.url

    def curl(*args: str) -> str:
        done = subprocess.run(
            [curl_path, "-s", *args], capture_output=True, text=True, timeout=10, check=True
        )
        return done.stdout

    key = ["-H", f"API_KEY: {API_KEY}", "-H", "Content-Type: application/json"]
    # Create a Task with Files: get a signed URL, upload, create.
    file_resp = json.loads(curl("-X", "POST", f"{base}/v1/files", *key, "-d", '{"filename": "data.csv"}'))
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    curl(
        "-X",
        "PUT",
        file_resp["uploadUrl"],
        "-H",
        "Content-Type: application/octet-stream",
        "--data-binary",
        f"@{data}",
    )
    body = json.dumps(
        {
            "prompt": "Analyze this CSV and summarize findings",
            "skills": ["data-analysis"],
            "files": [{"id": file_resp["id"], "filename": file_resp["filename"]}],
        }
    )
    task = json.loads(curl("-X", "POST", f"{base}/v1/tasks", *key, "-d", body))
    assert task["status"] == "running"
    # Share, check, follow up, reuse the workspace, delete.
    shared = json.loads(
        curl(
            "-X", "PATCH", f"{base}/v1/tasks/{task['id']}/visibility", *key, "-d", '{"visibility": "public"}'
        )
    )
    assert shared == {"visibility": "public", "shareUrl": f"https://app.rebyte.ai/share/{task['id']}"}
    assert (
        json.loads(curl(f"{base}/v1/tasks/{task['id']}", "-H", f"API_KEY: {API_KEY}"))["url"] == task["url"]
    )
    follow = json.loads(
        curl(
            "-X",
            "POST",
            f"{base}/v1/tasks/{task['id']}/prompts",
            *key,
            "-d",
            '{"prompt": "Now fix the issues you found"}',
        )
    )
    assert "promptId" in follow
    reuse = json.dumps({"prompt": "Now add tests", "workspaceId": task["workspaceId"]})
    assert (
        json.loads(curl("-X", "POST", f"{base}/v1/tasks", *key, "-d", reuse))["workspaceId"]
        == task["workspaceId"]
    )
    status = curl(
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-X",
        "DELETE",
        f"{base}/v1/tasks/{task['id']}",
        "-H",
        f"API_KEY: {API_KEY}",
    )
    assert status == "204"


def test_a_malformed_content_length_is_a_validation_error_not_a_crash(emulator: Emulator) -> None:
    import socket

    host, port = emulator.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        head = f"POST /v1/tasks HTTP/1.1\r\nHost: x\r\nAPI_KEY: {API_KEY}\r\nContent-Length: lots\r\n\r\n"
        conn.sendall(head.encode())
        chunks = []
        while chunk := conn.recv(4096):  # the emulator closes the spent connection
            chunks.append(chunk)
        answer = b"".join(chunks).decode()
    assert answer.startswith("HTTP/1.1 400")
    assert '"validation_error"' in answer
