#!/usr/bin/env bash
# Publish a release's action.yml: the release tag and the moving major tag name a release
# commit whose action.yml runs the prebuilt image instead of building the Dockerfile.
#
#   publish_action.sh TAG IMAGE        e.g. publish_action.sh v1.2.3 ghcr.io/owner/rebyte-action
#
# Run it in a checkout of the commit the tag was pushed on (HEAD), with `origin` the repository.
#   1. action.yml gets `runs.image: docker://IMAGE:TAG` (pin_image.py), committed on a release
#      commit whose parent is that source commit. The commit is on no branch: main keeps
#      `image: Dockerfile`, so the repository's own workflows keep building from source.
#   2. TAG moves from the source commit to the release commit, once: the push is leased on the
#      tag still being what it was when this run looked, and happens only while it still names
#      the source commit. After that TAG never moves again: a re-run finds its release commit
#      already there, checks it, and leaves it.
#   3. vMAJOR is force-pushed to the release commit, unless a higher vMAJOR.y.z is released
#      already (a late patch of an older line does not take vMAJOR back).
# GH_TOKEN, when set, authenticates git through a credential helper that reads it from the
# environment: it is never on a command line, in .git/config or in the output.
set -euo pipefail

fail() {
    echo "publish_action: $*" >&2
    exit 1
}

[[ $# -eq 2 ]] || fail "usage: publish_action.sh TAG IMAGE"
tag=$1
image=$2
[[ $tag =~ ^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$ ]] || fail "tag '$tag' is not vMAJOR.MINOR.PATCH"
major=${tag%%.*}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python=${PYTHON:-python3}
source_commit=$(git rev-parse --verify HEAD)
bot=(-c "user.name=github-actions[bot]" -c "user.email=41898282+github-actions[bot]@users.noreply.github.com")

remote_git() {
    if [[ -n ${GH_TOKEN:-} ]]; then
        # shellcheck disable=SC2016  # the helper expands $1 and $GH_TOKEN itself, when git runs it
        git -c credential.helper= \
            -c 'credential.helper=!f() { test "$1" = get && printf "username=x-access-token\npassword=%s\n" "$GH_TOKEN"; }; f' \
            "$@"
    else
        git "$@"
    fi
}

# Where the tags stand on the remote now: the tag's own object (an annotated tag's object, or
# the commit) for the lease, and the commit it names.
remote_tags=$(remote_git ls-remote --tags origin)
object=$(awk -v ref="refs/tags/$tag" '$2 == ref { print $1 }' <<<"$remote_tags")
named=$(awk -v ref="refs/tags/$tag^{}" '$2 == ref { print $1 }' <<<"$remote_tags")
named=${named:-$object}
[[ -n $object ]] || fail "origin has no tag $tag"

if [[ $named == "$source_commit" ]]; then
    "$python" "$here/pin_image.py" action.yml "$image:$tag"
    git add action.yml
    git "${bot[@]}" commit --quiet --no-verify \
        -m "Release $tag: action.yml runs the prebuilt image $image:$tag" \
        -m "Built from $source_commit, whose action.yml builds the Dockerfile."
    release=$(git rev-parse HEAD)
    git "${bot[@]}" tag --force --annotate -m "rebyte-action $tag: runs $image:$tag" "$tag" "$release" >/dev/null
    remote_git push --quiet --force-with-lease="refs/tags/$tag:$object" origin "refs/tags/$tag:refs/tags/$tag" ||
        fail "could not move $tag from $source_commit to the release commit (did it move meanwhile?)"
    echo "publish_action: $tag -> $release (action.yml runs $image:$tag)"
else
    # A re-run: the tag must already name this source's release commit.
    remote_git fetch --quiet --no-tags --depth=2 origin "+refs/tags/$tag:refs/publish-action/$tag"
    release=$(git rev-parse --verify "refs/publish-action/$tag^{commit}")
    git update-ref -d "refs/publish-action/$tag"
    [[ $(git rev-parse --verify "$release^") == "$source_commit" ]] ||
        fail "$tag names $release, which is neither $source_commit nor its release commit"
    git show "$release:action.yml" | grep -qxF "  image: docker://$image:$tag" ||
        fail "$tag names $release, whose action.yml does not run $image:$tag"
    echo "publish_action: $tag already names its release commit $release; left as it is"
fi

# vMAJOR follows the highest vMAJOR.y.z released.
highest=$(awk -v prefix="refs/tags/$major." '
    index($2, prefix) == 1 && $2 !~ /\^\{\}$/ { sub("refs/tags/", "", $2); print $2 }
' <<<"$remote_tags" | grep -E '^v[0-9]+\.[0-9]+\.[0-9]+$' | sort -V | tail -n 1)
if [[ -n $highest && $highest != "$tag" ]]; then
    echo "publish_action: $major stays where it is: $highest is higher than $tag"
else
    remote_git push --quiet --force origin "$release:refs/tags/$major"
    echo "publish_action: $major -> $release"
fi
