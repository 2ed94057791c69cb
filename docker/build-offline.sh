#!/usr/bin/env bash
# Builds Shoal's image without pulling any image: for a machine whose Docker engine has no
# registry access (and for the tests, docker.rs).
#
#   docker/build-offline.sh [--binary PATH] [--tag IMAGE] [--base-tag IMAGE] [--keep-debug]
#
# 1. Makes a minimal root filesystem for an existing `shoal` binary (default
#    target/release/shoal: `cargo build --release` first): the shared libraries `ldd` lists and
#    the dynamic loader, /etc/passwd and /etc/group with the user nonroot (65532, as the
#    distroless base of docker/Dockerfile), /etc/nsswitch.conf, /tmp. No shell, nothing else.
# 2. `docker import`s it as the base image (--base-tag, default shoal-base:offline).
# 3. Builds the runtime stage of docker/Dockerfile (from its "runtime" marker to the end,
#    unchanged) FROM that base, with the binary as its `build` stage, tagged --tag (default
#    shoal:latest).
#
# The binary's debug information is stripped (its symbols stay, for backtraces), as the
# Dockerfile's build stage does; --keep-debug keeps it (the release profile's line tables
# triple the binary; a debug build is ten times larger with it).
# The image's glibc is the host's, so the image runs the binary exactly as the host does.
# Prints the image's size on its last line.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
binary="$root/target/release/shoal"
tag="shoal:latest"
base_tag="shoal-base:offline"
strip=1
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) binary="$2"; shift 2 ;;
        --tag) tag="$2"; shift 2 ;;
        --base-tag) base_tag="$2"; shift 2 ;;
        --strip) strip=1; shift ;;
        --keep-debug) strip=0; shift ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "build-offline.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

if [ ! -x "$binary" ]; then
    echo "build-offline.sh: no executable $binary (cargo build --release -p shoal-server --bin shoal, or --binary PATH)" >&2
    exit 1
fi
for tool in docker ldd tar strip; do
    command -v "$tool" >/dev/null || { echo "build-offline.sh: $tool is needed" >&2; exit 1; }
done

work="$(mktemp -d "${TMPDIR:-/tmp}/shoal-image.XXXXXX")"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
context="$work/context"
mkdir -p "$rootfs"/{etc,tmp,home/nonroot,usr/local/bin} "$context"
chmod 1777 "$rootfs/tmp"

# The binary, for the build context (the runtime stage copies it from the `build` stage).
cp "$binary" "$context/shoal"
if [ "$strip" -eq 1 ]; then
    strip --strip-debug "$context/shoal"
fi

# Its shared libraries and loader, at the paths the loader looks in. A static binary has none.
if ldd "$context/shoal" >"$work/ldd" 2>&1; then
    # "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)"
    awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' "$work/ldd" | sort -u |
        while read -r lib; do
            mkdir -p "$rootfs$(dirname "$lib")"
            cp -L "$lib" "$rootfs$lib"
        done
elif ! grep -q "not a dynamic executable\|statically linked" "$work/ldd"; then
    echo "build-offline.sh: ldd $binary failed:" >&2
    cat "$work/ldd" >&2
    exit 1
fi

cat >"$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
PASSWD
cat >"$rootfs/etc/group" <<'GROUP'
root:x:0:
nobody:x:65534:
nonroot:x:65532:
GROUP
# Names: /etc/hosts first (Docker writes it), then DNS (service names, headless services).
echo "hosts: files dns" >"$rootfs/etc/nsswitch.conf"
chown -R 65532:65532 "$rootfs/home/nonroot" 2>/dev/null || true

tar --numeric-owner -C "$rootfs" -cf "$work/rootfs.tar" .
docker import --message "shoal offline base: glibc and loader of $(basename "$binary")" \
    "$work/rootfs.tar" "$base_tag" >/dev/null

# The runtime stage of docker/Dockerfile, after a `build` stage that only holds the binary.
{
    echo "ARG RUNTIME_BASE=$base_tag"
    echo "FROM \${RUNTIME_BASE} AS build"
    echo "COPY shoal /out/shoal"
    echo "LABEL org.shoal.offline-build-stage=\"$tag\""
    sed -n '/^# ---- runtime/,$p' "$here/Dockerfile"
} >"$context/Dockerfile"
if ! grep -q '^FROM ${RUNTIME_BASE} AS runtime' "$context/Dockerfile"; then
    echo "build-offline.sh: docker/Dockerfile has no runtime stage after its marker" >&2
    exit 1
fi

# The classic builder when BuildKit's buildx is not installed (as on Debian's docker.io).
if docker buildx version >/dev/null 2>&1; then
    docker build --quiet --build-arg "RUNTIME_BASE=$base_tag" -t "$tag" "$context" >/dev/null
else
    DOCKER_BUILDKIT=0 docker build --quiet --build-arg "RUNTIME_BASE=$base_tag" -t "$tag" \
        "$context" >/dev/null
fi
# The build stage's image is left untagged by the classic builder: remove it.
docker image prune --force --filter "label=org.shoal.offline-build-stage=$tag" >/dev/null
size="$(docker image inspect --format '{{.Size}}' "$tag")"
echo "built $tag from $binary on $base_tag: $size bytes"
