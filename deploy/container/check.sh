#!/usr/bin/env bash
# Builds the Dockerfile's final stage and runs the image as a hardened
# deployment would, then checks what an operator relies on. Prints
# "N passed, N failed" and exits 1 if any check failed.
#
#   deploy/container/check.sh
#
# Where registries cannot be reached, neither of the Dockerfile's base
# images can be pulled, so both are replaced at build time, and the
# Dockerfile itself is built as it is:
#   - the build stage ("build", on the golang image): by the binary, built
#     on the host with the stage's own go build command and handed to
#     podman as a build context of that name (--build-context
#     build=DIR; a stage and a context of the same name: the context wins,
#     in podman as in docker buildx, and the stage is not built);
#   - gcr.io/distroless/static-debian12:nonroot: by a stand-in made here
#     from deploy/container/standin/ (the same users, Debian's CA
#     certificates and time zones), given as a build context of that name.
# Elsewhere `podman build --format docker .` or `docker build .` builds the
# real thing.
#
# The image is built in the docker format: the OCI format, podman build's
# default, has no HEALTHCHECK and drops it without a word (checked below).
#
# It runs with a read-only root, every capability dropped, the data
# mounted read-only and its ports published on 127.0.0.1 only, and the
# checks are: /readyz, a metalink answer, the image's health check and
# --probe inside the container, uid 65532, a cache file replaced on the
# host (temporary file and rename) and served without a restart, and a
# clean stop on SIGTERM.
#
# Needs Go, curl and podman with runc, as root (Debian: apt-get install
# podman runc). PORT (default 18091) and ADMIN_PORT (19191) are the host
# ports.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
port=${PORT:-18091}
admin_port=${ADMIN_PORT:-19191}
image=localhost/mirrorlist-server:check
base=localhost/mirrorlist-distroless-standin:static-debian12-nonroot
name=mirrorlist-check-$$
# crun fails on these machines' hybrid cgroup setup, and podman's default
# rlimits exceed the sandbox's.
podman=(podman --runtime runc)
limits=(--ulimit nofile=20000:20000 --ulimit nproc=32768:32768)

