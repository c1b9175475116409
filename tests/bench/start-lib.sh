# shellcheck shell=bash
# Shared by tests/bench/start.sh and tests/bench/soak.sh (sourced, bash):
# the shim's "start timeline" log line, host memory of a pod's processes
# by smaps, and small statistics.  No state of its own: everything takes
# its input as arguments or on stdin, so tests/bench/start-lib-test.sh can
# feed it sample lines.

# The phases of a pod start, in the order the shim writes them (the line's
# format is agreed in the shim: msg="start timeline" sandbox=ID
# phases="name=ms,...", ms since the shim's start command).
TIMELINE_PHASES="start create spawned console agent sandbox container started output exit teardown"

# What each phase's duration (from the previous phase present) covers.
phase_label() {
	case $1 in
	start) echo "shim start command (reference, 0)" ;;
	create) echo "shim start -> Create received" ;;
	spawned) echo "Create -> hypervisor spawned" ;;
	console) echo "spawned -> first console byte" ;;
	agent) echo "console -> agent ready" ;;
	sandbox) echo "agent ready -> CreateSandbox done" ;;
	container) echo "CreateSandbox -> CreateContainer done" ;;
	started) echo "CreateContainer -> StartContainer done" ;;
	output) echo "StartContainer -> first output byte" ;;
	exit) echo "-> container exit" ;;
	teardown) echo "exit -> teardown done" ;;
	*) echo "$1" ;;
	esac
}

# timeline_lines < LOG: "SANDBOX name=ms,name=ms,..." for every start
# timeline line in a containerd log (the shim's lines are copied into it).
timeline_lines() {
	grep -a 'msg="start timeline"' |
		sed -n 's/.* sandbox=\([^ ]*\).* phases="\([^"]*\)".*/\1 \2/p'
}

# timeline_steps "name=ms,..." : one "name step_ms" line per phase present,
# the step being its time since the previous phase present (the first
# phase's step is its own value).  Names out of the agreed order, or
# values that are not numbers or go backwards, make it print nothing and
# fail: a malformed line is not measured.
timeline_steps() {
	echo "$1" | awk -v order="$TIMELINE_PHASES" '
		BEGIN { n = split(order, o, " "); for (i = 1; i <= n; i++) rank[o[i]] = i }
		{
			m = split($0, kv, ",")
			last = 0; prev = 0
			for (i = 1; i <= m; i++) {
				if (split(kv[i], p, "=") != 2 || !(p[1] in rank) ||
				    p[2] !~ /^[0-9]+$/ || rank[p[1]] <= last ||
				    p[2] + 0 < prev) { bad = 1; exit }
				out[i] = p[1] " " (p[2] - prev)
				last = rank[p[1]]; prev = p[2] + 0
			}
		}
		END {
			if (bad || !m) exit 1
			for (i = 1; i <= m; i++) print out[i]
		}'
}

# timeline_total "name=ms,..." : the last phase's value (ms since start).
timeline_total() {
	echo "${1##*=}"
}

# timeline_collect LOG DIR CASE...: for each CASE, the steps ("phase ms"
# lines) and totals of the timelines of sandboxes s-CASE-* in the
# containerd log LOG, into DIR/steps.CASE and DIR/total.CASE.
timeline_collect() {
	local log=$1 dir=$2 c id phases
	shift 2
	timeline_lines <"$log" >"$dir/timelines"
	for c in "$@"; do
		: >"$dir/steps.$c"
		: >"$dir/total.$c"
		while read -r id phases; do
			case $id in "s-$c-"*) ;; *) continue ;; esac
			timeline_steps "$phases" >>"$dir/steps.$c" || continue
			timeline_total "$phases" >>"$dir/total.$c"
		done <"$dir/timelines"
	done
}

