#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# host_explain: runs on the host (no kernel feature needed). 'rekeygap explain' reads the
# same episodes by URL (a local HTTP server standing in for a monitor's /episodes), from a
# file, from stdin, and as a trace's JSON lines, and must say the same each way: every lossy
# episode, with the verdict the episode itself carries (ground truth: the input, read with
# jq) and the measured numbers in its advice. An unreachable URL, a listener that never
# answers, an HTTP error, a body that is not JSON and a missing file are each one error line
# and exit 1 (a monitor's 503 with its reason); no SOURCE is exit 2. Last, a real monitor
# (tracepoint mode, a namespace of ours) is read by its address.
#
# The episodes: build/tools/episode-fixtures, one of each verdict through the monitor's own
# JSON writer (tests/unit/episode_fixtures.h).
source "$(dirname "$0")/lib.sh"

FIXTURES="$BUILD/tools/episode-fixtures"
SRV="$WORK/srv"
mkdir -p "$SRV/api"
"$FIXTURES" >"$SRV/episodes"
cp "$SRV/episodes" "$SRV/api/eps.json"
"$FIXTURES" --lines >"$WORK/trace.jsonl"
echo '<html>not episodes</html>' >"$SRV/page.html"

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
bg python3 -m http.server --bind 127.0.0.1 --directory "$SRV" "$PORT" >"$WORK/http.log" 2>&1
HTTPD=${BG_PIDS[-1]}
for ((i = 0; i < 100; i++)); do
	curl -sf -o /dev/null "$URL/episodes" && break
	kill -0 "$HTTPD" 2>/dev/null || fail "the HTTP server exited: $(cat "$WORK/http.log")"
	sleep 0.1
done
curl -sf -o /dev/null "$URL/episodes" || fail "the HTTP server does not serve $URL/episodes"

# explain NAME ARGS...: rekeygap explain ARGS, exit 0 and nothing on stderr; $WORK/NAME.out
explain() {
	local name=$1 rc=0
	shift
	"$REKEYGAP" explain "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
	check_eq "$name: exit status" "$rc" 0
	check_eq "$name: stderr" "$(cat "$WORK/$name.err")" ""
}

# refuse NAME STATUS PATTERN ARGS...: exit STATUS, one error line matching PATTERN
refuse() {
	local name=$1 status=$2 pattern=$3 rc=0
	shift 3
	"$REKEYGAP" explain "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
	cat "$WORK/$name.err"
	check_eq "$name: exit status" "$rc" "$status"
	check_eq "$name: error lines" "$(wc -l <"$WORK/$name.err")" 1
	grep -q -- "$pattern" "$WORK/$name.err" || fail "$name: the error does not say '$pattern'"
	check_eq "$name: stdout" "$(cat "$WORK/$name.out")" ""
}

# --- by URL: a bare address means /episodes ---
explain url "$URL"
cat "$WORK/url.out"
# ground truth from the input: the lossy episodes, their ids and verdicts, in order
want=$(jq -r '.[] | select(.dropped > 0) | "episode \(.id) \(.verdict)"' "$SRV/episodes")
got=$(awk '/^episode / { id = $2 } /^  verdict / { v = $2; sub(/:$/, "", v); print "episode " id " " v }' \
	"$WORK/url.out")
check_eq "lossy episodes and verdicts" "$got" "$want"
check_eq "episodes explained" "$(grep -c '^episode ' "$WORK/url.out")" \
	"$(jq '[.[] | select(.dropped > 0)] | length' "$SRV/episodes")"
check_eq "summary" "$(tail -1 "$WORK/url.out")" \
	"6 of 8 episodes lost packets: 1 gap, 1 peer_early, 1 old_removed_early, 1 key_mismatch, 1 not_replaced, 1 expired"
# the numbers of the fixtures, in the advice (the text is wrapped: joined again first)
flat=$(tr '\n' ' ' <"$WORK/url.out" | tr -s ' ')
for says in "the peer sent on 0x00002000 84 ms before it was installed here (12 lost)" \
	"the flow had no SA for 5.5 ms (3 lost)" \
	"packets on 0x00001000 came up to 250 ms after its delete (25 lost)" \
	"different keys for SPI 0x00001000 (7 integrity failures)" \
	"0x00001000 expired (hard lifetime), removed by the kernel"; do
	grep -qF -- "$says" <<<"$flat" || fail "the explanation does not say '$says'"
	echo "ok: says '$says'"
