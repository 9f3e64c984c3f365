#!/usr/bin/env bash
# make container-test: the action's image, built and run in a Docker engine of its own.
#
#   tests/container/run.sh            build the image, run tests/container against it
#   tests/container/run.sh figures    build it and print its size, start-up and build times
#   tests/container/run.sh exec CMD   run CMD with the engine up (DOCKER_HOST set), then stop it
#
# As root with Debian's apt it installs docker.io and debootstrap when missing, starts its own
# containerd and dockerd (own sockets, data and state, all under $CACHE, outside the checkout),
# and stops both by their pids on the way out, whatever happened. Any failure there fails the
# run. Elsewhere (not root, no apt, not Linux) it says so in one line and checks the image's
# dependency set in a venv instead.
set -euo pipefail
cd "$(dirname "$0")/../.."

MODE=${1:-test}
PYTHON=${PYTHON:-python3}
VENV_PY=${VENV_PY:-.venv/bin/python}
CACHE=${REBYTE_CONTAINER_CACHE:-/var/cache/rebyte-action-test}
RUN=$CACHE/run                      # sockets, pid files, exec roots, logs: this run's state
BASE_IMAGE=rebyte-action-test/bookworm-python3:minbase
export DOCKER_HOST=unix://$RUN/docker.sock
export DOCKER_CONFIG=$CACHE/cli     # the CLI's own settings stay out of ~/.docker
export DOCKER_BUILDKIT=0            # the classic builder: the same with the CLI of docker.io and newer ones