# phase_table DIR A LABEL_A WALL_A B LABEL_B WALL_B: the per-phase table of
# cases A and B (after timeline_collect): each phase's median step and its
# share of the median total, the totals, and the time outside the shim
# (the median wall time WALL_* less the total).  Prints nothing and fails
# when neither case has a timeline.
phase_table() {
	local d=$1 a=$2 la=$3 wa=$4 b=$5 lb=$6 wb=$7 ta tb p x y
	[ -s "$d/steps.$a" ] || [ -s "$d/steps.$b" ] || return 1
	ta=$(median <"$d/total.$a")
	tb=$(median <"$d/total.$b")
	echo "| phase (time since the previous phase) | $la | share | $lb | share |"
	echo "| --- | --- | --- | --- | --- |"
	for p in $TIMELINE_PHASES; do
		x=$(awk -v p="$p" '$1 == p { print $2 }' "$d/steps.$a" | median)
		y=$(awk -v p="$p" '$1 == p { print $2 }' "$d/steps.$b" | median)
		[ "$x$y" = n/an/a ] && continue
		printf "| %s | %s | %s | %s | %s |\n" "$p: $(phase_label "$p")" \
			"$x" "$(share "$x" "$ta")" "$y" "$(share "$y" "$tb")"
	done
	printf "| timeline total (shim start to teardown done) | %s | | %s | |\n" "$ta" "$tb"
	printf "| outside the shim (ctr wall - timeline total) | %s | | %s | |\n" \
		"$(minus "$wa" "$ta")" "$(minus "$wb" "$tb")"
}

# share PART WHOLE: PART as a percentage of WHOLE ("" when unknown).
share() {
	awk -v a="$1" -v t="$2" 'BEGIN {
		if (a == "n/a" || t == "n/a" || a == "" || t == "" || t == 0) print ""
		else printf "%.0f%%", 100 * a / t }'
}

# minus A B: A - B, n/a when either is missing.
minus() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "n/a" || b == "n/a" || a == "" || b == "") print "n/a"; else print a - b }'
}

# median < numbers: the median (mean of the middle two for an even count,
# with one decimal when it has one), "n/a" for none.
median() {
	sort -n | awk '{ v[NR] = $1 } END {
		if (!NR) print "n/a"
		else if (NR % 2) print v[(NR + 1) / 2]
		else { m = (v[NR / 2] + v[NR / 2 + 1]) / 2
			if (m == int(m)) print m; else printf "%.1f\n", m } }'
}

# pctl P < numbers: the P-th percentile (nearest rank), "n/a" for none.
pctl() {
	sort -n | awk -v p="$1" '{ v[NR] = $1 } END {
		if (!NR) { print "n/a"; exit }
		r = int((p / 100) * NR + 0.999999); if (r < 1) r = 1; if (r > NR) r = NR
		print v[r] }'
}

# ratio A B: A / B with two decimals, n/a when either is missing.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "n/a" || b == "n/a" || a == "" || b == "" || b == 0) print "n/a"
		else printf "%.2f", a / b }'
}

# smaps_split PID [ASSET...]: the process's PSS in KiB by kind, as
# "guest_ram tcg assets binaries heap_other total" (one line):
#   guest_ram   guest RAM backends (the memfd of virtio-fs, or the
#               anonymous mappings QEMU keeps out of fork: "dc"), touched
#               pages only
#   tcg         TCG's translation buffer: the one anonymous executable
#               writable mapping
#   assets      file mappings of the guest assets named (kernel, initrd,
#               image), shared in the page cache by every pod
#   binaries    the executable and its libraries (shared by all QEMUs)
#   heap_other  the rest: heap, malloc arenas, stacks, TCG's TLBs, ...
smaps_split() {
	local pid=$1
	shift
	awk -v assets="$*" '
		BEGIN { n = split(assets, a, " "); for (i = 1; i <= n; i++) asset[a[i]] = 1 }
		/^[0-9a-f]+-[0-9a-f]+ / { name = $6; perms = $2; pss = 0; next }
		/^Pss:/ { pss = $2; next }
		/^VmFlags:/ {
			flags = " " substr($0, 9) " "
			if (name in asset) k = "assets"
			else if (name ~ /^\/memfd:memory-backend/ || name ~ /^\/dev\/(shm|hugepages)/ ||
				 (name == "" && flags ~ / dc /)) k = "ram"
			else if (name == "" && perms ~ /^rwx/) k = "tcg"
			else if (name ~ /^\//) k = "bin"
			else k = "other"
			kb[k] += pss; total += pss
		}
		END { printf "%d %d %d %d %d %d\n", kb["ram"], kb["tcg"], kb["assets"],
			kb["bin"], kb["other"], total }' "/proc/$pid/smaps" 2>/dev/null
}

# pss_kib PID: the process's PSS in KiB (0 if it is gone).
pss_kib() {
	awk '$1 == "Pss:" { print $2; f = 1 } END { if (!f) print 0 }' \
		"/proc/$1/smaps_rollup" 2>/dev/null || echo 0
}

# kib_mib KIB: as MiB with one decimal.
kib_mib() {
	awk -v k="$1" 'BEGIN { if (k == "n/a" || k == "") print "n/a"; else printf "%.1f", k / 1024 }'
}
