#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# rekey_faults: what goes wrong, and that nothing is left broken. Each fault must give one
# clear error line (or a failed rekey line) and a non-zero exit, leave the SAs as they were
# (or as the strategy meant them), and traffic must still flow both ways afterwards:
# a nonexistent namespace, no matching SA, several matching SAs, a key of the wrong length,
# a policy template naming the SPI (make-before-break), an SPI taken on the receiver and one
# taken only on the sender (the half-installed new SA must go), an SA deleted by someone
# else mid-rekey, and no CAP_NET_ADMIN.
#
#   netns A  ==== ESP A->B spi 0x1000 ====>  netns B
#            <=== ESP B->A spi 0x2000 =====
#   (topology: esp_pair in lib.sh)
source "$(dirname "$0")/lib.sh"

A="$NS_PREFIX-a" B="$NS_PREFIX-b"
PAIR=(--from-netns "$A" --to-netns "$B" --src "$OUTER_A" --dst "$OUTER_B")
esp_pair "$A" "$B" 0x1000 0x2000

# still_flows WHAT: 200 datagrams each way arrive, and each namespace has its two SAs
still_flows() {
	both_flows_start "$A" "$B" 200 1000
	both_flows_wait
	check_eq "after $1: lost A->B" "$LOST_AB" 0
	check_eq "after $1: lost B->A" "$LOST_BA" 0
	check_eq "after $1: SAs in A" "$(sa_count "$A")" 2
	check_eq "after $1: SAs in B" "$(sa_count "$B")" 2
}

# fails WHAT PATTERN ARGS...: rekeygap rekey ARGS exits 1 with one line on stderr that
# matches PATTERN
fails() {
	local what=$1 pattern=$2 rc=0
	shift 2
	"$REKEYGAP" rekey "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
	cat "$WORK/err"
	check_eq "$what: exit status" "$rc" 1
	check_eq "$what: error lines" "$(wc -l <"$WORK/err")" 1
	grep -q -- "$pattern" "$WORK/err" || fail "$what: error line does not say '$pattern'"
}

fails "nonexistent namespace" "no network namespace 'rkg-nowhere'" \
	--from-netns rkg-nowhere --to-netns "$B" --src "$OUTER_A" --dst "$OUTER_B"
still_flows "nonexistent namespace"

fails "no matching SA" "no ESP SA from 192.0.2.9 to $OUTER_B" \
	--from-netns "$A" --to-netns "$B" --src 192.0.2.9 --dst "$OUTER_B"
still_flows "no matching SA"

for ns in "$A" "$B"; do esp_sa "$ns" "$OUTER_A" "$OUTER_B" 0x1111 1 "$KEY_AB"; done
fails "several matching SAs" "2 ESP SAs from $OUTER_A to $OUTER_B in $A (spi 0x0000" "${PAIR[@]}"
grep -q 0x00001111 "$WORK/err" && grep -q 0x00001000 "$WORK/err" || fail "the SPIs are not listed"
for ns in "$A" "$B"; do
	ip -n "$ns" xfrm state delete src "$OUTER_A" dst "$OUTER_B" proto esp spi 0x1111
done
still_flows "several matching SAs"

echo 00112233445566778899aabbccddeeff >"$WORK/short-key" # 16 bytes; AES-GCM-128 takes 20
fails "wrong key length" "the key is 16 bytes; rfc4106(gcm(aes))" "${PAIR[@]}" \
	--key-file "$WORK/short-key"
still_flows "wrong key length"

# a policy template that names the SPI: a new SPI would not match it (make-before-break only)
pin_policy() { # SPI-OR-EMPTY: B's inbound policy, its template naming spi or not
	ip -n "$B" xfrm policy update src "$INNER_A/32" dst "$INNER_B/32" dir in \
		tmpl src "$OUTER_A" dst "$OUTER_B" proto esp ${1:+spi "$1"} reqid 1 mode tunnel
}
pin_policy 0x1000
fails "policy template pins the SPI" \
	"dst $INNER_B/32 dir in in $B names spi 0x00001000 in its template" "${PAIR[@]}"
