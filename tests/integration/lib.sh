# SPDX-License-Identifier: BSD-2-Clause
# lib.sh: helpers sourced by every integration scenario.
#
# Each scenario makes its own network namespaces, named rkg-<scenario>-<pid>-<role> so that
# two runs never collide; stale ones from a dead run of the same scenario are removed before,
# and everything the scenario made (namespaces, background processes) is removed after, on
# success, failure or signal.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD="${REKEYGAP_BUILD:-$TOP/build}" # another build to test (make OUTPUT=DIR): REKEYGAP_BUILD=DIR
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

# skip WHY: what this scenario checks does not exist here (a kernel without the degraded
# mode, say): "SKIP: WHY" and exit 4, kernel selftests' ksft_skip. tests/integration/run
# takes exit 4 for a skip only with the reason it finds in $REKEYGAP_SKIP_FILE (a command
# failing with 4 under set -e is no skip); tests/run decides whether a skip is allowed there.
skip() {
	echo "SKIP: $*"
	[ -z "${REKEYGAP_SKIP_FILE:-}" ] || echo "$*" >"$REKEYGAP_SKIP_FILE"
	exit 4
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

# wait_for_line FILE TEXT [SECONDS [PID]]: until FILE has a line containing TEXT; fails at
# once if PID (the process writing FILE) has exited
wait_for_line() {
	local deadline=$((SECONDS + ${3:-10}))
	while [ $SECONDS -lt $deadline ]; do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		[ -z "${4:-}" ] || kill -0 "$4" 2>/dev/null ||
			fail "process $4 exited before writing '$2' to $1"
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
		kill -0 "$pid" 2>/dev/null && continue
		# what still runs in it (an IKE daemon of a killed run) goes first
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	done
}

cleanup() {
	local rc=$? pid ns
	# (SIGCONT: a process a scenario stopped acts on the SIGTERM only once it runs again)
	for pid in ${BG_PIDS[@]+"${BG_PIDS[@]}"}; do
		kill "$pid" 2>/dev/null && kill -CONT "$pid" || true
	done
	wait 2>/dev/null || true
	for ns in $(ip netns list | awk '{print $1}' | grep "^$NS_PREFIX-" || true); do
		ip netns del "$ns"
	done
	# REKEYGAP_KEEP_WORK=1: the scenario's files stay, to look into a failure
	if [ -n "${REKEYGAP_KEEP_WORK:-}" ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
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

# esp_sa NS SRC DST SPI REQID KEY [IP-XFRM-OPTIONS...]: one tunnel-mode AES-GCM SA
esp_sa() {
	ip -n "$1" xfrm state add src "$2" dst "$3" proto esp spi "$4" reqid "$5" mode tunnel \
		aead "$AEAD_ALG" "$6" 128 "${@:7}"
}

# veth_pair NS_A NS_B [outer-only]: the topology above without its SAs and policies, for
# scenarios whose IKE daemons make those; outer-only: the veth addresses alone, no inner
# ones on lo nor routes to them (transport mode). With IPv6 addresses in OUTER_A...INNER_B
# (a scenario's own): /64 on the veth, /128 on lo, without duplicate address detection
# (an address is usable at once).
veth_pair() {
	local a=$1 b=$2 outer=24 inner=32 nodad=()
	[[ $OUTER_A == *:* ]] && outer=64 inner=128 nodad=(nodad)
	ip netns add "$a"
	ip netns add "$b"
	ip -n "$a" link add veth-a type veth peer name veth-b netns "$b"
	ip -n "$a" addr add "$OUTER_A/$outer" dev veth-a ${nodad[@]+"${nodad[@]}"}
	ip -n "$b" addr add "$OUTER_B/$outer" dev veth-b ${nodad[@]+"${nodad[@]}"}
	if [ "${3:-}" != outer-only ]; then
		ip -n "$a" addr add "$INNER_A/$inner" dev lo ${nodad[@]+"${nodad[@]}"}
		ip -n "$b" addr add "$INNER_B/$inner" dev lo ${nodad[@]+"${nodad[@]}"}
	fi
	for ns in "$a" "$b"; do ip -n "$ns" link set lo up; done
	ip -n "$a" link set veth-a up
	ip -n "$b" link set veth-b up
	[ "${3:-}" != outer-only ] || return 0
	ip -n "$a" route add "$INNER_B/$inner" via "$OUTER_B" src "$INNER_A"
	ip -n "$b" route add "$INNER_A/$inner" via "$OUTER_A" src "$INNER_B"
}

# esp_pair NS_A NS_B SPI_AB SPI_BA: the topology above
esp_pair() {
	local a=$1 b=$2
	veth_pair "$a" "$b"
	esp_sa "$a" "$OUTER_A" "$OUTER_B" "$3" 1 "$KEY_AB"
	esp_sa "$b" "$OUTER_A" "$OUTER_B" "$3" 1 "$KEY_AB"
	esp_sa "$b" "$OUTER_B" "$OUTER_A" "$4" 2 "$KEY_BA"
	esp_sa "$a" "$OUTER_B" "$OUTER_A" "$4" 2 "$KEY_BA"
	esp_policies "$a" "$INNER_A" "$INNER_B" "$OUTER_A" "$OUTER_B" 1 2
	esp_policies "$b" "$INNER_B" "$INNER_A" "$OUTER_B" "$OUTER_A" 2 1
}

# esp_policies NS LOCAL REMOTE OUTER_LOCAL OUTER_REMOTE REQID_OUT REQID_IN [MODE]: MODE
# tunnel (the default) or transport; LOCAL and REMOTE are hosts (/32, /128) or, with a
# prefix length, networks
esp_policies() {
	local local_sel=$2 remote_sel=$3 mode=${8:-tunnel}
	[[ $local_sel == */* ]] || local_sel+=$([[ $2 == *:* ]] && echo /128 || echo /32)
	[[ $remote_sel == */* ]] || remote_sel+=$([[ $3 == *:* ]] && echo /128 || echo /32)
	ip -n "$1" xfrm policy add src "$local_sel" dst "$remote_sel" dir out \
		tmpl src "$4" dst "$5" proto esp reqid "$6" mode "$mode"
	ip -n "$1" xfrm policy add src "$remote_sel" dst "$local_sel" dir in \
		tmpl src "$5" dst "$4" proto esp reqid "$7" mode "$mode"
}

# sa_packets NS SPI SRC DST: packets the SA has processed (its current lifetime counter)
sa_packets() {
	ip -n "$1" -s xfrm state get src "$3" dst "$4" proto esp spi "$2" 2>/dev/null |
		awk '/lifetime current:/ { getline; sub(/\(packets\).*/, ""); sub(/.*, */, ""); print; exit }'
}

# --- trace scenarios: a tracer, sequence-numbered traffic A -> B, and jq over the trace ---

# trace_start FILE MODE NS...: 'rekeygap trace --json' on those namespaces into FILE; returns
# once its start line is out. TRACER is its pid.
trace_start() {
	local file=$1 mode=$2 ns args=()
	shift 2
	for ns in "$@"; do args+=(--netns "$ns"); done
	bg "$REKEYGAP" trace --json --probe "$mode" "${args[@]}" >"$file"
	TRACER=${BG_PIDS[-1]}
	wait_for_line "$file" '"event":"start"' 180 "$TRACER" # 7.2's verifier on a busy TCG: over 60 s
}

# trace_stop FILE: stop the tracer with SIGINT (it must exit 0) and show the trace
trace_stop() {
	kill -INT "$TRACER"
	wait "$TRACER" || fail "rekeygap trace exited with an error"
	grep -v '"event":"drop"' "$1" | jq -c '{event, netns, spi, dir, src, dst, hard}' || true
	grep '"event":"drop"' "$1" | jq -c '{netns, spi, cause, reason, location, count}' || true
}

# wait_pid PID SECONDS WHAT: wait for a background process, or fail saying what is stuck
# and where (its kernel stack), rather than hang until the scenario's time limit
wait_pid() {
	local deadline=$((SECONDS + $2))
	while kill -0 "$1" 2>/dev/null; do
		if [ $SECONDS -ge $deadline ]; then
			echo "stuck: $3 (pid $1): $(tr '\0' ' ' <"/proc/$1/cmdline")"
			cat "/proc/$1/stack" 2>/dev/null || true
			fail "$3 did not finish within $2 s"
		fi
		sleep 0.2
	done
	wait "$1"
}

# flow_start NAME FROM_NS FROM_IP TO_NS TO_IP PORT PACKETS RATE: sequence-numbered UDP in
# the background; flow_wait NAME collects it. The receiver runs until flow_wait stops it,
# not until an idle timeout: under a loaded TCG a rekey window can outlast any timeout, and
# packets that arrive after the receiver gave up would count as lost without being dropped.
# FLOW_CPU=N: the sender runs on CPU N only (taskset), its datagrams take that CPU's SA.
declare -A FLOW_SEND FLOW_RECV FLOW_LIMIT
flow_start() {
	local name=$1
	ip netns exec "$4" "$SEQUDP" recv --bind "$5" --port "$6" --expect "$7" \
		--idle 600000 --timeout 600 >"$WORK/recv-$name" &
	FLOW_RECV[$name]=$!
	BG_PIDS+=($!) # killed at exit if the scenario fails before flow_wait
	wait_for_line "$WORK/recv-$name" listening 20 "${FLOW_RECV[$name]}"
	ip netns exec "$2" ${FLOW_CPU:+taskset -c "$FLOW_CPU"} "$SEQUDP" send --src "$3" \
		--dst "$5" --port "$6" --count "$7" --rate "$8" >"$WORK/send-$name" &
	FLOW_SEND[$name]=$!
	BG_PIDS+=($!)
	# how long the sender may take: ten times its schedule, and two minutes more; a busy CI
	# machine's TCG has been seen at eight times (a stuck sender still ends the scenario)
	FLOW_LIMIT[$name]=$((120 + 10 * $7 / ($8 > 0 ? $8 : 1000)))
}

# flow_wait NAME: until the sender is done and what it sent had a second to arrive; LOST is
# what the receiver did not get
flow_wait() {
	wait_pid "${FLOW_SEND[$1]}" "${FLOW_LIMIT[$1]:-120}" "the sender of flow $1"
	sleep 1
	kill -INT "${FLOW_RECV[$1]}" 2>/dev/null || true
	wait "${FLOW_RECV[$1]}"
	echo "flow $1: $(cat "$WORK/send-$1") / $(head -1 "$WORK/recv-$1")"
	grep '^missing' "$WORK/recv-$1" || true
	LOST=$(awk '/^received/ { print $6 }' "$WORK/recv-$1" | tr -d ,)
}

# flow_stop NAME: as flow_wait, but the sender stopped now (SIGINT) rather than at its count;
# LOST is what the receiver did not get of what was sent
flow_stop() {
	kill -INT "${FLOW_SEND[$1]}"
	flow_wait "$1"
	LOST=$(($(awk '/^sent/ { print $2 }' "$WORK/send-$1") - $(awk '/^received/ { print $2 }' "$WORK/recv-$1")))
	echo "flow $1: stopped; $LOST of the datagrams sent did not arrive (the missing ones above" \
		"include those never sent)"
}

# traffic_start A B PACKETS RATE / traffic_wait: the flow from A's inner address to B's
traffic_start() {
	flow_start ab "$1" "$INNER_A" "$2" "$INNER_B" 5001 "$3" "$4"
}

traffic_wait() {
	flow_wait ab
}

# drops FILE JQ_CONDITION: sum of the drop counts matching the condition
drops() {
	jq -s "[.[] | select(.event==\"drop\" and ($2)) | .count] | add // 0" "$1"
}

# events FILE JQ_CONDITION: number of non-drop events matching the condition
events() {
	jq -s "[.[] | select(.event!=\"drop\" and ($2))] | length" "$1"
}

# trace_signature FILE NS_A NS_B: what happened, without counts or times: the SA events in
# order (namespace by role; first packets left out: tracepoint mode has none), then the
# (namespace, spi, cause) that holds most drops. Two probe modes watching the same
# scenario must give the same signature. (Smaller causes are
# left out: how many packets fall into a DELSA -> NEWSA window of a few milliseconds, or
# race a delete, is timing, not the probe.)
trace_signature() {
	jq -s -r --argjson a "$(ns_inode "$2")" --argjson b "$(ns_inode "$3")" '
		def role: if .netns == $a then "A" elif .netns == $b then "B" else "?" end;
		([.[] | select((.event | startswith("sa_")) and .event != "sa_first_packet") |
			"\(.event)/\(role)/\(.spi)\(if .event == "sa_expire" then "/hard=\(.hard)" else "" end)"]
		 | join(" ")),
		([.[] | select(.event == "drop")] | group_by("\(role)/\(.spi)/\(.cause)") |
		 max_by(map(.count) | add) // [] | map("\(role)/\(.spi)/\(.cause)") | first // "no drops")' "$1"
}

# check_modes_agree NAME: after run_mode ran for every mode, their signatures must match
check_modes_agree() {
	local first="" f
	for f in "$WORK"/signature-*; do
		[ -n "$first" ] || { first=$f; continue; }
		diff -u "$first" "$f" || fail "$1: $(basename "$first") and $(basename "$f") differ"
	done
	[ -n "$first" ] && echo "ok: $1: every probe mode saw the same events and causes"
}

# policy_changes NS: add, update, delete, add another, flush: what check_policy_events expects
policy_changes() {
	ip -n "$1" xfrm policy add src 10.1.0.0/24 dst 10.2.0.0/24 dir out \
		tmpl src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x1234 reqid 7 mode tunnel
	ip -n "$1" xfrm policy update src 10.1.0.0/24 dst 10.2.0.0/24 dir out priority 5 \
		tmpl src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x1235 reqid 7 mode tunnel
	ip -n "$1" xfrm policy delete src 10.1.0.0/24 dst 10.2.0.0/24 dir out
	ip -n "$1" xfrm policy add src 10.2.0.0/24 dst 10.1.0.0/24 dir in \
		tmpl src 192.0.2.2 dst 192.0.2.1 proto esp reqid 8 mode tunnel
	ip -n "$1" xfrm policy flush
}

# check_policy_events FILE NS SOURCE LABEL: policy_changes in NS, each once, as 'ip xfrm'
# made it, the add/update/delete events seen by SOURCE (bpf or netlink)
check_policy_events() {
	local trace=$1 ino src=".source==\"$3\""
	ino=$(ns_inode "$2")
	check_eq "policy_add out, spi 0x00001234 ($4)" \
		"$(events "$trace" ".event==\"policy_add\" and .netns==$ino and .dir==\"out\" and .spi==\"0x00001234\" and .reqid==7 and .src==\"10.1.0.0/24\" and .tmpl_dst==\"192.0.2.2\" and $src")" 1
	check_eq "policy_update to spi 0x00001235, priority 5 ($4)" \
		"$(events "$trace" ".event==\"policy_update\" and .netns==$ino and .dir==\"out\" and .spi==\"0x00001235\" and .priority==5 and $src")" 1
	check_eq "policy_delete out ($4)" \
		"$(events "$trace" ".event==\"policy_delete\" and .netns==$ino and .dir==\"out\" and .src==\"10.1.0.0/24\" and $src")" 1
	check_eq "policy_add in ($4)" \
		"$(events "$trace" ".event==\"policy_add\" and .netns==$ino and .dir==\"in\" and .reqid==8 and $src")" 1
	# the flush removes the inbound one: BPF sees that delete, netlink only the flush
	check_eq "policy_delete in by the flush ($4)" \
		"$(events "$trace" ".event==\"policy_delete\" and .netns==$ino and .dir==\"in\"")" \
		"$([ "$3" = bpf ] && echo 1 || echo 0)"
	check_eq "policy_flush ($4)" "$(events "$trace" ".event==\"policy_flush\" and .netns==$ino")" 1
}

