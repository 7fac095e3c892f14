# SPDX-License-Identifier: BSD-2-Clause
# lib.sh: helpers sourced by every integration scenario.
#
# Each scenario makes its own network namespaces, named rkg-<scenario>-<pid>-<role> so that
# two runs never collide; stale ones from a dead run of the same scenario are removed before,
# and everything the scenario made (namespaces, background processes) is removed after, on
# success, failure or signal.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD="$TOP/build"
REKEYGAP="$BUILD/rekeygap"
SEQUDP="$BUILD/tools/sequdp"
SCENARIO=$(basename "$0" .sh)
NS_PREFIX="rkg-$SCENARIO-$$"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rkg-$SCENARIO.XXXXXX")
BG_PIDS=()

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# check NAME ACTUAL EXPECTED: one line either way, exits on mismatch
check_eq() {
	[ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"
	echo "ok: $1 = $2"
}

check_ge() {
	[ "$2" -ge "$3" ] || fail "$1: got $2, expected at least $3"
	echo "ok: $1 = $2 (>= $3)"
}

# bg CMD...: start in the background, killed at exit
bg() {
	"$@" &
	BG_PIDS+=($!)
}

# wait_for_line FILE TEXT [SECONDS]: until FILE has a line containing TEXT
wait_for_line() {
	local i
	for ((i = 0; i < ${3:-10} * 20; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "timed out waiting for '$2' in $1: $(tail -3 "$1" 2>/dev/null)"
}

# Namespaces of earlier runs of this scenario whose process is gone.
remove_stale_namespaces() {
	local ns pid
	for ns in $(ip netns list | awk '{print $1}' | grep "^rkg-$SCENARIO-" || true); do
		pid=${ns#rkg-"$SCENARIO"-}
		pid=${pid%%-*}
		kill -0 "$pid" 2>/dev/null || ip netns del "$ns" 2>/dev/null || true
	done
}

cleanup() {
	local rc=$? pid ns
	for pid in ${BG_PIDS[@]+"${BG_PIDS[@]}"}; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	for ns in $(ip netns list | awk '{print $1}' | grep "^$NS_PREFIX-" || true); do
		ip netns del "$ns"
	done
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
remove_stale_namespaces

# ns_inode NS: the namespace's inode, as BPF programs see it (net->ns.inum)
ns_inode() {
	stat -L -c %i "/run/netns/$1"
}

# Topology made by esp_pair (tunnel mode, one SA and one policy per direction):
#
#      netns A                                              netns B
#   +-----------------------+                    +-----------------------+
#   | lo   198.51.100.1/32  |                    | lo   198.51.100.2/32  |
#   | veth 192.0.2.1/24  ===|==== ESP tunnel ====|=== veth 192.0.2.2/24  |
#   +-----------------------+                    +-----------------------+
#     SA A->B: spi SPI_AB, reqid 1 (out in A, in in B)
#     SA B->A: spi SPI_BA, reqid 2 (out in B, in in A)
#
# Inner traffic 198.51.100.1 <-> 198.51.100.2 is carried by the tunnel between the outer
# veth addresses. Addresses are from the documentation ranges: nothing leaves the namespaces.
INNER_A=198.51.100.1 INNER_B=198.51.100.2
OUTER_A=192.0.2.1 OUTER_B=192.0.2.2
AEAD_ALG='rfc4106(gcm(aes))'
# test keys: 16 bytes of AES key + 4 bytes of salt
KEY_AB=0x000102030405060708090a0b0c0d0e0f10111213
KEY_BA=0x202122232425262728292a2b2c2d2e2f30313233

# esp_sa NS SRC DST SPI REQID KEY: one tunnel-mode AES-GCM SA
esp_sa() {
	ip -n "$1" xfrm state add src "$2" dst "$3" proto esp spi "$4" reqid "$5" mode tunnel \
		aead "$AEAD_ALG" "$6" 128
}

# esp_pair NS_A NS_B SPI_AB SPI_BA: the topology above
esp_pair() {
	local a=$1 b=$2
	ip netns add "$a"
	ip netns add "$b"
	ip -n "$a" link add veth-a type veth peer name veth-b netns "$b"
	ip -n "$a" addr add "$OUTER_A/24" dev veth-a
	ip -n "$b" addr add "$OUTER_B/24" dev veth-b
	ip -n "$a" addr add "$INNER_A/32" dev lo
	ip -n "$b" addr add "$INNER_B/32" dev lo
	for ns in "$a" "$b"; do ip -n "$ns" link set lo up; done
	ip -n "$a" link set veth-a up
	ip -n "$b" link set veth-b up
	ip -n "$a" route add "$INNER_B/32" via "$OUTER_B" src "$INNER_A"
	ip -n "$b" route add "$INNER_A/32" via "$OUTER_A" src "$INNER_B"

	esp_sa "$a" "$OUTER_A" "$OUTER_B" "$3" 1 "$KEY_AB"
	esp_sa "$b" "$OUTER_A" "$OUTER_B" "$3" 1 "$KEY_AB"
	esp_sa "$b" "$OUTER_B" "$OUTER_A" "$4" 2 "$KEY_BA"
	esp_sa "$a" "$OUTER_B" "$OUTER_A" "$4" 2 "$KEY_BA"
	esp_policies "$a" "$INNER_A" "$INNER_B" "$OUTER_A" "$OUTER_B" 1 2
	esp_policies "$b" "$INNER_B" "$INNER_A" "$OUTER_B" "$OUTER_A" 2 1
}

# esp_policies NS LOCAL REMOTE OUTER_LOCAL OUTER_REMOTE REQID_OUT REQID_IN
esp_policies() {
	ip -n "$1" xfrm policy add src "$2/32" dst "$3/32" dir out \
		tmpl src "$4" dst "$5" proto esp reqid "$6" mode tunnel
	ip -n "$1" xfrm policy add src "$3/32" dst "$2/32" dir in \
		tmpl src "$5" dst "$4" proto esp reqid "$7" mode tunnel
}

# sa_packets NS SPI SRC DST: packets the SA has processed (its current lifetime counter)
sa_packets() {
	ip -n "$1" -s xfrm state get src "$3" dst "$4" proto esp spi "$2" 2>/dev/null |
		awk '/lifetime current:/ { getline; sub(/\(packets\).*/, ""); sub(/.*, */, ""); print; exit }'
}
