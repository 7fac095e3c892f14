#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# host_exporter_abuse: the monitor's HTTP server under abuse from one address (127.0.0.2):
# 1,000 connections at once, half of them idle and half sending headers one byte a second
# (slowloris), requests with 100 KiB of headers, unknown paths, HTTP/1.0, keep-alive
# request chains. Meanwhile Prometheus's stand-in (127.0.0.1) scrapes /metrics 20 times:
# every scrape must answer 200 within 1 s. Afterwards the monitor still runs, its memory is
# bounded, and it stops cleanly.
#
#   127.0.0.2 (abuser, 1,000 sockets) --\
#                                        >-- rekeygap monitor 127.0.0.1:PORT (host, loopback)
#   127.0.0.1 (curl, 20 scrapes) -------/
source "$(dirname "$0")/lib.sh"

port=$((20000 + $$ % 20000))
URL="http://127.0.0.1:$port"
bg "$REKEYGAP" monitor --listen "0.0.0.0:$port" --duration 120 2>"$WORK/mon.err"
MON=${BG_PIDS[-1]}
wait_for_line "$WORK/mon.err" serving 60 "$MON"
rss_before=$(awk '/^VmRSS/ { print $2 }' "/proc/$MON/status")

# the abuser: runs until told to stop, reports what the server did to it
python3 - "$port" "$WORK/abuse.stop" >"$WORK/abuse.out" 2>&1 <<'PY' &
import os, socket, sys, time
port, stop = int(sys.argv[1]), sys.argv[2]
def conn():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.2", 0))
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    return s
socks, refused = [], 0
for i in range(1000):
    try:
        socks.append(conn())
    except OSError:
        refused += 1
time.sleep(0.5)
big = b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 100000 + b"\r\n\r\n"
odd = [b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", b"GET /metrics HTTP/1.0\r\n\r\n",
       b"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n" * 20,
       b"BREW /metrics HTCPCP/1.0\r\n\r\n", big]
sent = 0
t0 = time.time()
while not os.path.exists(stop) and time.time() - t0 < 60:
    for i, s in enumerate(socks):
        try:
            if i % 2:   # slowloris: one byte of a never-ending header
                s.send(b"X")
            elif i % 10 == 0:
                s.send(odd[(i // 10) % len(odd)])
            sent += 1
        except (BlockingIOError, OSError):
            pass
    time.sleep(1)
alive = 0
for s in socks:
    try:
        s.send(b"X")
        alive += 1
    except OSError:
        pass
print(f"abuser: {len(socks)} sockets opened ({refused} refused at once), {sent} sends, "
      f"{alive} still open at the end")
PY
ABUSER=$!
sleep 2

slow=0 max_ms=0
for i in $(seq 20); do
	read -r code secs <<<"$(curl -s -o /dev/null -m 5 -w '%{http_code} %{time_total}' "$URL/metrics")"
	ms=$(awk -v s="$secs" 'BEGIN { printf "%d", s * 1000 }')
	[ "$code" = 200 ] || fail "scrape $i during the abuse: HTTP $code"
	[ "$ms" -le "$max_ms" ] || max_ms=$ms
	[ "$ms" -lt 1000 ] || slow=$((slow + 1))
	sleep 0.2
done
check_eq "scrapes slower than 1 s during the abuse" "$slow" 0
echo "ok: 20 scrapes answered 200 during the abuse, the slowest in $max_ms ms"
kill -0 "$MON" 2>/dev/null || fail "the monitor died under the abuse"
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$MON/status")
touch "$WORK/abuse.stop"
wait "$ABUSER" || fail "the abuser failed: $(tail -3 "$WORK/abuse.out")"
cat "$WORK/abuse.out"
# the abuse happened (else the scrapes above prove nothing): every socket opened, and sent on
check_eq "abuser's sockets opened" "$(awk '/^abuser:/ { print $2 }' "$WORK/abuse.out")" 1000
check_ge "abuser's sends" "$(awk '/^abuser:/ { print $9 }' "$WORK/abuse.out")" 1000
[ "$rss" -lt 65536 ] || fail "monitor RSS $rss KiB under abuse (limit 64 MiB)"
echo "ok: monitor RSS $rss_before KiB before, $rss KiB under the abuse"
kill -TERM "$MON"
rc=0
wait_pid "$MON" 10 "the monitor after the abuse" || rc=$?
check_eq "exit status after SIGTERM" "$rc" 0
