#!/bin/bash
# Pods with a network of their own through containerd's CRI plugin and a
# real CNI plugin (Debian's containernetworking-plugins: bridge +
# host-local, loopback, portmap).  The test makes a network namespace and
# runs its private containerd inside it, so the CNI bridge, the pods' veths
# and portmap's iptables rules never touch the host's network.
#
# runc pods (always): eth0 with the CNI result's address and MAC and a
# default route, a file served by busybox httpd fetched byte-exact by the
# pod's IP from the test's namespace, DNS settings and hostname from the
# pod config, a hostPort, a privileged container making a bridge.
#
# husk pods (issue 9, checks 1-7): the same through the VM (tcfilter and
# macvtap), husk<->husk and husk<->runc traffic, `ctr run --with-ns
# network:PATH` with two interfaces, and no tap, qdisc or filter left after
# the pods, also after QEMU was SIGKILLed.
#
# Nothing is left behind: pods removed through CRI, containerd stopped by
# PID, the namespaces removed; the test checks for left-over veths,
# namespaces and CNI state.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cri-lib.sh"

NETNS=husk-e2e-net-$$
NET=husk-e2e-$$
SUBNET=10.99.0
GW=$SUBNET.1
CNI_BIN=/usr/lib/cni
NETDIR=
HOLD_PIDS=
TWO_NS=
# seq 1 30000: 168,894 bytes the pods serve and the host can make again.
DATA_N=30000
DATA_MD5=$(seq 1 "$DATA_N" | md5sum | cut -d' ' -f1)
HTTPD="mkdir -p /www && seq 1 $DATA_N >/www/data && exec httpd -f -p 80 -h /www"

cri_handlers() {
	cat <<EOF
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.husk]
      runtime_type = "$RUNTIME"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.husk-macvtap]
      runtime_type = "$RUNTIME"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.husk-macvtap.options]
        ConfigPath = "$T/husk-macvtap.toml"
EOF
}

# containerd (from the lib's start_containerd) runs in the test's
# namespace; nsenter execs it, so the lib's CTD_PID is containerd's PID.
# Only the network namespace changes: mounts stay visible to the lib.
containerd() { exec nsenter --net="/run/netns/$NETNS" containerd "$@"; }

in_net() { nsenter --net="/run/netns/$NETNS" "$@"; }

# The lib's cleanup, then this test's namespaces, namespace holders and
# CNI state.
eval "lib_$(declare -f cleanup)"
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	local rc=$?
	local p
	(exit "$rc")
	lib_cleanup
	set +e
	for p in $HOLD_PIDS; do kill -KILL "$p" 2>/dev/null; done
	for p in $HOLD_PIDS; do wait "$p" 2>/dev/null; done
	HOLD_PIDS=
	for p in $(pod_netns_left); do ip netns del "$p" 2>/dev/null; done
	[ -n "$TWO_NS" ] && ip netns del "$TWO_NS" 2>/dev/null
	ip netns del "$NETNS" 2>/dev/null
	rm -f /var/lib/cni/results/"$NET"-* 2>/dev/null
	[ -n "$NETDIR" ] && rm -rf "$NETDIR"
	NETDIR=
}

# The pods' namespaces (CRI's /run/netns/cni-*), noted as the test finds
# them: the check and the cleanup touch only these, never another run's.
POD_NETNS=
note_netns() { POD_NETNS="$POD_NETNS ${1##*/}"; }
pod_netns_left() {
	local n
	for n in $POD_NETNS; do
		[ -e "/run/netns/$n" ] && echo "$n"
	done
}
host_veths() { ip -o link show type veth 2>/dev/null | wc -l; }

# hold PATH: keep a network namespace alive after CRI removed it, to look
# at what is left inside; HELD is the /proc path to enter it by.  (Not in
# a command substitution: the sleeper would keep its pipe open.)
HELD=
hold() {
	nsenter --net="$1" sleep 600 </dev/null >/dev/null 2>&1 &
	HOLD_PIDS="$HOLD_PIDS $!"
	HELD=/proc/$!/ns/net
}

# fetch URL: the body, from the test's namespace, retried while the server
# comes up.  busybox 1.35's wget -T crashes, so timeout(1) bounds it.
fetch() {
	local i
	for i in $(seq 20); do
		timeout 10 nsenter --net="/run/netns/$NETNS" busybox wget -q -O - "$1" 2>"$T/wget.err" && return 0
		sleep 0.25
	done
	echo "# wget $1: $(cat "$T/wget.err")" >&2
	return 1
}
# expect_data DESCRIPTION URL
expect_data() {
	expect "$1" "$DATA_MD5" "$(fetch "$2" | md5sum | cut -d' ' -f1)"
}

