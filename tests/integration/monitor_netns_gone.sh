#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# monitor_netns_gone: a watched namespace deleted while the monitor runs. Its series go
# away within seconds (the monitor lets the namespace go: its sockets would keep it alive),
# the other namespace's stay and its next rekey is still measured, and the monitor does
# not crash.
#
#   netns A  ==== ESP both ways ====  netns B      (both watched; A is deleted mid-run)
source "$(dirname "$0")/lib.sh"

A="$NS_PREFIX-a" B="$NS_PREFIX-b"
esp_pair "$A" "$B" 0x1000 0x2000
port=$((20000 + $$ % 20000))
URL="http://127.0.0.1:$port"
bg "$REKEYGAP" monitor --listen "127.0.0.1:$port" --netns "$A" --netns "$B" 2>"$WORK/mon.err"
MON=${BG_PIDS[-1]}
wait_for_line "$WORK/mon.err" serving 120 "$MON"

"$REKEYGAP" rekey --strategy make-before-break --grace 100ms --drain 100ms --from-netns "$A" \
	--to-netns "$B" --src "$OUTER_A" --dst "$OUTER_B" >/dev/null || fail "rekey"
series() { curl -sS "$URL/metrics" | grep -c "netns=\"$1\"" || true; }
deadline=$((SECONDS + 30))
until [ "$(curl -sS "$URL/metrics" | grep -c "rekeygap_rekeys_total{netns=\"$A\"")" -ge 1 ]; do
	[ $SECONDS -lt $deadline ] || fail "no episode for A after the rekey"
	sleep 0.5
done
check_ge "series of A before" "$(series "$A")" 5
check_ge "series of B before" "$(series "$B")" 5

# deleting A takes the veth pair, B's outer address with it: B keeps one on lo, so that its
# SAs' direction is still known (kernels before 6.10 have none of their own)
ip -n "$B" addr add "$OUTER_B/32" dev lo
ip netns del "$A"
deadline=$((SECONDS + 15))
until [ "$(series "$A")" = 0 ]; do
	[ $SECONDS -lt $deadline ] || fail "A's series still there 15 s after it was deleted: $(curl -sS "$URL/metrics" | grep "netns=\"$A\"" | head -3)"
	sleep 0.5
done
echo "ok: A's series gone after its deletion"
kill -0 "$MON" || fail "the monitor died"
check_ge "series of B after" "$(series "$B")" 5
# B still measured: its inbound SA replaced by hand
old=$(sa_spis "$B" "$OUTER_A" "$OUTER_B")
esp_sa "$B" "$OUTER_A" "$OUTER_B" 0x3000 1 "$KEY_AB"
ip -n "$B" xfrm state delete src "$OUTER_A" dst "$OUTER_B" proto esp spi "$old"
deadline=$((SECONDS + 30))
until [ "$(curl -sS "$URL/metrics" | awk -v n="rekeygap_rekeys_total{netns=\"$B\",dir=\"in\",kind=\"replaced\"," 'index($0, n) == 1 { s += $NF } END { print s + 0 }')" = 2 ]; do
	[ $SECONDS -lt $deadline ] || fail "B's next rekey was not counted: $(curl -sS "$URL/metrics" | grep "rekeys_total")"
	sleep 0.5
done
echo "ok: B's next episode counted"
kill -TERM "$MON"
rc=0
wait_pid "$MON" 10 "the monitor" || rc=$?
check_eq "monitor exit status" "$rc" 0
