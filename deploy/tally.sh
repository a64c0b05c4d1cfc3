# Sourced by deploy/rpm/check.sh and deploy/container/check.sh: a tally of
# named checks, ended by summary's line "N passed, N failed".
passed=0 failed=0
pass() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1" >&2; }
# check NAME COMMAND...: runs the command as one check; its output is shown
# only if it fails.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$name"
	else
		fail "$name"
		[ -z "$out" ] || sed 's/^/     /' <<<"$out" >&2
	fi
}
# summary prints the tally and fails if a check did.
summary() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}