done

# --- the same from a URL with a path, a file, stdin and a trace's lines ---
explain path "$URL/api/eps.json"
explain file "$SRV/episodes"
explain stdin - <"$SRV/episodes"
explain lines - <"$WORK/trace.jsonl"
for how in path file stdin lines; do
	cmp -s "$WORK/url.out" "$WORK/$how.out" || {
		diff "$WORK/url.out" "$WORK/$how.out" | head -20
		fail "by $how: not what the URL gave"
	}
	echo "ok: by $how: the same explanations"
done

# --- --all and --json ---
explain all --all "$URL"
check_eq "--all: episodes explained" "$(grep -c '^episode ' "$WORK/all.out")" 8
explain json --json "$URL"
check_eq "--json: verdicts" \
	"$(jq -r 'select(.event == "explanation") | "episode \(.id) \(.verdict)"' "$WORK/json.out")" "$want"
check_eq "--json: summary" "$(jq -c 'select(.event == "summary") | [.episodes, .lossy]' "$WORK/json.out")" "[8,6]"
check_eq "--json: first timeline entry of episode 2" \
	"$(jq -c 'select(.id == 2) | .timeline[0] | [.ms, .what]' "$WORK/json.out")" \
	'[0,"first packet lost on 0x00002000 before its SA was here (12 in_acquire)"]'

# --- errors: one line, exit 1 ---
DEAD=$(free_port) # nothing listens there
refuse unreachable 1 "http://127.0.0.1:$DEAD/episodes: .*[Cc]onnect" "http://127.0.0.1:$DEAD"
refuse not-found 1 "HTTP 404" "$URL/nothing-here"
refuse not-json 1 "neither a JSON array of episodes" "$URL/page.html"
refuse no-file 1 "cannot open '$WORK/none.json'" "$WORK/none.json"
printf '[{"id":1}]' >"$WORK/bad.json"
refuse bad-episode 1 "element 1: episode 1: \"netns\" missing" "$WORK/bad.json"
refuse no-source 2 "no SOURCE"
refuse bad-timeout 2 "bad --timeout" --timeout soon "$URL"

# a monitor still starting answers 503 in plain text: its reason is in the line
BUSY=$(free_port)
bg python3 -c 'import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(503); self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.end_headers(); self.wfile.write(b"starting: probes and the SA baseline are not ready yet\n")
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H); print("listening", flush=True)
s.serve_forever()' "$BUSY" >"$WORK/busy.log"
wait_for_line "$WORK/busy.log" listening 10 "${BG_PIDS[-1]}"
refuse starting 1 "/episodes: HTTP 503: starting: probes and the SA baseline are not ready yet$" \
	"http://127.0.0.1:$BUSY"

# a listener that accepts and never answers: --timeout ends it
SILENT=$(free_port)
bg python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); print("listening", flush=True)
c, _ = s.accept(); time.sleep(60)' "$SILENT" >"$WORK/silent.log"
wait_for_line "$WORK/silent.log" listening 10 "${BG_PIDS[-1]}"
start=$(date +%s%N)
refuse timeout 1 "timed out" --timeout 1 "http://127.0.0.1:$SILENT"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
check_ge "time to give up, ms (--timeout 1)" "$elapsed_ms" 900
[ "$elapsed_ms" -lt 5000 ] || fail "--timeout 1 took $elapsed_ms ms"

"$REKEYGAP" explain --help | grep -q '^Examples:' || fail "--help has no examples"
echo "ok: --help"

# --- a real monitor (tracepoint mode: no ESP here, so no episodes): read, nothing lost ---
M="$NS_PREFIX-m"
ip netns add "$M"
MON_PORT=$(free_port) MON_OPTS=(--probe tracepoint)
monitor_start "$M"
explain monitor "$MON_URL"
check_eq "a monitor without episodes" "$(cat "$WORK/monitor.out")" "0 of 0 episodes lost packets"
