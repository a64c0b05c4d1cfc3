#!/usr/bin/env bash
# Builds the RPM: deploy/rpm/build.sh OUTDIR
#
# Makes the spec's two source tarballs from this checkout (Source0: the
# files git tracks, as they are in the work tree; Source1: vendor/, as
# `go mod vendor` writes it from the module cache), checks that the spec's
# Provides: bundled(golang(...)) lines are exactly the vendored modules, and
# runs rpmbuild -ba with OUTDIR as its top directory: the packages end up in
# OUTDIR/RPMS/<arch>/ and OUTDIR/SRPMS/, rpmbuild's output in
# OUTDIR/rpmbuild.log. The build itself is offline (GOPROXY=off), from
# vendor/ only.
#
# Needs rpmbuild (Debian: apt-get install rpm) and Go. On a system whose
# rpm database does not hold the build dependencies (Debian's is empty),
# set RPMBUILD_NODEPS=1 to pass --nodeps. RPMBUILD_ARGS adds arguments
# (--nocheck, say).
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
repo=$(cd "$(dirname "$0")/../.." && pwd)
spec="$repo/deploy/rpm/mirrorlist-server.spec"
mkdir -p "$1"
out=$(cd "$1" && pwd)

command -v rpmbuild >/dev/null || { echo "rpmbuild not found (Debian: apt-get install rpm)" >&2; exit 1; }

name=$(rpmspec -q --srpm --qf '%{name}' "$spec")
version=$(rpmspec -q --srpm --qf '%{version}' "$spec")
mkdir -p "$out/SOURCES"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# Source0: the tracked files of the work tree, under NAME-VERSION/, with
# fixed owners and times so that the same tree gives the same tarball.
mtime=$(git -C "$repo" log -1 --format=%ct)
mkdir "$stage/$name-$version"
git -C "$repo" ls-files -z | (cd "$repo" && tar --null -T - -cf -) | tar -xf - -C "$stage/$name-$version"
tar -C "$stage" --sort=name --mtime="@$mtime" --owner=0 --group=0 --numeric-owner \
	-czf "$out/SOURCES/$name-$version.tar.gz" "$name-$version"

# Source1: vendor/, made in the staged copy from the module cache.
(cd "$stage/$name-$version" && go mod vendor)
tar -C "$stage/$name-$version" --sort=name --mtime="@$mtime" --owner=0 --group=0 --numeric-owner \
	-czf "$out/SOURCES/$name-$version-vendor.tar.gz" vendor
cp "$repo/deploy/rpm/mirrorlist-server.sysusers" "$out/SOURCES/$name.sysusers"

# The spec's bundled provides against vendor/modules.txt, spelled as
# Fedora's go_mod_vendor.prov spells them: the version without its "v", a
# pseudo-version as the first 7 hex digits of its commit.
want=$(awk '/^# / {
	v = $3
	if (length(v) > 27) v = substr(v, length(v) - 11, 7); else sub(/^v/, "", v)
	print "bundled(golang(" $2 ")) = " v
}' "$stage/$name-$version/vendor/modules.txt" | sort)
have=$(sed -n 's/^Provides: *\(bundled(golang(.*\)$/\1/p' "$spec" | sort)
if [ "$want" != "$have" ]; then
	echo "$spec: the bundled provides differ from vendor/modules.txt (< wanted, > in the spec):" >&2
	diff <(echo "$want") <(echo "$have") >&2 || true
	exit 1
fi

args=(--define "_topdir $out")
[ "${RPMBUILD_NODEPS:-}" = 1 ] && args+=(--nodeps)
# shellcheck disable=SC2206 # word splitting of RPMBUILD_ARGS is the point
args+=(${RPMBUILD_ARGS:-})
if ! rpmbuild -ba "${args[@]}" "$spec" >"$out/rpmbuild.log" 2>&1; then
	tail -n 60 "$out/rpmbuild.log" >&2
	echo "rpmbuild failed; the whole output is in $out/rpmbuild.log" >&2
	exit 1
fi
grep '^Wrote: ' "$out/rpmbuild.log"
