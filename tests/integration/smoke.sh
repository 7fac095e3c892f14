#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# smoke: the whole chain works once. Two namespaces, an ESP tunnel both ways (AES-GCM),
# sequence-numbered UDP both ways counted by the receivers; a BPF program (fexit on
# xfrm_state_add) counts the SA inserts we made; the rekeygap binary answers.
#
#   netns A 198.51.100.1 ==== ESP over veth 192.0.2.1 <-> 192.0.2.2 ==== 198.51.100.2 netns B
#   (details: esp_pair in lib.sh)
source "$(dirname "$0")/lib.sh"

PACKETS=1000 RATE=1000
A="$NS_PREFIX-a" B="$NS_PREFIX-b"
SPI_AB=0x1000 SPI_BA=0x2000

echo "== rekeygap binary"
"$REKEYGAP" --version | tee "$WORK/version"
grep -q '^rekeygap [0-9]' "$WORK/version" || fail "--version printed no version"
"$REKEYGAP" --help >"$WORK/help"
grep -q '^Usage: rekeygap' "$WORK/help" || fail "--help printed no usage"
rc=0; "$REKEYGAP" no-such-command 2>/dev/null || rc=$?
check_eq "exit status of an unknown command" "$rc" 2
"$REKEYGAP" probe | tee "$WORK/probe"
# The kernel the VM booted (tests/vm/fetch-kernel's suite) and what the probe finds there:
# every Debian kernel has BTF, fentry and the switchover hooks' functions.
echo "kernel: ${REKEYGAP_VM_KERNEL:-bookworm} $(uname -r)"
"$REKEYGAP" probe --json >"$WORK/probe.json"
check_eq "probe mode on ${REKEYGAP_VM_KERNEL:-bookworm}'s kernel $(uname -r)" \
	"$(jq -r .mode "$WORK/probe.json")" fentry
check_eq "switchover hooks on ${REKEYGAP_VM_KERNEL:-bookworm}'s kernel" \
	"$(jq -r .switchover "$WORK/probe.json")" true
# The XFRM features the probe finds by trying them, as each kernel has them: SA direction
# from 6.10, per-CPU SAs from 6.13 (and in Debian 13's 6.12.117: a backport, which is why
# they are probed, not read off the version), MIGRATE_STATE from 7.2; IP-TFS (6.14) is not
# in Debian's configuration (CONFIG_XFRM_IPTFS unset in sid's 7.2).
case "${REKEYGAP_VM_KERNEL:-bookworm}" in
bookworm) want='false false false false' ;;
trixie) want='true true false false' ;;
sid) want='true true true false' ;;
*) fail "no expectations for kernel ${REKEYGAP_VM_KERNEL}" ;;
esac
check_eq "probe's sa_dir pcpu_sa migrate_state iptfs on ${REKEYGAP_VM_KERNEL:-bookworm}'s kernel" \
	"$(jq -r '"\(.sa_dir) \(.pcpu_sa) \(.migrate_state) \(.iptfs)"' "$WORK/probe.json")" "$want"
# The probe's test SAs as BPF sees them (its namespace is anonymous: only BPF reaches it).
# Ground truth, from xfrm_features.c: 0x102 asked for CPU 0, 0x100 and 0x101 for none.
trace_start "$WORK/probe-trace" fentry
"$REKEYGAP" probe >/dev/null
wait_for_line "$WORK/probe-trace" '"event":"sa_delete".*"spi":"0x00000102"' 20 "$TRACER"
trace_stop "$WORK/probe-trace" >/dev/null
pcpu_of() {
	jq -r --arg spi "$1" 'select(.event == "sa_add" and .spi == $spi) | .pcpu // "none"' \
		"$WORK/probe-trace" | sort -u | tr '\n' ' '
}
read -r _ has_pcpu _ <<<"$want"
[ "$has_pcpu" = true ] && pcpu_want='0 ' || pcpu_want='none '
check_eq "CPU of the probe's per-CPU SA 0x102, as BPF reads it" "$(pcpu_of 0x00000102)" "$pcpu_want"
check_eq "CPU of its plain SA 0x101" "$(pcpu_of 0x00000101)" 'none '

echo "== SA inserts counted by BPF (fexit/xfrm_state_add)"
bg "$BUILD/tools/sa-insert-count" >"$WORK/count" 2>&1
counter=${BG_PIDS[-1]}
wait_for_line "$WORK/count" attached
esp_pair "$A" "$B" "$SPI_AB" "$SPI_BA"
kill -INT "$counter"
wait "$counter" || fail "sa-insert-count failed: $(cat "$WORK/count")"
cat "$WORK/count"
for ns in "$A" "$B"; do
	n=$(awk -v ino="$(ns_inode "$ns")" '$1 == "netns" && $2 == ino { print $4 }' "$WORK/count")
	check_eq "SA inserts seen by BPF in ${ns##*-}" "${n:-0}" 2
done
check_eq "BPF map overflow" "$(awk '$1 == "overflow" { print $2 }' "$WORK/count")" 0

echo "== sequence-numbered UDP both ways through the tunnel"
ip netns exec "$B" "$SEQUDP" recv --bind "$INNER_B" --port 5001 --expect "$PACKETS" >"$WORK/recv-b" &
BG_PIDS+=($!); recv_b=$!
ip netns exec "$A" "$SEQUDP" recv --bind "$INNER_A" --port 5002 --expect "$PACKETS" >"$WORK/recv-a" &
BG_PIDS+=($!); recv_a=$!
wait_for_line "$WORK/recv-b" listening
wait_for_line "$WORK/recv-a" listening
ip netns exec "$A" "$SEQUDP" send --src "$INNER_A" --dst "$INNER_B" --port 5001 \
	--count "$PACKETS" --rate "$RATE" >"$WORK/send-a" &
send_a=$!
ip netns exec "$B" "$SEQUDP" send --src "$INNER_B" --dst "$INNER_A" --port 5002 \
	--count "$PACKETS" --rate "$RATE" >"$WORK/send-b"
wait "$send_a"
wait "$recv_a" "$recv_b"
for dir in a b; do cat "$WORK/send-$dir" "$WORK/recv-$( [ $dir = a ] && echo b || echo a)"; done

received() { awk '/^received/ { print $2 }' "$1"; }
check_eq "A->B packets received" "$(received "$WORK/recv-b")" "$PACKETS"
check_eq "B->A packets received" "$(received "$WORK/recv-a")" "$PACKETS"
# the SAs carried them: the inbound SA's packet counter is ground truth that ESP was used
check_ge "A->B packets through inbound SA $SPI_AB in B" \
	"$(sa_packets "$B" "$SPI_AB" "$OUTER_A" "$OUTER_B")" "$PACKETS"
check_ge "B->A packets through inbound SA $SPI_BA in A" \
	"$(sa_packets "$A" "$SPI_BA" "$OUTER_B" "$OUTER_A")" "$PACKETS"
echo "smoke: ESP traffic A->B $(received "$WORK/recv-b")/$PACKETS, B->A $(received "$WORK/recv-a")/$PACKETS received;" \
	"BPF counted 2+2 SA inserts"
