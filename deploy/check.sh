#!/usr/bin/env bash
# Checks the service files with the tools that will read them:
# systemd-analyze verify on the units, haproxy -c on the HAProxy example.
# Installs Debian's systemd and haproxy when they are missing and apt-get
# can; skips a check (saying so) when its tool cannot be had.
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
if [ ${#need[@]} -gt 0 ] && command -v apt-get >/dev/null; then
	(apt-get install -y "${need[@]}" || (apt-get update && apt-get install -y "${need[@]}")) >/dev/null 2>&1 || true
fi
PATH="$PATH:/usr/sbin"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if command -v systemd-analyze >/dev/null; then
	# verify wants ExecStart's binary to exist; check the units as written
	# with a stand-in binary path. The timer is verified beside the service
	# it starts.
	for unit in mirrorlist-server.service generate-mirrorlist-cache.service generate-mirrorlist-cache.timer; do
		sed 's#/usr/local/bin/[a-z-]*#/bin/true#' "$unit" >"$tmp/$unit"
	done
	for unit in mirrorlist-server.service generate-mirrorlist-cache.timer; do
		out=$(cd "$tmp" && systemd-analyze verify "$unit" 2>&1 || true)
		if [ -n "$out" ]; then
			echo "systemd-analyze verify $unit: $out" >&2
			exit 1
		fi
	done
	echo "systemd units: ok"
else
	echo "systemd-analyze not available: units not verified"
fi

if command -v haproxy >/dev/null; then
	haproxy -c -f haproxy.cfg
else
	echo "haproxy not available: example not checked"
fi
