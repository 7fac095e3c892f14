#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
# charon_rekeys.py WORK: the CHILD_SA rekeys as the two charons of ike_charon logged them
# ($WORK/a/charon.log, $WORK/b/charon.log; level 1, no keys), round by round
# ($WORK/rounds: "ROUND LINE_A LINE_B", where each log stood as the round began), as JSON
# on stdout. Per round and namespace role, the CHILD_SAs charon established ("CHILD_SA
# net{N} established with SPIs I_i O_o", also "inbound"/"outbound": one SA per direction,
# the same N) and closed ("closing CHILD_SA net{N} with SPIs ..."), and the collisions it
# resolved: "CHILD_SA rekey collision lost, deleting redundant child net{N}" names, on the
# side that lost, the redundant CHILD_SA; its peer holds it with the SPIs the other way
# round. Each new CHILD_SA that is not redundant replaced the one before it: per round,
# role and direction, the (old SPI, new SPI) pairs. Checked here, against charon's own
# record: every redundant and every replaced CHILD_SA was closed in its round, exactly one
# CHILD_SA is left per side after each round, and the two sides agree (A's inbound SPIs
# are B's outbound ones). Exit 1, saying why, otherwise. "rekeys": all of them, in order
# (per round, as A's log has them: for reading).
import json, re, sys

EST = re.compile(r"(?:inbound |outbound )?CHILD_SA (\S+)\{(\d+)\} established with SPIs "
                 r"([0-9a-f]{8})_i ([0-9a-f]{8})_o")
CLOSE = re.compile(r"closing CHILD_SA (\S+)\{(\d+)\} with SPIs ([0-9a-f]{8})_i .*?"
                   r"([0-9a-f]{8})_o")
LOST = re.compile(r"CHILD_SA rekey collision lost, deleting redundant child (\S+)\{(\d+)\}")
WON = re.compile(r"CHILD_SA rekey collision won, deleting old child (\S+)\{(\d+)\}")


def die(msg):
    print(json.dumps({"error": msg}))
    sys.exit(1)


def spi(hex8):
    return f"0x{hex8}"


work = sys.argv[1]
rounds = [line.split() for line in open(f"{work}/rounds") if line.strip()]
logs = {r: open(f"{work}/{r}/charon.log", errors="replace").read().splitlines()
        for r in ("a", "b")}


def segment(role, i):
    """The log lines of round i (0: before the first round, the CHILD_SA's start)."""
    col = 1 if role == "a" else 2
    lo = 0 if i == 0 else int(rounds[i - 1][col])
    hi = int(rounds[i][col]) if i < len(rounds) else len(logs[role])
    return logs[role][lo:hi]


def events(lines):
    est, closed, lost, won = [], [], [], []
    for line in lines:
        if m := EST.search(line):
            est.append((int(m[2]), spi(m[3]), spi(m[4])))
        elif m := CLOSE.search(line):
            closed.append((int(m[2]), spi(m[3]), spi(m[4])))
        elif m := LOST.search(line):
            lost.append(int(m[2]))
        elif m := WON.search(line):
            won.append(int(m[2]))
    return est, closed, lost, won


children = {"a": {}, "b": {}}   # unique id -> (spi_in, spi_out), in that side's view
alive = {"a": None, "b": None}  # the CHILD_SA carrying the traffic between rounds
closed_ever = {"a": set(), "b": set()}
whole = {"a": [], "b": []}      # each side's rekeys, round after round
out = {"rounds": []}
for i in range(len(rounds) + 1):
    name = "start" if i == 0 else rounds[i - 1][0]
    ev = {r: events(segment(r, i)) for r in ("a", "b")}
    new = {}
    for r in ("a", "b"):
        new[r] = []
        for uid, si, so in ev[r][0]:
            if uid not in children[r]:
                children[r][uid] = (si, so)
                new[r].append(uid)
    # the redundant CHILD_SAs, named by the side that lost, found on both by their SPIs
    redundant_pairs = set()
    for r in ("a", "b"):
        for uid in ev[r][2]:
            if uid not in children[r]:
                die(f"round {name}: {r}'s redundant net{{{uid}}} was never established")
            si, so = children[r][uid]
            redundant_pairs.add((si, so) if r == "a" else (so, si))
    rnd = {"round": name, "collision": [], "redundant": [], "rekeys": []}
    for r in ("a", "b"):
        rnd["collision"] += [f"{r.upper()} lost (net{{{u}}} redundant)" for u in ev[r][2]]
        rnd["collision"] += [f"{r.upper()} won (old net{{{u}}} deleted)" for u in ev[r][3]]
    chains = {}
    for r in ("a", "b"):
        closed = {uid for uid, _, _ in ev[r][1]}
        chain = []
        for uid in new[r]:
            si, so = children[r][uid]
            if ((si, so) if r == "a" else (so, si)) in redundant_pairs:
                if uid not in closed:
                    die(f"round {name}: {r}'s redundant net{{{uid}}} was not closed")
                continue
            if alive[r] is None:
                alive[r] = uid  # the first CHILD_SA: no rekey
                continue
            if alive[r] not in closed:
                die(f"round {name}: {r}'s net{{{alive[r]}}}, replaced by net{{{uid}}}, "
                    "was not closed")
            (oi, oo), (ni, no) = children[r][alive[r]], (si, so)
            chain.append({"in": [oi, ni], "out": [oo, no]})
            alive[r] = uid
        chains[r] = chain
        closed_ever[r] |= closed
        if alive[r] is None or set(children[r]) - closed_ever[r] != {alive[r]}:
            die(f"round {name}: {r}'s CHILD_SAs not closed are "
                f"{sorted(set(children[r]) - closed_ever[r])}, expected net{{{alive[r]}}} only")
    for r in ("a", "b"):
        whole[r] += chains[r]
    for x in chains["a"]:
        # per flow: ab is A's outbound SA (B's inbound), ba A's inbound (B's outbound)
        rnd["rekeys"].append({"ab": x["out"], "ba": x["in"]})
    for si, so in sorted(redundant_pairs):
        rnd["redundant"].append({"ab": so, "ba": si})
    out["rounds"].append(rnd)
# the two sides agree, rekey by rekey (compared as a whole: a rekey at a round's edge may
# fall in one side's round and in the next one on the other side)
if len(whole["a"]) != len(whole["b"]) or any(
        x["in"] != y["out"] or x["out"] != y["in"] for x, y in zip(whole["a"], whole["b"])):
    die(f"A's rekeys {whole['a']} are not B's {whole['b']} mirrored")
out["rekeys"] = [{"ab": x["out"], "ba": x["in"]} for x in whole["a"]]
ai, ao = children["a"][alive["a"]]
out["final"] = {"ab": ao, "ba": ai}
print(json.dumps(out))