# --- rekey scenarios ---

# both_flows_start A B PACKETS RATE: sequdp both ways through the tunnel (ports 5001, 5002)
both_flows_start() {
	flow_start ab "$1" "$INNER_A" "$2" "$INNER_B" 5001 "$3" "$4"
	flow_start ba "$2" "$INNER_B" "$1" "$INNER_A" 5002 "$3" "$4"
}

# both_flows_wait: LOST_AB and LOST_BA
both_flows_wait() {
	flow_wait ab
	LOST_AB=$LOST
	flow_wait ba
	LOST_BA=$LOST
}

# both_flows_stop: as both_flows_wait, the senders stopped now; SENT_AB and SENT_BA too.
# For flows that must outlast a rekey whatever its start costs (a rekey that counts its
# losses loads BPF first: seconds on a loaded TCG, once longer than a fixed-count flow),
# start them with far more datagrams than they will send and stop them after it.
both_flows_stop() {
	flow_stop ab
	LOST_AB=$LOST SENT_AB=$(awk '/^sent/ { print $2 }' "$WORK/send-ab")
	flow_stop ba
	LOST_BA=$LOST SENT_BA=$(awk '/^sent/ { print $2 }' "$WORK/send-ba")
}

# sa_count NS: the SAs in NS with an SPI; not the kernel's acquires (SPI 0), which it makes
# when a packet finds no SA (as in a delete-add of a per-CPU SA) and lets expire
sa_count() {
	ip -n "$1" xfrm state | grep -E '^	proto [a-z0-9-]+ spi 0x' | grep -vc ' spi 0x00000000 ' || true
}

