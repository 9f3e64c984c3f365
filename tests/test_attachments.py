"""The request's attachments in the task: which links count, and the whole path through the entry point.

Pure parts (which URL is an attachment, which links a reader sees, filenames, the prompt's
note) with plain data; then the action itself, run as the container runs it, against the
emulator and the fake GitHub, which hosts attachments at its own host's paths (and, like
github.com, can redirect them to signed storage on another origin).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from rebyte_action.attachments.download import DownloadFailed, carries_token, download, may_fetch
from rebyte_action.attachments.links import (
    classify,
    filename_from_disposition,
    find_attachments,
    link_targets,
    safe_filename,
)
from rebyte_action.events import Trigger, parse_event
from rebyte_action.prompt import build_prompt, files_note
from rebyte_action.rebyte.emulator import Emulator
from rebyte_action.report import Marker, TaskFacts, find_markers, started_comment
from rebyte_action.testing import FakeGitHub, FakeStorage

from .action_harness import GITHUB_TOKEN, REBYTE_KEY, Action, comment_event, load_event

SERVER = "https://github.com"
ASSET = "https://github.com/user-attachments/assets/0f3c2b1a-1111-2222-3333-444455556666"
FILE = "https://github.com/user-attachments/files/17340261/report.pdf"
REPO_ASSET = "https://github.com/octo-org/hello.world/assets/1826685/24e5782e-2045-4fd3-80b1-b261ebc497b9"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


# -- which URLs are attachments ------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kind", "name"),
    [
        (ASSET, "asset", "0f3c2b1a-1111-2222-3333-444455556666"),
        (FILE, "file", "report.pdf"),
        ("https://github.com/user-attachments/files/1/my%20notes%20%C3%A9.txt", "file", "my notes é.txt"),
        (REPO_ASSET, "repository asset", "24e5782e-2045-4fd3-80b1-b261ebc497b9"),
        ("https://GitHub.COM/user-attachments/assets/abc-123", "asset", "abc-123"),  # hosts ignore case
        ("HTTPS://github.com:443/user-attachments/assets/abc", "asset", "abc"),  # the default port, written
        (ASSET + "?raw=true#top", "asset", "0f3c2b1a-1111-2222-3333-444455556666"),  # dropped, not fetched
    ],
)
def test_each_kind_of_attachment_on_the_server_is_recognised(url: str, kind: str, name: str) -> None:
    found = classify(url, SERVER)
    assert found is not None
    assert (found.kind, found.name) == (kind, name)
    assert found.url.startswith("https://github.com/") and "?" not in found.url and "#" not in found.url


@pytest.mark.parametrize(
    "url",
    [
        "http://github.com/user-attachments/assets/abc",  # a downgrade to plain http
        "https://github.com.evil.example/user-attachments/assets/abc",
        "https://evilgithub.com/user-attachments/assets/abc",
        "https://github.com@evil.example/user-attachments/assets/abc",
        "https://evil.example@github.com/user-attachments/assets/abc",  # user info, even on the host
        "https://user:pass@github.com/user-attachments/assets/abc",
        "https://github.com\\@evil.example/user-attachments/assets/abc",
        "https://github.com%5C@evil.example/user-attachments/assets/abc",
        "https://github.com:8443/user-attachments/assets/abc",  # another port is another origin
        "https://github.com:99999/user-attachments/assets/abc",
        "https://github.com:x/user-attachments/assets/abc",
        "https://github.com./user-attachments/assets/abc",  # a trailing dot is not the same name
        "https://api.github.com/user-attachments/assets/abc",
        "https://gist.github.com/user-attachments/assets/abc",
        "https://xn--gthub-n2e.com/user-attachments/assets/abc",  # gіthub.com, with a Cyrillic і
        "https://gіthub.com/user-attachments/assets/abc",
        "https://user-images.githubusercontent.com/1/abc.png",  # GitHub's, but another host
        "//github.com/user-attachments/assets/abc",  # no scheme
        "/user-attachments/assets/abc",
        "github.com/user-attachments/assets/abc",
        "javascript:alert(1)//github.com/user-attachments/assets/abc",
        "ftp://github.com/user-attachments/assets/abc",
        "https://github.com/user-attachments/assets/",
        "https://github.com/user-attachments/assets/../../settings/tokens",
        "https://github.com/user-attachments/assets/abc/../../../x",
        "https://github.com/user-attachments/assets/%2e%2e",
        "https://github.com/user-attachments/assets/abc%2F..%2F..",
        "https://github.com/user-attachments/assets/abc/extra",
        "https://github.com/user-attachments/files/1/..",
        "https://github.com/user-attachments/files/1/%2e%2e",
        "https://github.com/user-attachments/files/1/a%2Fb.txt",
        "https://github.com/user-attachments/files/1/a%5Cb.txt",
        "https://github.com/user-attachments/files/1/a%00.txt",
        "https://github.com/user-attachments/files/1/%ZZ.txt",
        "https://github.com/user-attachments/files/1/%C3.txt",  # not UTF-8
        "https://github.com/user-attachments/files/x/a.txt",
        "https://github.com/user-attachments/files/1/a.txt/more",
        "https://github.com/user-attachments/files/1/a b.txt",
        "https://github.com/user-attachments/files/1/a\tb.txt",
        "https://github.com/user-attachments/assets/abc\n",
        "https://github.com/octo/../assets/1/abc",
        "https://github.com/octo/hello/assets/x/abc",
        "https://github.com/octo/hello/assets/1/abc/x",
        "https://github.com/octo/hello/issues/1",
        "https://github.com/octo/hello/releases/download/v1/a.zip",
        "https://github.com/user-attachments/assetsx/abc",
        "https://github.com//user-attachments/assets/abc",
        "",
    ],
)
def test_anything_else_is_not_an_attachment(url: str) -> None:
    assert classify(url, SERVER) is None


def test_an_enterprise_server_has_its_own_host_and_github_com_is_foreign_there() -> None:
    server = "https://ghe.example.com"
    assert classify("https://ghe.example.com/user-attachments/assets/abc", server) is not None
    assert classify(ASSET, server) is None
    assert classify("https://ghe.example.com/user-attachments/assets/abc", "http://ghe.example.com") is None
    # an http server (a test's loopback) takes its own http links, port included
    local = "http://127.0.0.1:8123"
    assert classify("http://127.0.0.1:8123/user-attachments/assets/abc", local) is not None
    assert classify("http://127.0.0.1:8124/user-attachments/assets/abc", local) is None
    assert classify("http://localhost:8123/user-attachments/assets/abc", local) is None


@pytest.mark.parametrize(
    ("url", "fetch", "token"),
    [
        (ASSET, True, True),
        ("https://github.com:443/x", True, True),
        ("https://objects.githubusercontent.com/x?X-Amz-Signature=s", True, False),  # signed storage
        ("https://private-user-images.githubusercontent.com/x.png?jwt=j", True, False),
        ("http://objects.githubusercontent.com/x", False, False),  # a downgrade from https
        ("http://github.com/x", False, False),
        ("https://github.com:8443/x", True, False),
        ("https://api.github.com/x", True, False),
        ("https://github.com.evil.example/x", True, False),
        ("https://token@github.com/x", False, False),
        ("ftp://github.com/x", False, False),
        ("/relative", False, False),
    ],
)
def test_where_a_download_may_go_and_where_the_token_may_go(url: str, fetch: bool, token: bool) -> None:
    assert may_fetch(SERVER, url) is fetch
    assert carries_token(SERVER, url) is token


def test_an_http_server_may_redirect_to_http_or_https_storage() -> None:
    assert may_fetch("http://ghe.local", "http://storage.local/x")
    assert may_fetch("http://ghe.local", "https://storage.local/x")
    assert not carries_token("http://ghe.local", "https://ghe.local/x")  # another scheme, another origin


# -- which links a reader sees --------------------------------------------------------------


def test_links_count_only_where_a_reader_sees_them() -> None:
    text = f"""Here is what I see:

<img width="1024" height="512" alt="Screenshot" src="{ASSET}" />

The log is [report.pdf]({FILE}), and an older one: ![old]({REPO_ASSET})

`{ASSET[:-4]}aaaa` in a code span
<!-- {ASSET[:-4]}bbbb in a comment -->

```
{ASSET[:-4]}cccc in a fence
```

    {ASSET[:-4]}dddd indented code

<pre>{ASSET[:-4]}eeee in pre</pre>
"""
    assert [a.url for a in find_attachments(text, SERVER)] == [ASSET, FILE, REPO_ASSET]


def test_html_links_autolinks_and_bare_urls_count_and_each_file_once() -> None:
    text = (
        f'<p><a href="{FILE}">the file</a></p>\n\n'
        f"See <{ASSET}> and also {REPO_ASSET}. Again: {ASSET}, "
        f"and (in parentheses {FILE})."
    )
    assert link_targets(text)[:3] == [FILE, ASSET, REPO_ASSET]
    assert [a.url for a in find_attachments(text, SERVER)] == [FILE, ASSET, REPO_ASSET]


def test_a_link_hidden_in_an_attribute_or_a_title_does_not_count() -> None:
    text = (
        f'<img data-src="{ASSET}" alt="x">\n\n'
        f'[a link](https://example.com "title {REPO_ASSET} {FILE}")\n\n'
        f"![{REPO_ASSET}](https://example.com/x.png)"
    )
    assert find_attachments(text, SERVER) == []


def test_reference_links_count() -> None:
    text = f"The [screenshot][shot] shows it.\n\n[shot]: {ASSET}\n"
    assert [a.url for a in find_attachments(text, SERVER)] == [ASSET]


# -- filenames -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        (".bashrc", "bashrc"),
        ("...", "attachment"),
        ("", "attachment"),
        ("my notes (v2).txt", "my_notes_(v2).txt"),
        ("a`b|c$(d).sh", "a_b_c_(d).sh"),
        ("naïve résumé.pdf", "naïve_résumé.pdf"),
        ("bad\u202egnp.exe", "bad_gnp.exe"),
        ("x" * 300 + ".tar.gz", "x" * 197 + ".gz"),
    ],
)
def test_filenames_are_made_safe_for_the_vm_and_the_prompt(given: str, expected: str) -> None:
    assert safe_filename(given) == expected


def test_an_image_without_a_name_gets_its_id_and_the_extension_of_its_type() -> None:
    assert safe_filename("0f3c-11", extension=".png") == "0f3c-11.png"
    assert safe_filename("shot.jpg", extension=".png") == "shot.jpg"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('attachment; filename="screen shot.png"', "screen shot.png"),
        ("inline;filename=image.png", "image.png"),
        ("attachment; filename*=UTF-8''na%C3%AFve.png; filename=\"naive.png\"", "naïve.png"),
        ("attachment", None),
        (None, None),
    ],
)
def test_the_storage_s_content_disposition_names_an_image(header: str | None, expected: str | None) -> None:
    assert filename_from_disposition(header) == expected


def test_the_prompt_names_each_file_by_its_path_in_the_vm() -> None:
    note = files_note(
        [("/code/report-1a2b3c4d.pdf", FILE)], [(ASSET, "it is bigger than the limit of 20 MB")]
    )
    assert "`/code/report-1a2b3c4d.pdf` (linked in the request as " + FILE + ")" in note
    assert f"not attached (not in your VM):\n- {ASSET}: it is bigger" in note
    assert files_note([], []) == ""


def test_the_files_come_right_after_the_request_and_a_long_context_is_cut_not_the_request() -> None:
    payload = comment_event("/rebyte fix")
    payload["issue"]["body"] = "word " * 30_000
    trigger = parse_event(
        "issue_comment", payload, trigger_phrase="/rebyte", label="rebyte", direct_prompt="", run_id="1"
    )
    assert isinstance(trigger, Trigger)
    request = "fix it " * 9_000
    files = [(f"/code/part{i}-1a2b3c4d.txt", f"{FILE[:-10]}part{i}.txt") for i in range(10)]
    prompt = build_prompt(trigger, request, branch="main", limit=100_000, files=files)
    assert len(prompt) <= 100_000
    assert prompt.startswith(request.strip() + "\n\nFiles attached to the request")
    assert prompt.index("/code/part9-1a2b3c4d.txt") < prompt.index("Context from GitHub")
    assert "cut here" in prompt


def test_the_answer_keeps_the_files_in_its_marker_so_later_edits_show_them() -> None:
    facts = TaskFacts(
        "t1", "https://app.rebyte.ai/run/t1", "w1", "main", "o/r", None, None, (), "octo", None, None,
        files=("/code/a-1.png",), not_attached=(f"<{ASSET}>: GitHub answered HTTP 404",),
    )  # fmt: skip
    body = started_comment(facts, "comment:1")
    assert "| Files | `/code/a-1.png` |" in body
    assert f"| Not attached | <{ASSET}>: GitHub answered HTTP 404 |" in body
    marker: Marker = find_markers(body)[0]
    assert TaskFacts.from_marker(marker) == facts


# -- through the entry point -----------------------------------------------------------------


@pytest.fixture
def storage() -> Iterator[FakeStorage]:
    with FakeStorage() as running:
        yield running


@pytest.fixture
def served(action: Action, github: FakeGitHub) -> Action:
    """The action with GITHUB_SERVER_URL at the fake GitHub, whose host serves the attachments."""
    action.server_url = github.url
    return action


def downloads(github: FakeGitHub) -> list[str]:
    return [call for call in github.calls() if "/assets/" in call or "/user-attachments/" in call]


def uploaded(emulator: Emulator) -> dict[str, bytes | None]:
    """The task's files: uniquified name -> the bytes PUT to its upload URL."""
    (task,) = emulator.state.tasks.values()
    return {f["filename"]: emulator.state.uploads[f["id"]].data for f in task.files}


