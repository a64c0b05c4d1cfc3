#!/usr/bin/env bash
# Checks the RPM as an operator meets it: builds it (build.sh, unless
# OUTDIR already holds a package), lists it, installs it into a scratch
# root with rpm --root DIR --nodeps --noscripts -i, verifies the installed
# units with systemd-analyze verify, and runs the installed server the way
# the template unit runs instance mirrorlist1, with that instance's
# configuration file, on the demo data. Prints "N passed, N failed" and
# exits 1 if any check failed.
#
#   deploy/rpm/check.sh [OUTDIR]
#
# Needs rpm and rpmbuild (Debian: apt-get install rpm), systemd-analyze
# (Debian: systemd), curl and Go. The server listens on the instance's
# port, 127.0.0.1:18081, and its admin listener on 127.0.0.1:19091.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
server_pid=
cleanup() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
out=${1:-$work/out}

# shellcheck source=../tally.sh
. "$repo/deploy/tally.sh"

shopt -s nullglob
rpms=("$out"/RPMS/*/mirrorlist-server-[0-9]*.rpm)
if [ ${#rpms[@]} -eq 0 ]; then
	start=$SECONDS
	RPMBUILD_NODEPS=1 "$repo/deploy/rpm/build.sh" "$out"
	echo "built in $((SECONDS - start)) s"
	rpms=("$out"/RPMS/*/mirrorlist-server-[0-9]*.rpm)
fi
rpm=${rpms[0]}

echo "== rpm -qpl $(basename "$rpm")"
rpm -qpl "$rpm" | grep -v "^/usr/share/licenses/mirrorlist-server/vendor/" || true
echo "(and $(rpm -qpl "$rpm" | grep -c "^/usr/share/licenses/mirrorlist-server/vendor/") license files of the vendored modules)"
listing=$(rpm -qpl "$rpm")
for path in /usr/bin/mirrorlist-server /usr/bin/generate-mirrorlist-cache /usr/bin/mirrorlist-snapshot \
	/usr/lib/systemd/system/mirrorlist-server@.service /usr/lib/systemd/system/mirrorlist-server.service \
	/usr/lib/systemd/system/generate-mirrorlist-cache.service /usr/lib/systemd/system/generate-mirrorlist-cache.timer \
	/usr/lib/sysusers.d/mirrorlist-server.conf /usr/lib/tmpfiles.d/mirrorlist-server.conf \
	/etc/logrotate.d/mirrorlist-server /etc/mirrorlist-server/mirrorlist1.conf /etc/mirrorlist-server/mirrorlist2.conf \
	/usr/share/doc/mirrorlist-server/migrating.md /usr/share/licenses/mirrorlist-server/LICENSE; do
	check "package holds $path" grep -qxF "$path" <<<"$listing"
done
check "License: names every vendored license kind" \
	bash -c 'rpm -qp --qf "%{license}\n" "$1" | grep -qxF "MIT AND BSD-3-Clause AND Apache-2.0 AND ISC AND (Apache-2.0 OR MIT)"' _ "$rpm"
check "Provides: bundled(golang(...)) for the vendored modules" \
	bash -c '[ "$(rpm -qp --provides "$1" | grep -c "^bundled(golang(")" -ge 20 ]' _ "$rpm"

echo "== rpm --root DIR --nodeps --noscripts -i"
root=$work/root
mkdir -p "$root"
# Debian's rpm warns that it is not dpkg; the users the files belong to do
# not exist in the scratch root. Neither matters here.
check "install into a scratch root" rpm --root "$root" --nodeps --noscripts -i "$rpm"

echo "== systemd-analyze verify --root DIR (the installed units)"
# The scratch root has the package only; systemd's own units and /bin/kill
# (ExecReload) stand in for the systemd and procps packages it requires.
cp -an /usr/lib/systemd/system/. "$root/usr/lib/systemd/system/"
mkdir -p "$root/bin" && cp -a "$(type -P kill)" "$root/bin/kill"
for unit in mirrorlist-server.service mirrorlist-server@mirrorlist1.service mirrorlist-server@mirrorlist2.service \
	generate-mirrorlist-cache.service generate-mirrorlist-cache.timer; do
	verified=$(systemd-analyze verify --root="$root" "$unit" 2>&1 || true)
	check "systemd-analyze verify $unit" test -z "$verified"
	[ -z "$verified" ] || echo "$verified" | sed 's/^/     /' >&2