work=$(mktemp -d)
cleanup() {
	"${podman[@]}" rm -f -t 0 "$name" >/dev/null 2>&1 || true
	"${podman[@]}" rmi -f "$image" "$image-oci" "$base" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=../tally.sh
. "$repo/deploy/tally.sh"
# until_ok TRIES COMMAND...: runs the command every 0.1 s until it succeeds.
until_ok() {
	local tries=$1
	shift
	for _ in $(seq "$tries"); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

for tool in podman runc go curl; do
	command -v "$tool" >/dev/null || { echo "$tool not found (Debian: apt-get install podman runc curl)" >&2; exit 1; }
done

echo "== the binary: the Dockerfile's build stage command, on the host"
# The RUN line that builds the binary, with its output moved from /out to
# the build context handed to podman.
build_cmd=$(sed -n 's/^RUN \(CGO_ENABLED=0 go build .*\)$/\1/p' "$repo/Dockerfile")
[ -n "$build_cmd" ] || { echo "Dockerfile: no 'RUN CGO_ENABLED=0 go build' line" >&2; exit 1; }
mkdir -p "$work/build/out"
echo "$build_cmd" | sed "s#/out/#$work/build/out/#"
(cd "$repo" && eval "${build_cmd//\/out\//$work/build/out/}")
check "the binary is static" bash -c '! ldd "$1" >/dev/null 2>&1' _ "$work/build/out/mirrorlist-server"

echo "== the stand-in base image"
ctx=$work/base
mkdir -p "$ctx/rootfs/etc/ssl/certs" "$ctx/rootfs/usr/share" "$ctx/rootfs/tmp" "$ctx/home/nonroot"
cp -a "$repo/deploy/container/standin/etc/." "$ctx/rootfs/etc/"
cp "$repo/deploy/container/standin/Containerfile" "$ctx/"
# Debian's ca-certificates and tzdata, as installed here.
cp /etc/ssl/certs/ca-certificates.crt "$ctx/rootfs/etc/ssl/certs/"
cp -a /usr/share/zoneinfo "$ctx/rootfs/usr/share/"
chmod 1777 "$ctx/rootfs/tmp"
"${podman[@]}" build -q --pull=never --format docker -t "$base" "$ctx" >/dev/null

echo "== podman build of the Dockerfile"
contexts=(--build-context "build=$work/build" --build-context "gcr.io/distroless/static-debian12:nonroot=docker-image://$base")
"${podman[@]}" build -q --pull=never --format docker "${contexts[@]}" -t "$image" -f "$repo/Dockerfile" "$repo" >/dev/null
health=$("${podman[@]}" image inspect --format '{{json .Config.Healthcheck}}' "$image")
check "the image keeps its HEALTHCHECK (docker format): $health" grep -q -- '--probe' <<<"$health"
"${podman[@]}" build -q --pull=never --format oci "${contexts[@]}" -t "$image-oci" -f "$repo/Dockerfile" "$repo" >/dev/null 2>&1
oci_health=$("${podman[@]}" image inspect --format '{{json .Config.Healthcheck}}' "$image-oci")
check "the OCI format drops it ($oci_health), as the README warns" test "$oci_health" = null
"${podman[@]}" rmi "$image-oci" >/dev/null

echo "== podman run: read-only root, no capabilities, data read-only, ports on 127.0.0.1"
data=$work/data
mkdir -p "$data"
cp "$repo"/fixtures/small/* "$data/"
chmod 0755 "$data" && chmod 0644 "$data"/*
"${podman[@]}" run -d --name "$name" "${limits[@]}" \
	--read-only --cap-drop ALL --security-opt no-new-privileges \
	-v "$data:/var/lib/mirrormanager:ro" \
	-p "127.0.0.1:$port:3000" -p "127.0.0.1:$admin_port:9090" \
	"$image" >/dev/null 2>"$work/run.err" || { cat "$work/run.err" >&2; exit 1; }
# (podman cannot start the health check's systemd timer here, and says so
# on stderr; `podman healthcheck run` below runs the check itself.)
url=http://127.0.0.1:$port
admin=http://127.0.0.1:$admin_port
until_ok 100 curl -sf "$url/readyz" || true
check "GET /readyz answers 200" curl -sf "$url/readyz"
check "ports are published on 127.0.0.1 only" \
	bash -c '! "$@" port "$0" | grep -v -- "-> 127\.0\.0\.1:"' "$name" "${podman[@]}"
repo_arch=$(curl -s "$url/mirrorlist?repo=none&arch=none" | sed -n 's/^# repo=\(.*\)&arch=x86_64$/\1/p' | head -1)
metalink="$url/metalink?repo=$repo_arch&arch=x86_64"
curl -s -D "$work/headers" -o "$work/metalink.before" "$metalink"
check "GET /metalink?repo=$repo_arch&arch=x86_64: 200, application/metalink+xml, a sha512" \
	bash -c 'grep -q "^HTTP/1.1 200" "$1" && grep -qi "^Content-Type: application/metalink+xml" "$1" && grep -q "<hash type=\"sha512\">" "$2"' \
	_ "$work/headers" "$work/metalink.before"
check "the image's health check passes (podman healthcheck run)" "${podman[@]}" healthcheck run "$name"
check "--probe inside the container" "${podman[@]}" exec "$name" /usr/local/bin/mirrorlist-server --probe http://127.0.0.1:3000/readyz
pid=$("${podman[@]}" inspect --format '{{.State.Pid}}' "$name")
check "the server runs as uid 65532" grep -qE '^Uid:\s+65532\s+65532\s+65532\s+65532$' "/proc/$pid/status"
check "with no capabilities" grep -qE '^CapEff:\s+0+$' "/proc/$pid/status"
check "on a read-only root" bash -c '[ "$("$@" inspect --format "{{.HostConfig.ReadonlyRootfs}}" "$0")" = true ]' "$name" "${podman[@]}"

echo "== a new cache file, written on the host and renamed into place"
# Another seed's set, the same size: the shrink guards let it through,
# and its file details (so the metalink's hashes) differ.
(cd "$repo" && go run ./cmd/mirrorlist-fixtures -scale small -seed 2 -out "$work/seed2" >/dev/null)
cp "$work/seed2/mirrorlist_cache.proto" "$data/.mirrorlist_cache.proto.tmp"
chmod 0644 "$data/.mirrorlist_cache.proto.tmp"
mv "$data/.mirrorlist_cache.proto.tmp" "$data/mirrorlist_cache.proto"
until_ok 100 bash -c 'curl -s "$1/metrics" | grep -q "^mirrorlist_snapshot_generation 2$"' _ "$admin" || true
check "the server reloaded it (generation 2 on the admin listener)" \
	bash -c 'curl -s "$1/metrics" | grep -q "^mirrorlist_snapshot_generation 2$"' _ "$admin"
curl -s -o "$work/metalink.after" "$metalink"
check "and serves it: the metalink's hashes changed" \
	bash -c '[ -n "$(grep -o "<hash type=\"sha512\">[^<]*" "$1")" ] && ! diff <(grep -o "<hash type=\"sha512\">[^<]*" "$1") <(grep -o "<hash type=\"sha512\">[^<]*" "$2")' \
	_ "$work/metalink.after" "$work/metalink.before"
state=$("${podman[@]}" inspect --format '{{.State.Pid}} {{.RestartCount}}' "$name")
check "without a restart (same process, no restarts: $state)" test "$state" = "$pid 0"

echo "== SIGTERM"
"${podman[@]}" stop -t 20 "$name" >/dev/null 2>"$work/stop.err" || { cat "$work/stop.err" >&2; exit 1; }
check "a clean stop: exit status 0" bash -c '[ "$("$@" inspect --format "{{.State.ExitCode}}" "$0")" = 0 ]' "$name" "${podman[@]}"
"${podman[@]}" logs "$name" >"$work/logs" 2>&1
check "the access log (stdout) has the metalink's lines" \
	grep -qE "^IP: [0-9a-f.:]+; DATE: [0-9-]{10}; COUNTRY: N/A; REPO: $repo_arch; ARCH: x86_64$" "$work/logs"
check "the server says it stopped" grep -q '"msg":"server stopped"' "$work/logs"
[ "$failed" -eq 0 ] || sed 's/^/     container: /' "$work/logs" >&2

summary