def answer(github: FakeGitHub, issue: int = 1) -> str:
    return str(github.comments(issue)[-1]["body"])


def test_each_kind_of_attachment_reaches_the_task_with_its_path_in_the_prompt(
    served: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    hosted = github.attachments
    image = hosted.asset(PNG, content_type="image/png")
    report = hosted.file("report.pdf", b"%PDF-1.7 report", content_type="application/pdf")
    older = hosted.repository_asset("octo-org/hello.world", b"GIF89a", content_type="image/gif")
    body = (
        f'/rebyte why does it crash?\n\n<img alt="shot" src="{image}" />\n\n'
        f"[report.pdf]({report}) ![old]({older})"
    )
    result = served.run("issue_comment", comment_event(body))
    assert result.returncode == 0, result.log

    files = uploaded(emulator)
    assert sorted(files.values(), key=len) == [b"GIF89a", b"%PDF-1.7 report", PNG]
    names = {data: name for name, data in files.items()}
    assert names[b"%PDF-1.7 report"].startswith("report-") and names[b"%PDF-1.7 report"].endswith(".pdf")
    assert names[PNG].endswith(".png") and names[b"GIF89a"].endswith(".gif")  # from the content type
    (task,) = emulator.state.tasks.values()
    prompt = task.prompts[0].text
    assert prompt.startswith("why does it crash?")
    for name in files:
        assert f"`/code/{name}`" in prompt
        assert f"`/code/{name}`" in answer(github)
    # Three downloads, each with the token: GitHub's own host; 7 + 3 GitHub requests in all.
    assert len(downloads(github)) == 3
    assert len(github.calls()) == 10
    assert {r.authorization for r in github.requests() if "assets" in r.path or "files" in r.path} == {
        f"Bearer {GITHUB_TOKEN}"
    }
    # Rebyte: POST /v1/files and the PUT of its bytes for each, then the task.
    rebyte_calls = [f"{r.method} {r.path.split('/')[1]}" for r in emulator.requests()]
    assert rebyte_calls == ["POST v1", "PUT _uploads"] * 3 + ["POST v1"]
    assert [r.path for r in emulator.requests("POST")] == ["/v1/files"] * 3 + ["/v1/tasks"]
    assert not any(r.sent_api_key for r in emulator.requests("PUT"))
    shown = "\n".join(line for line in result.log.splitlines() if not line.startswith("::add-mask::"))
    for secret in (GITHUB_TOKEN, REBYTE_KEY):
        assert secret not in shown and secret not in answer(github) and secret not in result.summary


def test_a_redirect_to_signed_storage_is_followed_without_the_token(
    served: Action, emulator: Emulator, github: FakeGitHub, storage: FakeStorage
) -> None:
    image = github.attachments.asset(
        PNG, content_type="image/png", disposition='attachment; filename="login error.png"', storage=storage
    )
    result = served.run("issue_comment", comment_event(f"/rebyte fix this\n\n![shot]({image})"))
    assert result.returncode == 0, result.log
    (name,) = uploaded(emulator)
    assert name.startswith("login_error-") and name.endswith(".png")
    assert uploaded(emulator)[name] == PNG
    github_side = [r for r in github.requests() if "/user-attachments/" in r.path]
    assert [r.authorization for r in github_side] == [f"Bearer {GITHUB_TOKEN}"]
    (fetched,) = storage.requests()
    assert fetched.authorization is None  # the signed URL is its own credential
    assert fetched.query["X-Amz-Signature"]


def test_a_private_attachment_is_read_with_the_token(
    served: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    report = github.attachments.file("notes.txt", b"secret notes", content_type="text/plain", private=True)
    result = served.run("issue_comment", comment_event(f"/rebyte summarise {report}"))
    assert result.returncode == 0, result.log
    assert list(uploaded(emulator).values()) == [b"secret notes"]


def test_a_redirect_back_to_github_but_not_to_a_file_is_not_followed(github: FakeGitHub) -> None:
    login = classify(github.attachments.asset(PNG, location="/login?return_to=%2Fx"), github.url)
    elsewhere_on_github = github.attachments.file("a.png", PNG)
    moved = classify(github.attachments.asset(PNG, location=elsewhere_on_github), github.url)
    assert login is not None and moved is not None
    options = {"server_url": github.url, "token": "t", "max_bytes": 10**6}
    with httpx.Client() as client:
        assert download(client, moved, **options).data == PNG  # GitHub to GitHub, at a file: fine
        with pytest.raises(DownloadFailed, match="GitHub did not serve it"):
            download(client, login, **options)
    assert not any(call.startswith("GET /login") for call in github.calls())


def test_one_that_404s_is_named_in_the_answer_and_the_task_still_starts(
    served: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    gone = f"{github.url}/user-attachments/assets/5d1c0de0-0000-4000-8000-000000000404"
    kept = github.attachments.file("app.log", b"ERROR boom", content_type="text/plain")
    result = served.run("issue_comment", comment_event(f"/rebyte look at ![x]({gone}) and [log]({kept})"))
    assert result.returncode == 0, result.log
    assert list(uploaded(emulator).values()) == [b"ERROR boom"]
    assert f"<{gone}>: GitHub answered HTTP 404" in answer(github)
    assert "Not attached" in answer(github)
    assert f"::Not attached: {gone}: GitHub answered HTTP 404" in result.log  # a warning
    (task,) = emulator.state.tasks.values()
    assert f"- {gone}: GitHub answered HTTP 404" in task.prompts[0].text


def test_when_rebyte_refuses_an_upload_the_rest_are_not_tried_and_the_task_still_starts(
    served: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    emulator.add_fault(kind="status", status=400, match="POST /v1/files", times=-1)
    first, second = (github.attachments.file(f"{n}.txt", b"data") for n in ("one", "two"))
    result = served.run("issue_comment", comment_event(f"/rebyte read {first} and {second}"))
    assert result.returncode == 0, result.log
    assert len(emulator.requests("POST", "/v1/files")) == 1
    assert len(downloads(github)) == 1  # nothing fetched that could not be uploaded
    assert uploaded(emulator) == {}
    for link in (first, second):
        assert f"<{link}>: Rebyte refused the upload" in answer(github)


def test_an_oversized_one_is_refused_by_its_length_or_cut_off_while_streaming(
    served: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    huge = 200 * 1024 * 1024
    declared = github.attachments.file("big.bin", huge)
    endless = github.attachments.file("huge.bin", huge, declare_length=False)
    small = github.attachments.file("small.txt", b"x" * 1000, content_type="text/plain")
    body = f"/rebyte check [a]({declared}) [b]({endless}) [c]({small})"
    result = served.run(
        "issue_comment", comment_event(body), raw_env={"REBYTE_ACTION_ATTACHMENT_MAX_BYTES": "1000"}
    )
    assert result.returncode == 0, result.log
    assert list(uploaded(emulator).values()) == [b"x" * 1000]  # exactly the limit is fine
    text = answer(github)
    assert f"<{declared}>: it is bigger than the limit of 1000 bytes" in text
    assert f"<{endless}>: it is bigger than the limit of 1000 bytes" in text
    # Neither was read to its end: the client hung up, refusing one by its Content-Length and
    # cutting the other off once it passed the limit.
    assert github.attachments.get(declared).sent < huge
    assert github.attachments.get(endless).sent < huge


def test_the_real_limit_is_20_mb(served: Action, emulator: Emulator, github: FakeGitHub) -> None:
    over = github.attachments.file("dump.bin", 20 * 1024 * 1024 + 1, declare_length=False)
    result = served.run("issue_comment", comment_event(f"/rebyte read {over}"))
    assert result.returncode == 0, result.log
    assert f"<{over}>: it is bigger than the limit of 20 MB" in answer(github)
    assert emulator.requests("POST", "/v1/files") == []


def test_a_link_on_another_host_is_never_fetched(
    served: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    with FakeGitHub() as elsewhere:  # would serve it, if it were asked
        foreign = elsewhere.attachments.asset(PNG)
        result = served.run("issue_comment", comment_event(f"/rebyte see ![x]({foreign})"))
        assert result.returncode == 0, result.log
        assert elsewhere.requests() == []
    assert downloads(github) == []
    assert emulator.requests("POST", "/v1/files") == []
    assert "Not attached" not in answer(github)  # not an attachment: only a link


def test_more_than_ten_attach_the_first_ten_and_name_the_rest(
    served: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    links = [github.attachments.file(f"part{i}.txt", f"part {i}".encode()) for i in range(22)]
    body = "/rebyte merge these\n\n" + "\n".join(f"- [part {i}]({link})" for i, link in enumerate(links))
    result = served.run("issue_comment", comment_event(body))
    assert result.returncode == 0, result.log
    assert sorted(uploaded(emulator).values()) == sorted(f"part {i}".encode() for i in range(10))
    assert len(downloads(github)) == 10
    for link in links[10:20]:  # named, ten at most, and the rest counted
        assert f"<{link}>: only the first 10 files of a request are attached" in answer(github)
    assert "(and 2 more attachment links, not named)" in answer(github)
    assert links[21] not in answer(github)


def test_a_label_reads_the_issue_body(served: Action, emulator: Emulator, github: FakeGitHub) -> None:
    image = github.attachments.asset(PNG)
    event = load_event("issues.labeled")
    event["label"]["name"] = "rebyte"
    event["issue"]["body"] = f"The button is off by a pixel:\n\n![button]({image})"
    result = served.run("issues", event)
    assert result.returncode == 0, result.log
    assert list(uploaded(emulator).values()) == [PNG]
    (name,) = uploaded(emulator)
    number = event["issue"]["number"]
    assert f"`/code/{name}`" in answer(github, number)


def test_a_direct_prompt_reads_the_prompt(served: Action, emulator: Emulator, github: FakeGitHub) -> None:
    report = github.attachments.file("data.csv", b"a,b\n1,2\n", content_type="text/csv")
    event = load_event("workflow_dispatch")
    event["repository"]["full_name"] = "Codertocat/Hello-World"
    result = served.run("workflow_dispatch", event, prompt=f"Chart {report}")
    assert result.returncode == 0, result.log
    assert list(uploaded(emulator).values()) == [b"a,b\n1,2\n"]
    (name,) = uploaded(emulator)
    assert f"`/code/{name}`" in result.summary


def test_a_fan_out_fetches_and_uploads_once_for_all_its_tasks(
    served: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    image = github.attachments.asset(PNG)
    result = served.run("issue_comment", comment_event(f"/rebyte --executor claude,codex fix ![x]({image})"))
    assert result.returncode == 0, result.log
    assert len(downloads(github)) == 1
    assert len(emulator.requests("POST", "/v1/files")) == 1
    tasks = list(emulator.state.tasks.values())
    assert sorted(t.executor for t in tasks) == ["claude", "codex"]
    (name,) = {f["filename"] for t in tasks for f in t.files}
    assert all(f"`/code/{name}`" in t.prompts[0].text for t in tasks)
    assert f"| Files | `/code/{name}` |" in answer(github)


def test_a_follow_up_carries_no_files_and_fetches_nothing(
    served: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    assert served.run("issue_comment", comment_event("/rebyte fix the typo")).returncode == 0
    image = github.attachments.asset(PNG)
    later = comment_event(f"/rebyte it still looks like this: ![now]({image})")
    later["comment"]["id"] += 1
    before = len(github.calls())
    result = served.run("issue_comment", later)
    assert result.returncode == 0, result.log
    assert not any("/user-attachments/" in call for call in github.calls()[before:])
    assert emulator.requests("POST", "/v1/files") == []
    (task,) = emulator.state.tasks.values()
    assert len(task.prompts) == 2
    assert f"<{image}>: a follow-up carries no files" in answer(github)


def test_the_input_off_fetches_nothing(served: Action, emulator: Emulator, github: FakeGitHub) -> None:
    image = github.attachments.asset(PNG)
    result = served.run("issue_comment", comment_event(f"/rebyte see ![x]({image})"), attachments="false")
    assert result.returncode == 0, result.log
    assert downloads(github) == []
    assert emulator.requests("POST", "/v1/files") == []


def test_a_rerun_uploads_nothing_again(served: Action, emulator: Emulator, github: FakeGitHub) -> None:
    image = github.attachments.asset(PNG)
    event = comment_event(f"/rebyte see ![x]({image})")
    assert served.run("issue_comment", event).returncode == 0
    github_before, rebyte_before = len(github.calls()), len(emulator.requests())
    result = served.run("issue_comment", event, raw_env={"GITHUB_RUN_ATTEMPT": "2"})
    assert result.returncode == 0, result.log
    assert not any("/user-attachments/" in c for c in github.calls()[github_before:])
    assert emulator.requests()[rebyte_before:] == []
    assert "/code/" in json.dumps(result.summary)  # the re-run still reports the task's files