say() { printf 'container-test: %s\n' "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }

# Without an engine of its own: the image's steps in a fresh venv, from a copy of just the
# build context, with exactly requirements.txt and the package without its extras.
venv_check() {
    local venv=.venv-image context
    rm -rf "$venv" && "$PYTHON" -m venv "$venv"
    context=$(mktemp -d)
    cp -r requirements.txt pyproject.toml README.md LICENSE src "$context"/
    "$venv"/bin/pip install --quiet --no-compile -r "$context"/requirements.txt
    "$venv"/bin/pip install --quiet --no-compile --no-deps "$context"
    rm -rf "$context"
    (cd / && "$OLDPWD/$venv"/bin/python -m rebyte_action.demo)
}

case "$CACHE" in
    "$PWD" | "$PWD"/*) die "the cache $CACHE must be outside the checkout" ;;
esac
if [ "$(uname -s)" != Linux ] || [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    say "skipped the real image: a Docker engine of its own needs Linux, root and Debian's apt; checking the image's dependency set in a venv instead"
    [ "$MODE" = test ] || exit 0
    venv_check
    exit 0
fi

# -- the engine ---------------------------------------------------------------------------
mkdir -p "$CACHE" "$RUN" "$DOCKER_CONFIG"
if ! command -v dockerd >/dev/null || ! command -v containerd >/dev/null || ! command -v debootstrap >/dev/null; then
    say "installing docker.io and debootstrap from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update && apt-get install -y docker.io debootstrap; } >"$CACHE/apt.log" 2>&1 ||
        die "apt-get could not install docker.io and debootstrap (see $CACHE/apt.log)"
fi
exec 9>"$CACHE/lock"
flock -w 900 9 || die "another container test holds $CACHE/lock"

# Each process it starts has its pid in $RUN/NAME.started. One left by a run that was killed
# outright is stopped at the next start, and only if its command line names $RUN.
stop_pid() {  # stop_pid FILE: TERM, then KILL after 20 s, the process whose pid FILE holds
    local file=$1 pid
    [ -s "$file" ] || return 0
    pid=$(cat "$file")
    if [ -d "/proc/$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$RUN/"; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 200); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
        if [ -d "/proc/$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
    fi
    rm -f "$file"
}
stop_engine() {  # and the mounts dockerd leaves behind under $CACHE (its data root, a netns)
    stop_pid "$RUN/dockerd.started"
    stop_pid "$RUN/containerd.started"
    awk -v cache="$CACHE/" 'index($2, cache) == 1 { print $2 }' /proc/mounts | sort -r |
        while read -r mount; do umount -l "$mount" || true; done
}
stop_engine
rm -rf "${RUN:?}"/* || say "could not clear all of $RUN (mounts left by a killed run?)"
child=
# The last command runs in the background and is waited for: bash runs a trap only once its
# foreground command ends, and a signal must stop the engine now.
stop_child() { if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null || true; fi; }
trap stop_engine EXIT
trap 'stop_child; exit 130' INT
trap 'stop_child; exit 143' TERM

# Its own containerd, so it never shares one with another Docker daemon.
cat >"$RUN/containerd.toml" <<EOF
version = 2
root = "$CACHE/containerd"
state = "$RUN/containerd"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$RUN/containerd.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$CACHE/containerd-opt"
EOF
containerd --config "$RUN/containerd.toml" >"$RUN/containerd.log" 2>&1 &
echo $! >"$RUN/containerd.started"
for _ in $(seq 100); do [ -S "$RUN/containerd.sock" ] && break; sleep 0.1; done
[ -S "$RUN/containerd.sock" ] || { tail -n 20 "$RUN/containerd.log" >&2; die "containerd did not start"; }

echo '{}' >"$RUN/daemon.json"      # not /etc/docker/daemon.json, whatever it holds
start_dockerd() {  # start_dockerd DRIVER: 0 once the engine answers, 1 if dockerd exited
    dockerd --config-file "$RUN/daemon.json" --host "$DOCKER_HOST" --pidfile "$RUN/dockerd.pid" \
        --data-root "$CACHE/docker" --exec-root "$RUN/docker" --containerd "$RUN/containerd.sock" \
        --storage-driver "$1" --iptables=false --ip6tables=false --bridge=none \
        >"$RUN/dockerd-$1.log" 2>&1 &
    local pid=$!
    echo "$pid" >"$RUN/dockerd.started"  # dockerd writes --pidfile itself, and refuses one it finds
    for _ in $(seq 300); do
        if docker version >/dev/null 2>&1; then return 0; fi
        if ! kill -0 "$pid" 2>/dev/null; then rm -f "$RUN/dockerd.started"; return 1; fi
        sleep 0.1
    done
    die "dockerd ($1) did not answer within 30 s (see $RUN/dockerd-$1.log)"
}
if ! start_dockerd overlay2; then
    say "overlay2 storage is not available here; using vfs"
    start_dockerd vfs || { tail -n 20 "$RUN/dockerd-vfs.log" >&2; die "dockerd did not start"; }
fi
say "engine up: $(docker version --format 'dockerd {{.Server.Version}}') with $(docker info --format '{{.Driver}}') storage"

# -- a base image without a registry: Debian bookworm with python3 and python3-venv ---------
if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    rootfs=$CACHE/bookworm
    if [ ! -e "$rootfs.done" ]; then
        # The host's own Debian mirror when its apt sources name one; else debootstrap's default.
        mirror=$( (cat /etc/apt/sources.list 2>/dev/null; cat /etc/apt/sources.list.d/*.list 2>/dev/null) |
            awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' || true)
        if [ -z "$mirror" ]; then
            mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '
                /^URIs:/ { uri = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "bookworm") { print uri; exit } }' || true)
        fi
        say "debootstrap of bookworm (minbase, python3, python3-venv) into $rootfs${mirror:+ from $mirror}"
        rm -rf "$rootfs"
        debootstrap --variant=minbase --include=python3,python3-venv bookworm "$rootfs" ${mirror:+"$mirror"} \
            >"$CACHE/debootstrap.log" 2>&1 || die "debootstrap failed (see $CACHE/debootstrap.log)"
        find "$rootfs/var/cache/apt/archives" -name '*.deb' -delete
        rm -rf "$rootfs"/var/lib/apt/lists/*
        touch "$rootfs.done"
    fi
    say "importing $rootfs as $BASE_IMAGE"
    tar -C "$rootfs" -c . | docker import --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' - "$BASE_IMAGE" >/dev/null
fi

# -- the image and its tests (tests/container/image.py builds it) --------------------------
export REBYTE_BASE_IMAGE=$BASE_IMAGE REBYTE_CONTAINER_CACHE=$CACHE
case "$MODE" in
    test) set -- "$VENV_PY" -m pytest tests/container -p no:xdist -p no:cacheprovider -q -o addopts= \
        --timeout 600 -ra ;;
    figures) set -- "$VENV_PY" -m tests.container.figures ;;
    exec) shift ;;  # a command with the engine up, for a look around: run.sh exec bash
    *) die "unknown mode $MODE (test, figures or exec)" ;;
esac
"$@" &
child=$!
wait "$child"
docker image prune --force >/dev/null  # the layers earlier builds left, so the cache does not grow
