#!/bin/sh
# Lay out the guest's minimal root tree:
#
#   mktree.sh AGENT OUTDIR [--init-path /init|/sbin/init] [--busybox]
#
# the directories PID 1 expects, a root-only passwd/group, AGENT as init
# and, with --busybox (debug console), busybox plus its applet links.
# Modes are set explicitly (and the umask fixed) so the caller's umask
# does not leak into the images.
# Device nodes are not made here (mknod needs root): the image writers add
# them from devices.txt.  Owners and times are likewise set by the writers.
set -eu

usage() {
	echo "usage: $0 AGENT OUTDIR [--init-path PATH] [--busybox]" >&2
	exit 2
}

[ $# -ge 2 ] || usage
agent=$1 out=$2
shift 2
init_path=/init busybox=
while [ $# -gt 0 ]; do
	case $1 in
	--init-path) [ $# -ge 2 ] || usage; init_path=$2; shift 2 ;;
	--busybox) busybox=${BUSYBOX:-/bin/busybox}; shift ;;
	*) usage ;;
	esac
done

[ -f "$agent" ] || { echo "mktree: agent $agent: not found" >&2; exit 1; }
if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
	echo "mktree: $out: exists and is not empty" >&2
	exit 1
fi

umask 022
mkdir -p "$out"
chmod 0755 "$out"
for d in dev proc sys run tmp etc sbin bin root var; do
	mkdir -p "$out/$d"
	chmod 0755 "$out/$d"
done
chmod 0555 "$out/proc" "$out/sys"
chmod 0700 "$out/root"
chmod 1777 "$out/tmp"

printf 'root:x:0:0:root:/root:/bin/sh\n' >"$out/etc/passwd"
printf 'root:x:0:\n' >"$out/etc/group"
chmod 0644 "$out/etc/passwd" "$out/etc/group"

mkdir -p "$out$(dirname "$init_path")"
cp "$agent" "$out$init_path"
chmod 0755 "$out$init_path"

if [ -n "$busybox" ]; then
	# The guest has no loader: a dynamic busybox would not run there.
	if readelf -l "$busybox" 2>/dev/null | grep -q INTERP; then
		echo "mktree: $busybox is not static (install busybox-static)" >&2
		exit 1
	fi
	cp "$busybox" "$out/bin/busybox"
	chmod 0755 "$out/bin/busybox"
	# Applet links where busybox says they belong, never over init.
	"$busybox" --list-full | while read -r applet; do
		[ -e "$out/$applet" ] || [ -L "$out/$applet" ] && continue
		dir=$(dirname "$out/$applet")
		mkdir -p "$dir"
		ln -s /bin/busybox "$out/$applet"
	done
fi