done

echo "== the installed server, as mirrorlist-server@mirrorlist1 runs it, on the demo data"
# The instance's configuration file as systemd reads it (EnvironmentFile),
# with the data directory, GeoIP database and log moved into the work
# directory; the template's ExecStart with its variables expanded as
# systemd expands these values (${VAR}: one word; $OPTIONS: split at
# spaces).
data=$work/data
mkdir -p "$data" "$work/log"
cp "$repo"/fixtures/small/* "$data/"
set -a
# shellcheck disable=SC1091 # the installed file
. "$root/etc/mirrorlist-server/mirrorlist1.conf"
set +a
echo "mirrorlist1.conf: PORT=$PORT LISTEN=$LISTEN DATADIR=$DATADIR LOG=$LOG OPTIONS=$OPTIONS"
DATADIR=$data GEOIP=$data/GeoLite2-Country.mmdb LOG=$work/log/$(basename "$LOG")
exec_start=$(sed -n '/^ExecStart=/,/[^\\]$/p' "$root/usr/lib/systemd/system/mirrorlist-server@.service" |
	sed 's/^ExecStart=//; s/\\$//' | tr '\n' ' ')
eval "set -- ${exec_start//\/usr\/bin\//$root/usr/bin/}"
echo "runs: $*"
"$@" >"$work/server.out" 2>&1 &
server_pid=$!
base=http://127.0.0.1:$PORT
probe=$root/usr/bin/mirrorlist-server
for _ in $(seq 100); do
	"$probe" --probe "$base/readyz" >/dev/null 2>&1 && break
	kill -0 "$server_pid" 2>/dev/null || break
	sleep 0.1
done
check "GET /readyz answers 200 (the installed binary's --probe)" "$probe" --probe "$base/readyz"
# The first x86_64 repository of the invalid-repo listing.
repo_arch=$(curl -s "$base/mirrorlist?repo=none&arch=none" | sed -n 's/^# repo=\(.*\)&arch=x86_64$/\1/p' | head -1)
check "the demo data lists an x86_64 repository ($repo_arch)" test -n "$repo_arch"
metalink="$base/metalink?repo=$repo_arch&arch=x86_64"
check "GET /metalink?repo=$repo_arch&arch=x86_64 holds a sha512 (Fedora's restart script's check)" \
	bash -c 'curl -sf "$1" | grep -q "<hash type=\"sha512\">"' _ "$metalink"
admin=${OPTIONS#--admin-listen }
check "the admin listener ($admin) serves /metrics" \
	bash -c 'curl -sf "http://$1/metrics" | grep -q "^mirrorlist_snapshot_generation 1$"' _ "$admin"
kill -TERM "$server_pid"
status=0
wait "$server_pid" || status=$?
server_pid=
check "SIGTERM: exit status 0" test "$status" -eq 0
check "the access log $(basename "$LOG") has the metalink's line" \
	grep -qE "^IP: 127\.0\.0\.1; DATE: [0-9-]{10}; COUNTRY: N/A; REPO: $repo_arch; ARCH: x86_64$" "$LOG"
[ "$failed" -eq 0 ] || sed 's/^/     server: /' "$work/server.out" >&2
# What the generator's unit runs before it publishes a snapshot.
check "the installed mirrorlist-snapshot check passes the demo data" \
	"$root/usr/bin/mirrorlist-snapshot" check -c "$data/mirrorlist_cache.proto" -g "$data/global_netblocks.txt" \
	--cccsv "$data/country_continent.csv" --geoip "$data/GeoLite2-Country.mmdb" --against "$data/mirrorlist_cache.proto"

summary
