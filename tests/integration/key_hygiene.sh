#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# key_hygiene: no key material in anything rekeygap writes. Known keys go in (the SAs'
# keys, a --key-file); rekey, trace, monitor (metrics and /episodes) and the lab run; then
# every byte they wrote (stdout, stderr, JSON, metrics, the lab's report) is searched for
# each key, as hex (either case, with or without 0x) and as raw bytes: zero hits. The lab
# makes its own random keys: they are read from the kernel (ip xfrm state) mid-run.
#
#   netns A  ==== ESP A->B spi 0x1000 (known keys, rekeyed with a known key) ====  netns B
source "$(dirname "$0")/lib.sh"

A="$NS_PREFIX-a" B="$NS_PREFIX-b"
OUT="$WORK/out"
mkdir -p "$OUT"
esp_pair "$A" "$B" 0x1000 0x2000
NEW_KEY=0x5a5b5c5d5e5f606162636465666768696a6b6c6d
echo "$NEW_KEY" >"$WORK/new.key"

port=$((20000 + $$ % 20000))
bg "$REKEYGAP" monitor --listen "127.0.0.1:$port" --netns "$A" --netns "$B" 2>"$OUT/monitor.err"
MON=${BG_PIDS[-1]}
wait_for_line "$OUT/monitor.err" serving 120 "$MON"
trace_start "$OUT/trace.jsonl" fentry "$A" "$B"
"$REKEYGAP" rekey --json --strategy delete-add --count 2 --interval 200 --key-file "$WORK/new.key" \
	--from-netns "$A" --to-netns "$B" --src "$OUTER_A" --dst "$OUTER_B" \
	>"$OUT/rekey-da.json" 2>"$OUT/rekey-da.err" || fail "rekey delete-add: $(cat "$OUT/rekey-da.err")"
"$REKEYGAP" rekey --strategy make-before-break --count 2 --interval 200 --grace 200ms \
	--drain 200ms --from-netns "$B" --to-netns "$A" --src "$OUTER_B" --dst "$OUTER_A" \
	>"$OUT/rekey-mbb.txt" 2>"$OUT/rekey-mbb.err" || fail "rekey make-before-break"
"$REKEYGAP" rekey --strategy update --netns "$A" --dir out --src "$OUTER_A" --dst "$OUTER_B" \
	--key-file "$WORK/new.key" >"$OUT/rekey-update.txt" 2>"$OUT/rekey-update.err" ||
	fail "rekey update"
# the keys the make-before-break rekeys chose, from the kernel
ip -n "$A" xfrm state | awk '/aead/ { print $3 }' >"$WORK/keys"
sleep 2 # the episodes settle
curl -sS "http://127.0.0.1:$port/metrics" >"$OUT/metrics"
curl -sS "http://127.0.0.1:$port/episodes" >"$OUT/episodes.json"
trace_stop "$OUT/trace.jsonl"
kill -TERM "$MON"
wait "$MON" || fail "monitor exit status"

# the lab: its keys read from the kernel while it runs
"$REKEYGAP" lab --rekeys 2 --interval 200 --rate 200 --strategies delete-add,make-before-break \
	--progress plain --report "$OUT/lab" >"$OUT/lab.out" 2>"$OUT/lab.err" &
LAB=$!
wait_for_line "$OUT/lab.out" 'delete-add: rekeys' 120 "$LAB"
for ns in "rkg-lab-$LAB-a" "rkg-lab-$LAB-b"; do
	ip -n "$ns" xfrm state 2>/dev/null | awk '/aead|enc|auth/ { print $3 }' >>"$WORK/keys"
done
wait "$LAB" || fail "lab exited $?: $(tail -3 "$OUT/lab.err")"

{ echo "$KEY_AB"; echo "$KEY_BA"; echo "$NEW_KEY"; cat "$WORK/keys"; } | sort -u >"$WORK/all-keys"
check_ge "keys to look for" "$(wc -l <"$WORK/all-keys")" 6
check_ge "files written" "$(find "$OUT" -type f | wc -l)" 12
python3 - "$WORK/all-keys" "$OUT" <<'PY' || fail "key material found in rekeygap's output"
import os, sys
keys = [l.strip() for l in open(sys.argv[1]) if l.strip()]
hits = 0
files = [os.path.join(d, f) for d, _, fs in os.walk(sys.argv[2]) for f in fs]
for k in keys:
    raw = bytes.fromhex(k[2:] if k.startswith("0x") else k)
    # any 8 consecutive key bytes, in each form: a part of a key is a leak too
    for i in range(0, len(raw) - 7):
        part = raw[i:i + 8]
        forms = [part, part.hex().encode(), part.hex().upper().encode()]
        for path in files:
            data = open(path, "rb").read()
            for form in forms:
                if form in data:
                    print(f"LEAK: {path} holds bytes {i}..{i + 7} of key {k[:10]}... as {form[:16]!r}")
                    hits += 1
print(f"{len(keys)} keys, {len(files)} files, {hits} hits")
sys.exit(1 if hits else 0)
PY
echo "ok: no key bytes in $(find "$OUT" -type f | wc -l) files ($(du -sk "$OUT" | cut -f1) KiB)"
