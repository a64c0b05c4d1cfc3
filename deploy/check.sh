#!/usr/bin/env bash
# Checks the service files with the tools that will read them:
# systemd-analyze verify on the units (the RPM's template unit too),
# haproxy -c on the HAProxy example, and a forced logrotate run of
# logrotate.conf on a copy of its logs. Installs Debian's systemd, haproxy
# and logrotate when they are missing and apt-get can; skips a check
# (saying so) when its tool cannot be had.
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
command -v logrotate >/dev/null || [ -x /usr/sbin/logrotate ] || need+=(logrotate)
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
	for unit in mirrorlist-server.service generate-mirrorlist-cache.service generate-mirrorlist-cache.timer rpm/mirrorlist-server@.service; do
		sed 's#/usr/local/bin/[a-z-]*#/bin/true#; s#/usr/bin/mirrorlist-server#/bin/true#' "$unit" >"$tmp/$(basename "$unit")"
	done
	for unit in mirrorlist-server.service generate-mirrorlist-cache.timer mirrorlist-server@mirrorlist1.service; do
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

if command -v logrotate >/dev/null; then
	# The configuration as written, with its logs in a scratch directory
	# and the owner it creates them with made root (mirrormanager need not
	# exist here): one log of each kind must be rotated and created anew.
	mkdir "$tmp/log"
	sed "s#/var/log/mirrormanager/#$tmp/log/#g; s/mirrormanager mirrormanager/root root/" logrotate.conf >"$tmp/logrotate.conf"
	echo line >"$tmp/log/mirrorlist.log"
	echo line >"$tmp/log/mirrorlist1.service.log"
	logrotate -f -s "$tmp/logrotate.state" "$tmp/logrotate.conf"
	for log in mirrorlist.log mirrorlist1.service.log; do
		if [ ! -s "$tmp/log/$log.1" ] || [ ! -e "$tmp/log/$log" ] || [ -s "$tmp/log/$log" ]; then
			echo "logrotate.conf: $log was not rotated: $(ls "$tmp/log")" >&2
			exit 1
		fi
	done
	echo "logrotate.conf: ok"
else
	echo "logrotate not available: logrotate.conf not checked"
fi
