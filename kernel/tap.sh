# TAP helpers for kernel/'s test scripts (sourced, bash): each test runs in
# a private temporary directory; the script ends with tap_done.

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

n=0 failed=0
# t DESC WANT-RC GREP-PATTERN CMD...: run CMD, check its exit status and
# that its output matches the pattern.
t() {
	local desc=$1 want=$2 pat=$3 rc=0
	shift 3
	"$@" > out 2>&1 || rc=$?
	n=$((n + 1))
	if [ "$rc" -eq "$want" ] && grep -qE -- "$pat" out; then
		echo "ok $n - $desc"
	else
		echo "not ok $n - $desc (rc $rc, want $want; /$pat/)"
		sed 's/^/# /' out
		failed=$((failed + 1))
	fi
}
# check DESC CMD...: a plain condition.
check() {
	local desc=$1
	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n - $desc"
	else
		echo "not ok $n - $desc"
		failed=$((failed + 1))
	fi
}
# tap_done: the script's exit status, failing if any test failed.
tap_done() {
	[ "$failed" -eq 0 ]
}
