"""Point a release's action.yml at its prebuilt image.

    python .github/release/pin_image.py ACTION_YML IMAGE_REFERENCE

Rewrites `runs.image: Dockerfile` in ACTION_YML to `docker://IMAGE_REFERENCE` and leaves
every other byte of the file as it was (comments, quoting, line endings). IMAGE_REFERENCE is
a lower-case image name tagged vMAJOR.MINOR.PATCH, e.g. ghcr.io/owner/rebyte-action:v1.2.3
(a leading docker:// is accepted). The edit is one line; a YAML parse of the file before and
after then checks that `runs.image` is the only value that changed, and the file is written
only if it did. Refuses, and leaves the file alone, when the reference or its tag is not of
that form, or when action.yml is not a Docker action running `image: Dockerfile` (e.g. it was
pinned already).

The release workflow runs it with the image it has just pushed; tests/test_release.py runs it
the same way on a copy of the real action.yml.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

# A lower-case image name (registry host, optional port, one or more path components) and a
# vMAJOR.MINOR.PATCH tag without leading zeros. Nothing else: no digest, no pre-release tag.
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
IMAGE_RE = re.compile(
    rf"(?P<name>[a-z0-9]+(?:[.-][a-z0-9]+)*(?::[0-9]+)?(?:/{_COMPONENT})+)"
    r":(?P<tag>v(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*))"
)
TAG_RE = re.compile(r"v(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)")

# `runs:` at the top level, alone on its line (a block mapping follows).
_RUNS_LINE = re.compile(r"runs:[ \t]*(?:#.*)?")
# `image: <value>` with an optional trailing comment; the value plain or quoted.
_IMAGE_LINE = re.compile(
    r"(?P<indent>[ \t]+)image:(?P<gap>[ \t]+)"
    r"(?P<value>'[^']*'|\"[^\"]*\"|[^ \t#'\"][^#]*?)"
    r"(?P<tail>[ \t]*(?:#.*)?)"
)


class Refused(Exception):
    """The inputs are not what a release may rewrite; the message says why."""


def image_reference(raw: str) -> str:
    """`docker://NAME:vX.Y.Z` for a valid reference, else Refused."""
    reference = raw.removeprefix("docker://")
    match = IMAGE_RE.fullmatch(reference)
    if match is None:
        if "@" in reference:
            raise Refused(
                f"image reference {raw!r} is pinned by digest; give REGISTRY/NAME:vMAJOR.MINOR.PATCH"
            )
        tag = reference.rpartition(":")[2] if ":" in reference.rpartition("/")[2] else ""
        if tag and not TAG_RE.fullmatch(tag):
            raise Refused(f"image tag {tag!r} is not of the form vMAJOR.MINOR.PATCH (e.g. v1.2.3)")
        if reference != reference.lower():
            raise Refused(f"image reference {raw!r} has upper-case letters; image names are lower-case")
        raise Refused(
            f"image reference {raw!r} is not a lower-case REGISTRY/NAME:vMAJOR.MINOR.PATCH "
            "(e.g. ghcr.io/owner/rebyte-action:v1.2.3)"
        )
    return f"docker://{reference}"


def _load(text: str, what: str) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise Refused(f"{what} is not valid YAML: {error}") from error
    if not isinstance(loaded, dict):
        raise Refused(f"{what} is not a YAML mapping")
    return loaded


def _plain_dockerfile(value: str) -> bool:
    return value in ("Dockerfile", "'Dockerfile'", '"Dockerfile"')


def rewrite(text: str, image: str) -> str:
    """`text` (an action.yml) with `runs.image: Dockerfile` replaced by `image`, else Refused."""
    before = _load(text, "action.yml")
    runs = before.get("runs")
    if not isinstance(runs, dict):
        raise Refused("action.yml has no `runs:` mapping")
    if runs.get("using") != "docker":
        raise Refused(f"action.yml runs `using: {runs.get('using')}`, not a Docker action")
    if runs.get("image") != "Dockerfile":
        raise Refused(
            f"action.yml has `runs.image: {runs.get('image')}`, not `runs.image: Dockerfile` "
            "(already pinned to an image?)"
        )

    lines = text.splitlines(keepends=True)
    bodies = [line.rstrip("\r\n") for line in lines]
    starts = [i for i, body in enumerate(bodies) if _RUNS_LINE.fullmatch(body)]
    if len(starts) != 1:
        raise Refused(
            "action.yml: no block `runs:` line at the top level to edit (flow style is not handled)"
        )
    block: list[int] = []
    for i in range(starts[0] + 1, len(bodies)):
        body = bodies[i]
        if body.strip() and not body.startswith((" ", "\t")) and not body.startswith("#"):
            break
        block.append(i)
    indents = {
        len(bodies[i]) - len(bodies[i].lstrip())
        for i in block
        if bodies[i].strip() and not bodies[i].lstrip().startswith("#")
    }
    child = min(indents, default=0)
    found = [
        (i, m)
        for i in block
        if (m := _IMAGE_LINE.fullmatch(bodies[i])) is not None and len(m["indent"]) == child
    ]
    if len(found) != 1 or not _plain_dockerfile(found[0][1]["value"]):
        raise Refused("action.yml: no single `image: Dockerfile` line directly under `runs:` to edit")
    index, match = found[0]
    quote = match["value"][0] if match["value"][0] in "'\"" else ""
    ending = lines[index][len(bodies[index]) :]
    lines[index] = f"{match['indent']}image:{match['gap']}{quote}{image}{quote}{match['tail']}{ending}"
    result = "".join(lines)

    after = _load(result, "the rewritten action.yml")
    if after.get("runs", {}).get("image") != image:
        raise Refused("the rewritten action.yml does not name the image; left unchanged")
    expected = copy.deepcopy(before)
    expected["runs"]["image"] = image
    if after != expected:
        raise Refused("the edit changed more than `runs.image`; left unchanged")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("action_yml", type=Path, help="the action.yml to rewrite in place")
    parser.add_argument("image", help="REGISTRY/NAME:vMAJOR.MINOR.PATCH, all lower-case")
    args = parser.parse_args(argv)
    path: Path = args.action_yml
    try:
        image = image_reference(args.image)
        try:
            data = path.read_bytes()
        except OSError as error:
            raise Refused(f"cannot read {path}: {error.strerror}") from error
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise Refused(f"{path} is not UTF-8") from error
        result = rewrite(text, image)
    except Refused as refusal:
        print(f"pin_image: refused: {refusal}", file=sys.stderr)
        return 1
    # Replace the file in one step, keeping its mode, so a failure cannot leave half a file.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(result.encode("utf-8"))
        os.chmod(temporary, path.stat().st_mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    print(f"pin_image: {path}: runs.image Dockerfile -> {image}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
