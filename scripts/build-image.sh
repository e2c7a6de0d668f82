#!/usr/bin/env bash
# Build the cdc-bot image with podman where no container registry is reachable, then run it:
# `cdc-bot --help` and `cdc-bot config validate` with a config mounted read-only on a read-only
# root filesystem. Prints the image size and how long it all took.
#
# The base image is made from Debian's packages (debootstrap bookworm: python3 3.11) and passed as
# --build-arg BASE, in place of the Dockerfile's pinned python:3.11-slim image (TESTING.md, "Container
# image"). Needs root (or sudo) for apt-get, debootstrap and podman.
#
#   scripts/build-image.sh [TAG]        # default cdc-bot:ci
#   BASE_IMAGE=python:3.11-slim scripts/build-image.sh   # a reachable registry: skip debootstrap
set -euo pipefail

TAG="${1:-cdc-bot:ci}"
LOCAL_BASE="localhost/debian-python:3.11"
BASE_IMAGE="${BASE_IMAGE:-}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${CDC_BOT_BUILD_DIR:-/var/tmp/cdc-bot-image}"
START=$(date +%s)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
say() { printf '==> %s\n' "$*" >&2; }

# 1. podman and friends, from Debian's archive.
if ! command -v podman >/dev/null || ! command -v debootstrap >/dev/null; then
  say "installing podman, buildah, runc, debootstrap"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    podman buildah runc debootstrap uidmap slirp4netns containernetworking-plugins iptables >/dev/null
fi

# 2. podman's settings for this kind of machine, in a file of our own (CONTAINERS_CONF), not /etc:
#    runc (crun refuses hybrid cgroups) and ulimits within the hard limits root has here.
$SUDO mkdir -p "$WORK"
nofile=$(ulimit -Hn)
nproc=$(ulimit -Hu)
if [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; then nproc=32768; fi
$SUDO tee "$WORK/containers.conf" >/dev/null <<EOF
[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]

[engine]
runtime = "runc"
EOF
export CONTAINERS_CONF="$WORK/containers.conf"
PODMAN="$SUDO env CONTAINERS_CONF=$CONTAINERS_CONF podman"

# 3. A Debian bookworm base with python3 (3.11), unless one was given or is already built.
if [ -z "$BASE_IMAGE" ]; then
  BASE_IMAGE="$LOCAL_BASE"
  if ! $PODMAN image exists "$LOCAL_BASE"; then
    # The mirror this machine's apt already uses (deb822 `URIs:` or a one-line `deb` entry).
    MIRROR=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)
    if [ -z "$MIRROR" ]; then
      MIRROR=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)
    fi
    [ -n "$MIRROR" ] || { echo "no Debian mirror found in the apt sources" >&2; exit 1; }
    ROOTFS="$WORK/rootfs"
    say "debootstrap bookworm from $MIRROR"
    $SUDO rm -rf "$ROOTFS"
    $SUDO debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
      bookworm "$ROOTFS" "$MIRROR" >/dev/null
    # Downloads here may pass through TLS interception: trust what the host trusts, as pip does here.
    if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
      $SUDO cp /usr/local/share/ca-certificates/*.crt "$ROOTFS/usr/local/share/ca-certificates/"
      $SUDO chroot "$ROOTFS" update-ca-certificates >/dev/null
    fi
    if [ -f /etc/pip.conf ]; then $SUDO cp /etc/pip.conf "$ROOTFS/etc/pip.conf"; fi
    # pip behaves as in the official image (no PEP 668 marker; the Dockerfile uses venvs anyway)
    $SUDO rm -f "$ROOTFS"/usr/lib/python3.*/EXTERNALLY-MANAGED
    $SUDO rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
    say "importing the base as $LOCAL_BASE"
    $SUDO tar --numeric-owner -C "$ROOTFS" -c . |
      $PODMAN import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["python3"]' - "$LOCAL_BASE" >/dev/null
    $SUDO rm -rf "$ROOTFS"
  fi
fi

# 4. The image (docker format: OCI images have no HEALTHCHECK).
say "building $TAG on $BASE_IMAGE"
$PODMAN build --format docker --network host --build-arg "BASE=$BASE_IMAGE" -t "$TAG" "$ROOT"

# 5. It runs: help, and a config check with the config mounted read-only on a read-only root.
say "cdc-bot --help"
$PODMAN run --rm --network host --read-only --no-healthcheck "$TAG" cdc-bot --help >/dev/null
say "cdc-bot config validate (config mounted read-only)"
$PODMAN run --rm --network host --read-only --tmpfs /tmp --no-healthcheck \
  -v "$ROOT/deploy/overlays/example/cdc-bot.yml:/etc/cdc-bot/cdc-bot.yml:ro" \
  "$TAG" cdc-bot config validate
if $PODMAN run --rm --network host --no-healthcheck "$TAG" sh -c 'test -e /opt/cdc-bot/lib/python3.11/site-packages/bot/sandbox'; then
  echo "the image contains bot/sandbox" >&2
  exit 1
fi

# 6. `cdc-bot serve` (HTTP mode) as in the Deployment: read-only root, /tmp a tmpfs, state in SQLite on /tmp.
PORT="${CDC_BOT_TEST_PORT:-39117}"
say "cdc-bot serve on a read-only root: /healthz and /readyz on port $PORT"
NAME="cdc-bot-check-$$"
$PODMAN run -d --rm --name "$NAME" --network host --read-only --tmpfs /tmp --no-healthcheck \
  -e SLACK_BOT_TOKEN=xoxb-build-check -e SLACK_SIGNING_SECRET=build-check -e SLACK_API_URL=http://127.0.0.1:9/api/ \
  -e CDC_BOT_DATABASE_URL=sqlite:////tmp/state.db -e CDC_BOT_LOG_FORMAT=json \
  -v "$ROOT/deploy/overlays/example/cdc-bot.yml:/etc/cdc-bot/cdc-bot.yml:ro" \
  "$TAG" cdc-bot serve --no-scheduler --port "$PORT" >/dev/null
trap '$PODMAN rm -f "$NAME" >/dev/null 2>&1 || true' EXIT
ready=""
for _ in $(seq 1 60); do
  if python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$PORT/readyz', timeout=2)" 2>/dev/null; then
    ready=yes
    break
  fi
  sleep 1
done
python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$PORT/healthz', timeout=2)" || ready=""
if [ -z "$ready" ]; then
  $PODMAN logs "$NAME" >&2 || true
  echo "cdc-bot serve did not become ready" >&2
  exit 1
fi
$PODMAN rm -f "$NAME" >/dev/null
trap - EXIT

SIZE=$($PODMAN image inspect --format '{{.Size}}' "$TAG")
echo "image $TAG: $((SIZE / 1000000)) MB, built and checked in $(($(date +%s) - START)) s"
