#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
# vici_rekey.py CHILD SOCKET...: ask each charon (by its vici socket) to rekey its CHILD_SA
# CHILD at the same moment: every socket is connected first, then one thread per socket
# sends its "rekey" request as a barrier releases them together (what 'swanctl --rekey'
# does, without the process start that would set them apart by tens of ms under TCG).
# Prints per socket the time it was sent (CLOCK_MONOTONIC ns) and charon's answer; exit 1
# unless every charon said success. The vici protocol is written out here: a packet is a
# 32-bit length, a type (0: command request, 1: command response), a named command, then
# the message's elements (3: key, value).
import socket, struct, sys, threading, time


def element(key, value):
    k, v = key.encode(), value.encode()
    return bytes([3, len(k)]) + k + struct.pack(">H", len(v)) + v


def request(name, message):
    n = name.encode()
    packet = bytes([0, len(n)]) + n + message
    return struct.pack(">I", len(packet)) + packet


def read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("vici socket closed")
        data += chunk
    return data


def answer(sock):
    """The top-level key/values of the command response (lists and sections skipped)."""
    packet = read_exact(sock, struct.unpack(">I", read_exact(sock, 4))[0])
    if packet[0] != 1:
        raise ValueError(f"vici packet type {packet[0]}, not a command response")
    kv, i, depth = {}, 1, 0
    while i < len(packet):
        t = packet[i]
        i += 1
        if t in (1, 3, 4):  # section start, key/value, list start: named
            name = packet[i + 1:i + 1 + packet[i]].decode()
            i += 1 + packet[i]
        if t == 3 or t == 5:  # key/value, list item: a 16-bit length and a value
            vlen = struct.unpack(">H", packet[i:i + 2])[0]
            value = packet[i + 2:i + 2 + vlen].decode(errors="replace")
            i += 2 + vlen
            if t == 3 and depth == 0:
                kv[name] = value
        elif t in (1, 4):
            depth += 1
        elif t in (2, 6):
            depth -= 1
    return kv


child, paths = sys.argv[1], sys.argv[2:]
socks = []
for p in paths:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(p)
    socks.append(s)
barrier = threading.Barrier(len(socks))
frame = request("rekey", element("child", child))
results = [None] * len(socks)


def rekey(i):
    barrier.wait()
    t = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    socks[i].sendall(frame)
    results[i] = (t, answer(socks[i]))


threads = [threading.Thread(target=rekey, args=(i,)) for i in range(len(socks))]
for t in threads:
    t.start()
for t in threads:
    t.join()
ok = True
for p, (t, kv) in zip(paths, results):
    print(f"{p}: sent {t} ns, success {kv.get('success')}, matches {kv.get('matches', '?')}"
          f"{', ' + kv['errmsg'] if 'errmsg' in kv else ''}")
    ok = ok and kv.get("success") == "yes"
sys.exit(0 if ok else 1)