check_eq "policy pinning the SPI: SPI in A" "$(sa_spis "$A" "$OUTER_A" "$OUTER_B")" 0x00001000
pin_policy
still_flows "a policy pinning the SPI"

# SPI taken on the receiver: another is chosen
esp_sa "$B" 192.0.2.9 "$OUTER_B" 0x3333 9 "$KEY_AB"
"$REKEYGAP" rekey --json --new-spi 0x3333 --grace 200 "${PAIR[@]}" >"$WORK/out" ||
	fail "rekey with a taken SPI exited $?"
check_eq "SPI taken on the receiver: retries" "$(jq -r 'select(.event=="rekey") | .spi_retries' "$WORK/out")" 1
[ "$(jq -r 'select(.event=="rekey") | .new_spi' "$WORK/out")" != 0x00003333 ] || fail "took a taken SPI"
ip -n "$B" xfrm state delete src 192.0.2.9 dst "$OUTER_B" proto esp spi 0x3333
still_flows "an SPI taken on the receiver"

# SPI taken only on the sender: the receiver's new SA must be removed before retrying
esp_sa "$A" 192.0.2.9 "$OUTER_B" 0x4444 9 "$KEY_AB"
"$REKEYGAP" rekey --json --new-spi 0x4444 --grace 200 "${PAIR[@]}" >"$WORK/out" ||
	fail "rekey with an SPI taken on the sender exited $?"
check_eq "SPI taken on the sender: retries" "$(jq -r 'select(.event=="rekey") | .spi_retries' "$WORK/out")" 1
check_eq "no half-installed SA with spi 0x4444 in B" \
	"$(ip -n "$B" xfrm state | grep -c 'spi 0x00004444' || true)" 0
ip -n "$A" xfrm state delete src 192.0.2.9 dst "$OUTER_B" proto esp spi 0x4444
still_flows "an SPI taken on the sender"

# someone else deletes the SA between two rekeys: the second one says so and fails
spi=$(sa_spis "$A" "$OUTER_A" "$OUTER_B")
bg "$REKEYGAP" rekey --strategy delete-add --count 2 --interval 4s "${PAIR[@]}" >"$WORK/out"
rk=${BG_PIDS[-1]}
wait_for_line "$WORK/out" "rekey 1: delete-add" 120 "$rk" # BPF loads first: slow on 7.2 under TCG
ip -n "$A" xfrm state delete src "$OUTER_A" dst "$OUTER_B" proto esp spi "$spi"
rc=0
wait "$rk" || rc=$?
cat "$WORK/out"
check_eq "SA deleted mid-rekey: exit status" "$rc" 1
grep -q "rekey 2: delete-add failed: .*deleted by someone else\|rekey 2: delete-add failed: .*No such process" "$WORK/out" ||
	fail "the failed rekey does not say the SA was gone"
# put the pair back as the test made it, with a key both sides know
ip -n "$B" xfrm state delete src "$OUTER_A" dst "$OUTER_B" proto esp spi "$spi" 2>/dev/null || true
for ns in "$A" "$B"; do esp_sa "$ns" "$OUTER_A" "$OUTER_B" "$spi" 1 "$KEY_AB"; done
still_flows "an SA deleted mid-rekey"

# as nobody: no capabilities at all
rc=0
setpriv --reuid 65534 --regid 65534 --clear-groups "$REKEYGAP" rekey "${PAIR[@]}" \
	>"$WORK/out" 2>"$WORK/err" || rc=$?
cat "$WORK/err"
check_eq "no CAP_NET_ADMIN: exit status" "$rc" 1
check_eq "no CAP_NET_ADMIN: error lines" "$(wc -l <"$WORK/err")" 1
grep -q "CAP_NET_ADMIN" "$WORK/err" || fail "the error does not name the capability"
still_flows "no CAP_NET_ADMIN"