# The MAC of IFACE in the namespace at PATH.
netns_mac() {
	nsenter --net="$1" ip -o link show "$2" 2>/dev/null |
		sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'
}

# The MAC the CNI result of pod POD names for its eth0 (from the CNI's
# result cache: with macvtap the namespace's eth0 has another one by then).
cni_mac() {
	python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))["result"]
print([i["mac"] for i in r["interfaces"] if i["name"] == "eth0" and i.get("sandbox")][0])' \
		"/var/lib/cni/results/$NET-$1-eth0" 2>/dev/null
}

# check_eth0 WHAT CID IP MAC: the container's eth0 has IP/24 and MAC, and
# a default route via the bridge.
check_eth0() {
	local what=$1 cid=$2 ip=$3 mac=$4 out
	out=$(cri exec "$cid" ip -4 addr show dev eth0 2>&1)
	case $out in
	*"inet $ip/24 "*) ok "$what: eth0 has $ip/24" ;;
	*) not_ok "$what: eth0 has $ip/24"; echo "$out" | diag ;;
	esac
	expect "$what: eth0's MAC is the CNI interface's" "$mac" \
		"$(cri exec "$cid" cat /sys/class/net/eth0/address 2>&1)"
	out=$(cri exec "$cid" ip route 2>&1)
	case $out in
	*"default via $GW dev eth0"*) ok "$what: default route via $GW" ;;
	*) not_ok "$what: default route via $GW"; echo "$out" | diag ;;
	esac
}

# check_pod_config WHAT CID HOSTNAME
check_pod_config() {
	local what=$1 cid=$2 host=$3 out
	out=$(cri exec "$cid" cat /etc/resolv.conf 2>&1)
	if echo "$out" | grep -qx "nameserver $SUBNET.53" &&
		echo "$out" | grep -qx "search husk.test" &&
		echo "$out" | grep -qx "options ndots:3"; then
		ok "$what: resolv.conf has the pod's DNS servers, searches, options"
	else
		not_ok "$what: resolv.conf has the pod's DNS servers, searches, options"
		echo "$out" | diag
	fi
	expect "$what: hostname is the pod's" "$host" "$(cri exec "$cid" hostname 2>&1)"
}

# bridge_in POD WHAT: a privileged container of POD makes a bridge.
bridge_in() {
	local res
	res=$(cri run -p "$1" c-br "$T/logs" "$IMG" \
		sh -c 'ip link add br-e2e type bridge && ip link show br-e2e >/dev/null' 2>"$T/err")
	[ -s "$T/err" ] && diag <"$T/err"
	expect "$2: a privileged container creates a bridge" 0 \
		"$(echo "$res" | sed -n 's/.*exit_code=\([0-9]*\).*/\1/p')"
}

# Prerequisites.
cri_prereqs
for p in bridge host-local loopback portmap; do
	[ -x "$CNI_BIN/$p" ] || skip_all "no $CNI_BIN/$p (containernetworking-plugins)"
done
for c in nsenter ip iptables; do
	command -v "$c" >/dev/null || skip_all "no $c"
done

start=$(now_ms)
VETHS_BEFORE=$(host_veths)
NETDIR=$(mktemp -d /tmp/hnet.XXXXXX)
if ! ip netns add "$NETNS" || ! ip -n "$NETNS" link set lo up; then
	echo "not ok 1 - make the test's network namespace $NETNS"
	cleanup
	exit 1