# sa_spis NS SRC DST: the SPIs of the SAs from SRC to DST in NS, sorted (from the lines
# 'proto esp spi 0x...': an encap line's "espinudp" holds "spi" too)
sa_spis() {
	ip -n "$1" xfrm state list src "$2" dst "$3" | awk '$1 == "proto" && $3 == "spi" { print $4 }' |
		sort | xargs
}

# sa_states NS: 'ip xfrm state' of NS without larval (ACQ, SPI 0) states. Those are the
# kernel's, made for a packet that found no valid SA, and go after xfrm_acq_expires (30 s).
# On 7.x one can stay beside the SA a delete-add put back (seen in rekey_cbc on sid: spi 0,
# the sender's flow as selector), when someone listens for acquires (the monitor); our
# reading: a packet met the new SA while it was still VOID, between its insert and the
# request's return, and found no valid SA to use.
sa_states() {
	ip -n "$1" xfrm state | awk '/^src / { if (b !~ / spi 0x00000000 /) printf "%s", b; b = "" }
		{ b = b $0 "\n" } END { if (b !~ / spi 0x00000000 /) printf "%s", b }'
}

# sa_settings NS: what 'ip xfrm state' says of NS's SAs but SPIs, keys and replay counters,
# as sorted lines: equal before and after a rekey that carried every setting over
sa_settings() {
	# (lastused: when it last carried a packet, a usage time 6.12 reports, not a setting)
	# (an ESN SA's replay state: its sequence numbers and bitmap words go, its window stays)
	sa_states "$1" | sed -e 's/spi 0x[0-9a-f]*/spi */' -e '/aead \|enc \|auth/d' \
		-e '/anti-replay/d' -e '/lastused/d' -e '/^[[:space:]]*seq-hi /d' \
		-e '/^[[:space:]]*\([0-9a-f]\{8\} *\)\{1,\}$/d' | sort
}

