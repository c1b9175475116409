#!/bin/sh
# Install husk's build and test dependencies from Debian's archive.
# Idempotent: does nothing when every package is already installed.
# debhelper and lintian: "make deb" and its test (tests/build/deb.sh).
# Pod networking tests use the CNI plugins (bridge, host-local, loopback,
# portmap, which drives iptables) and iperf3 for make bench-net.
set -eu

PKGS="make gcc clang libclang-rt-14-dev llvm pkg-config dpkg-dev
musl-tools musl-dev linux-libc-dev binutils xz-utils bzip2
protobuf-c-compiler libprotobuf-c-dev protobuf-compiler libprotobuf-dev
libseccomp-dev libjson-c-dev gperf
python3-kconfiglib linux-source-6.1
flex bison bc patch libelf-dev libssl-dev lz4 zstd cpio e2fsprogs busybox-static
qemu-system-x86 containerd runc nettle-dev python3-grpcio python3-grpc-tools
debhelper lintian
containernetworking-plugins iptables iperf3"
# virtiofsd (/usr/lib/qemu/virtiofsd, QEMU 7.2's C daemon) is in
# qemu-system-common, which qemu-system-x86 depends on: named here so the
# virtio-fs tests' dependency is explicit.
PKGS="$PKGS qemu-system-common"
# husk-runtime's tests: Docker (20.10, runc-compatible runtimes only) and
# Podman (4.3, through conmon), each started on private roots; netavark,
# Podman's other network backend (Debian's podman installs CNI's plugins
# only), for the test of both.
PKGS="$PKGS docker.io podman netavark"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
		missing="$missing $p"
done

sources=/etc/apt/sources.list.d/debian.sources
need_src=0
if [ -f "$sources" ] && ! grep -q '^Types:.*deb-src' "$sources"; then
	need_src=1
fi

[ -z "$missing" ] && [ "$need_src" = 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing; run 'make deps' as root" >&2
	exit 1
fi

if [ "$need_src" = 1 ]; then
	echo "deps: enabling deb-src in $sources"
	sed -i 's/^Types: deb$/Types: deb deb-src/' "$sources"
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
if [ -n "$missing" ]; then
	echo "deps: installing$missing"
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