fi
CNI_CONF=$NETDIR/net.d
mkdir -p "$CNI_CONF"
cat >"$CNI_CONF/10-husk-e2e.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$NET",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "hcni0",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$NETDIR/ipam",
        "ranges": [[{"subnet": "$SUBNET.0/24", "gateway": "$GW"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF

setup
# shellcheck disable=SC2034 # the lib's cleanup removes runc's state
RUNC_USED=1
cri_setup
expect "containerd runs in the test's network namespace" \
	"$(stat -L -c %i "/run/netns/$NETNS")" "$(stat -L -c %i "/proc/$CTD_PID/ns/net")"

# ---- runc pod --------------------------------------------------------------

POD_OPTS=(net=pod dns="$SUBNET.53" search=husk.test dnsopt=ndots:3)
rpod=$(cri runp runc-pod runc "$T/logs" "${POD_OPTS[@]}" hostname=web-runc \
	port=18080:80 privileged=1 2>"$T/err")
if [ -z "$rpod" ]; then
	not_ok "RunPodSandbox runc-pod (runc, CNI bridge)"
	diag <"$T/err"
	finish
fi
ok "RunPodSandbox runc-pod (runc, CNI bridge)"
rip=$(cri podip "$rpod" 2>&1)
case $rip in
"$SUBNET".[0-9]*) ok "runc pod's IP $rip is in $SUBNET.0/24" ;;
*) not_ok "runc pod's IP in $SUBNET.0/24 (got '$rip')" ;;
esac
rns=$(cri podnetns "$rpod" 2>&1)
note_netns "$rns"
rmac=$(netns_mac "$rns" eth0)
expect "the CNI result names the runc pod's eth0 MAC" "$rmac" "$(cni_mac "$rpod")"
case $rmac in
??:??:??:??:??:??) ok "the CNI made eth0 ($rmac) in the pod's namespace $rns" ;;
*) not_ok "the CNI made eth0 in the pod's namespace (got '$rns' '$rmac')" ;;
esac

rweb=$(cri start "$rpod/runc-pod" web "$T/logs" "$IMG" sh -c "$HTTPD" 2>"$T/err")
if [ -n "$rweb" ]; then ok "runc pod: httpd container runs"; else not_ok "runc pod: httpd container runs"; diag <"$T/err"; fi
check_eth0 "runc pod" "$rweb" "$rip" "$rmac"
expect_data "runc pod: the file fetched by the pod's IP is byte-exact" "http://$rip/data"
check_pod_config "runc pod" "$rweb" web-runc
expect_data "runc pod: hostPort 18080 on the bridge reaches httpd" "http://$GW:18080/data"
bridge_in "$rpod/runc-pod" "runc pod"

# ---- husk pods (issue 9) ---------------------------------------------------

# husk_pod NAME HANDLER HOSTPORT: a privileged husk pod with httpd; sets
# hpod hip hns hmac hweb.
husk_pod() {
	local name=$1 handler=$2 port=$3
	hpod='' hip='' hns='' hmac='' hweb=''
	hpod=$(cri runp "$name" "$handler" "$T/logs" "${POD_OPTS[@]}" \
		hostname="$name" port="$port:80" privileged=1 2>"$T/err")
	if [ -z "$hpod" ]; then
		not_ok "RunPodSandbox $name ($handler)"
		diag <"$T/err"
		return 1
	fi
	ok "RunPodSandbox $name ($handler)"
	note_ids "$hpod"
	hip=$(cri podip "$hpod" 2>&1)
	hns=$(cri podnetns "$hpod" 2>&1)
	note_netns "$hns"
	hmac=$(cni_mac "$hpod")
	hweb=$(cri start "$hpod/$name" web "$T/logs" "$IMG" sh -c "$HTTPD" 2>"$T/err")
	if [ -n "$hweb" ]; then ok "$name: httpd container runs"; else not_ok "$name: httpd container runs"; diag <"$T/err"; fi
	# shellcheck disable=SC2046
	note_ids $(ctr containers ls -q 2>/dev/null)
	check_eth0 "$name" "$hweb" "$hip" "$hmac"
	expect_data "$name: the file fetched by the pod's IP is byte-exact" "http://$hip/data"
}

# Links, ingress qdiscs and filters in the namespace at PATH that husk
# made or left: every link but lo and the CNI's eth0, and any qdisc or
# filter at all (the CNI makes none).
net_leftovers() {
	local ns=$1 l out=
	for l in $(nsenter --net="$ns" ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1); do
		case $l in
		lo|eth0) ;;
		*) out="$out link:$l" ;;
		esac
		nsenter --net="$ns" tc qdisc show dev "$l" | grep -q ingress &&
			out="$out ingress:$l"
		[ -n "$(nsenter --net="$ns" tc filter show dev "$l" ingress 2>/dev/null)" ] &&
			out="$out filter:$l"
	done
	echo "$out"
}

# The configuration the default handler uses, explicit; a second one
# with macvtap for the husk-macvtap handler ([runtime] ends the file).
echo 'internetworking_model = "tcfilter"' >>"$T/husk.toml"
write_husk_config "$T/husk-macvtap.toml"
echo 'internetworking_model = "macvtap"' >>"$T/husk-macvtap.toml"