# sa_algs NS: each SA's algorithms as 'ip xfrm state' shows them, without their keys: name,
# key length in bits, ICV length (aead, auth-trunc), as sorted lines
sa_algs() {
	sa_states "$1" | awk '
		$1 == "aead" || $1 == "auth-trunc" { print $1, $2, (length($3) - 2) * 4 " bits", "icv " $4 }
		$1 == "enc" || $1 == "auth" { print $1, $2, (length($3) - 2) * 4 " bits" }' | sort
}

# --- monitor scenarios: 'rekeygap monitor' on a port of its own, read with curl ---

# monitor_start NS...: the monitor watching those namespaces; returns once it serves. MON is
# its pid, MON_URL its address, its stderr in $WORK/mon.err. Extra options in MON_OPTS.
monitor_start() {
	local ns args=()
	for ns in "$@"; do args+=(--netns "$ns"); done
	MON_PORT=${MON_PORT:-$((20000 + $$ % 20000))}
	MON_URL="http://127.0.0.1:$MON_PORT"
	bg "$REKEYGAP" monitor --listen "127.0.0.1:$MON_PORT" "${args[@]}" ${MON_OPTS[@]+"${MON_OPTS[@]}"} \
		2>"$WORK/mon.err"
	MON=${BG_PIDS[-1]}
	wait_for_line "$WORK/mon.err" serving 240 "$MON" # BPF loads first (see trace_start)
}