# 1, 2, 4: a tcfilter pod.
if husk_pod husk-a husk 18081; then
	apod=$hpod aip=$hip ans=$hns aweb=$hweb
	check_pod_config husk-a "$aweb" husk-a
	expect_data "husk-a: hostPort 18081 on the bridge reaches httpd" "http://$GW:18081/data"
	bridge_in "$apod/husk-a" husk-a
	# 3: a second husk pod, and the runc pod, reach husk-a and back.
	if husk_pod husk-b husk 18082; then
		bpod=$hpod bip=$hip
		expect "husk-b fetches from husk-a by IP" "$DATA_MD5" \
			"$(cri exec "$hweb" timeout 10 wget -q -O - "http://$aip/data" 2>/dev/null | md5sum | cut -d' ' -f1)"
		expect "husk-a fetches from husk-b by IP" "$DATA_MD5" \
			"$(cri exec "$aweb" timeout 10 wget -q -O - "http://$bip/data" 2>/dev/null | md5sum | cut -d' ' -f1)"
	fi
	expect "the runc pod fetches from husk-a by IP" "$DATA_MD5" \
		"$(cri exec "$rweb" timeout 10 wget -q -O - "http://$aip/data" 2>/dev/null | md5sum | cut -d' ' -f1)"
	expect "husk-a fetches from the runc pod by IP" "$DATA_MD5" \
		"$(cri exec "$aweb" timeout 10 wget -q -O - "http://$rip/data" 2>/dev/null | md5sum | cut -d' ' -f1)"

	# 7: husk-a removed normally; its namespace, held open, has
	# nothing of husk's left once the CNI took eth0 away.
	hold "$ans"
	ahold=$HELD
	cri stopp "$apod" 2>"$T/err" || diag <"$T/err"
	cri rmp "$apod" 2>"$T/err" || diag <"$T/err"
	expect "husk-a removed: no tap, qdisc or filter left in its namespace" "" \
		"$(net_leftovers "$ahold")"
	# ... and husk-b after its QEMU was SIGKILLed.
	if [ -n "${bpod:-}" ]; then
		bns=$(cri podnetns "$bpod" 2>&1)
		hold "$bns"
		bhold=$HELD
		q=$(pod_qemu_pid "$bpod")
		if [ -n "$q" ]; then
			kill -KILL "$q"
			ok "husk-b's QEMU ($q) SIGKILLed"
		else
			not_ok "husk-b's QEMU found (processes: $(pod_processes))"
		fi
		sleep 2
		cri stopp "$bpod" 2>"$T/err" || diag <"$T/err"
		cri rmp "$bpod" 2>"$T/err" || diag <"$T/err"
		expect "husk-b (QEMU killed) removed: no tap, qdisc or filter left" "" \
			"$(net_leftovers "$bhold")"
	fi
	expect "after husk-a and husk-b: no shim or QEMU left" "" "$(pod_processes)"
fi

# 7: a pod whose shim was SIGKILLed: containerd's `delete` sweeps the
# namespace (QEMU dies with the shim; its ingress qdisc and filter stay).
if husk_pod husk-c husk 18084; then
	hold "$hns"
	chold=$HELD
	cshim=$(pod_processes | tr ' ' '\n' | sed -n 's/^shim://p' | head -1)
	if [ -n "$cshim" ]; then
		kill -KILL "$cshim"
		ok "husk-c's shim ($cshim) SIGKILLed"
	else
		not_ok "husk-c's shim found"
	fi
	# Before the CNI takes eth0 (and its qdisc) away: containerd ran
	# `delete` when the shim's connection closed.
	for _ in $(seq 20); do
		[ -z "$(net_leftovers "$chold")" ] && break
		sleep 0.5
	done
	expect "husk-c (shim killed): delete swept eth0's qdisc and filter, eth0 stays" \
		" eth0" "$(net_leftovers "$chold") $(nsenter --net="$chold" ip -o link show eth0 | awk -F': ' '{print $2}' | cut -d@ -f1)"
	cri stopp "$hpod" 2>"$T/err" || diag <"$T/err"
	cri rmp "$hpod" 2>"$T/err" || diag <"$T/err"
	expect "after husk-c: no shim or QEMU left" "" "$(pod_processes)"
fi

# 5: checks 1-2 with macvtap.
if husk_pod husk-m husk-macvtap 18083; then
	hold "$hns"
	mhold=$HELD
	mpod=$hpod
	cri stopp "$mpod" 2>"$T/err" || diag <"$T/err"
	cri rmp "$mpod" 2>"$T/err" || diag <"$T/err"
	expect "husk-m removed: no macvtap left in its namespace" "" \
		"$(net_leftovers "$mhold")"
fi

# 6: ctr run --with-ns into a namespace with two veths.
TWO_NS=husk-e2e-two-$$
ip netns add "$TWO_NS"
for i in 0 1; do
	in_net ip link add "hv$i-$$" type veth peer name "eth$i" netns "/run/netns/$TWO_NS"
	in_net ip addr add "10.98.$i.1/24" dev "hv$i-$$"
	in_net ip link set "hv$i-$$" up
	ip -n "$TWO_NS" addr add "10.98.$i.2/24" dev "eth$i"
	ip -n "$TWO_NS" link set "eth$i" up
done
note_ids t-two
out=$(ctr run --rm --runtime "$RUNTIME" --with-ns "network:/run/netns/$TWO_NS" \
	"$IMG" t-two ip -4 -o addr 2>&1)
for i in 0 1; do
	case $out in
	*"eth$i"*"inet 10.98.$i.2/24"*) ok "ctr run --with-ns: eth$i with 10.98.$i.2/24 in the guest" ;;
	*) not_ok "ctr run --with-ns: eth$i with 10.98.$i.2/24 in the guest"; echo "$out" | diag ;;
	esac
done
expect "ctr run --with-ns: nothing of husk's left in the namespace" "" \
	"$(net_leftovers "/run/netns/$TWO_NS" | sed 's/ link:eth1//')"
expect "after ctr run --with-ns: no shim or QEMU left" "" "$(pod_processes)"

# The shim's own namespace (a host-network pod): lo only, and a warning.
note_ids t-host
out=$(ctr run --rm --runtime "$RUNTIME" --with-ns "network:/run/netns/$NETNS" \
	"$IMG" t-host ls /sys/class/net 2>&1)
expect "the shim's own namespace: the guest has lo only" "lo" "$(echo "$out" | tr -s ' \n' ' ' | sed 's/ $//')"
if grep -q "network namespace /run/netns/$NETNS is the host's" "$T/containerd.log" 2>/dev/null; then
	ok "the shim's own namespace: one warning says so"
else
	not_ok "the shim's own namespace: one warning says so"
fi

# Bad input: a namespace that is not there, a path that is no network
# namespace: the create fails naming it, and nothing is left.
for bad in "/run/netns/husk-e2e-none-$$" "$T/husk.toml"; do
	note_ids t-bad
	out=$(ctr run --rm --runtime "$RUNTIME" --with-ns "network:$bad" \
		"$IMG" t-bad true 2>&1)
	case $out in
	*"network namespace $bad"*) ok "ctr run --with-ns network:$bad fails naming it" ;;
	*) not_ok "ctr run --with-ns network:$bad fails naming it"; echo "$out" | diag ;;
	esac
	ctr containers rm t-bad >/dev/null 2>&1
	expect "after network:$bad: no shim or QEMU left" "" "$(pod_processes)"
done

# ---- teardown ----------------------------------------------------------------

hold "$rns"
rhold=$HELD
if cri stopp "$rpod" 2>"$T/err"; then ok "StopPodSandbox runc-pod"; else not_ok "StopPodSandbox runc-pod"; diag <"$T/err"; fi
if cri rmp "$rpod" 2>"$T/err"; then ok "RemovePodSandbox runc-pod"; else not_ok "RemovePodSandbox runc-pod"; diag <"$T/err"; fi
expect "no pods left" "" "$(cri pods 2>&1)"
expect "no containers left in containerd" "" "$(ctr containers ls -q 2>&1)"
expect "the CNI removed the runc pod's eth0" "" \
	"$(nsenter --net="$rhold" ip -o link show eth0 2>/dev/null)"
expect "CRI removed the pods' namespaces" "" "$(pod_netns_left)"
expect "no veth left in the test's namespace" "" \
	"$(in_net ip -o link show type veth | grep -v "hv[01]-$$")"
expect "no CNI result cached for $NET" "" \
	"$(find /var/lib/cni/results -name "$NET-*" 2>/dev/null)"
expect "the host's network has no new veth" "$VETHS_BEFORE" "$(host_veths)"
expect "the CNI bridge is not in the host's network" "" \
	"$(ip -o link show hcni0 2>/dev/null)"
assert_clean "after the pods"
echo "# $(($(now_ms) - start)) ms"
finish