# metric SELECTOR: the sum of the samples whose line starts with SELECTOR (a metric name, or
# a name and the start of its labels), from one scrape; 0 if none
metric() {
	curl -sS --max-time 10 "$MON_URL/metrics" |
		awk -v sel="$1" 'index($0, sel) == 1 { s += $NF } END { printf "%d\n", s }'
}

# wait_metric SELECTOR VALUE SECONDS: until metric SELECTOR is VALUE, or fail
wait_metric() {
	local deadline=$((SECONDS + $3)) v
	until v=$(metric "$1") && [ "$v" = "$2" ]; do
		if [ $SECONDS -ge $deadline ]; then
			curl -sS "$MON_URL/metrics" | grep "^${1%%\{*}" || true
			# the last episodes, with what decides when one closes (not the whole JSON)
			curl -sS "$MON_URL/episodes" | jq -c '.[-16:][] | {id, netns: (.netns | sub(".*-"; "")),
				dir, kind, old_spi, new_spi, t_insert_new_ns, t_delete_old_ns, t_policy_switch_ns,
				dropped}' 2>/dev/null || true
			curl -sS "$MON_URL/metrics" | grep "^rekeygap_sas" || true
			fail "$1: $v after $3 s, expected $2"
		fi
		sleep 0.5
	done
	echo "ok: $1 = $2"
}
