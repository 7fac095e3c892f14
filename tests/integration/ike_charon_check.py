#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
# ike_charon_check.py WORK NS_A NS_B RATE T0_AB T0_BA: ike_charon's comparisons of the
# monitor's episodes ($WORK/episodes) with what is not the monitor's: charon's own record of
# its rekeys ($WORK/expected, from charon_rekeys.py), the kernel's (the SPIs 'ip xfrm state'
# held after each round, $WORK/kernel; every outbound policy change as 'ip xfrm monitor
# policy' printed it, $WORK/policy-NS) and the receivers' ground truth ($WORK/recv-FLOW,
# $WORK/send-FLOW). One line per check; the last says how many failed (exit 1 if any).
import json, re, sys

work, ns_a, ns_b = sys.argv[1:4]
rate, t0 = int(sys.argv[4]), {"ab": int(sys.argv[5]), "ba": int(sys.argv[6])}
episodes = json.load(open(f"{work}/episodes"))
expected = json.load(open(f"{work}/expected"))
# flow ab: A's outbound SA, B's inbound one; ba the other way
ends = {"ab": ((ns_a, "out"), (ns_b, "in")), "ba": ((ns_b, "out"), (ns_a, "in"))}
failed = 0


def check(name, ok, detail="", quiet=False):
    """One line; detail shown always, or (quiet) on a failure only."""
    global failed
    failed += not ok
    shown = detail and (not ok or not quiet)
    print(f"{'ok' if ok else 'FAIL'}: {name}{': ' + detail if shown else ''}")


rekeys = expected["rekeys"]
redundant = {f: {r[f] for rnd in expected["rounds"] for r in rnd["redundant"]}
             for f in ("ab", "ba")}
print(f"charon's rekeys: {len(rekeys)}; redundant CHILD_SAs of collisions: "
      f"{len(redundant['ab'])}")

# 1. charon's record and the kernel's agree: the one SA pair the namespaces held after each
# round is one of charon's CHILD_SAs, in their order (A's timer may have rekeyed again
# before the round's end was seen), and the last is the one charon kept
kernel = [line.split() for line in open(f"{work}/kernel")]
chain = [[rekeys[0]["ab"][0], rekeys[0]["ba"][0]]] if rekeys else []
chain += [[rk["ab"][1], rk["ba"][1]] for rk in rekeys]
final = [expected["final"]["ab"], expected["final"]["ba"]]
pos = 0
for name, *pair in kernel:
    at = chain.index(pair, pos) if pair in chain[pos:] else -1
    check(f"round {name}: the SA pair the kernels held is charon's CHILD_SA, in order",
          at >= 0, f"kernel {pair}, charon's {chain[pos:]}")
    pos = max(pos, at)
check("the last SA pair the kernels held is the CHILD_SA charon kept",
      [kernel[-1][1], kernel[-1][2]] == final, f"kernel {kernel[-1][1:]}, charon {final}")

# 2. the monitor's replaced episodes are charon's rekeys, each once, no more, no fewer
for flow, sides in ends.items():
    want = sorted(tuple(rk[flow]) for rk in rekeys)
    for ns, d in sides:
        got = sorted((e["old_spi"], e["new_spi"]) for e in episodes
                     if e["netns"] == ns and e["dir"] == d and e["kind"] == "replaced")
        check(f"{ns} {d}: replaced episodes (old -> new SPI) are charon's rekeys", got == want,
              f"monitor {got}, charon {want}")
check("episodes of another kind than replaced", not [e for e in episodes if e["kind"] != "replaced"],
      json.dumps([{k: e[k] for k in ("netns", "dir", "kind", "old_spi", "new_spi")}
                  for e in episodes if e["kind"] != "replaced"]))
# 3. a collision's redundant CHILD_SA replaced nothing: no episode names it
for flow in ends:
    named = [e for e in episodes if e["old_spi"] in redundant[flow] or e["new_spi"] in redundant[flow]]
    check(f"episodes naming a redundant CHILD_SA's SPI ({flow})", not named,
          json.dumps([(e["netns"], e["dir"], e["old_spi"], e["new_spi"]) for e in named]))

# 4. charon's outbound policies name the SPI in their template, and move to the new SPI at each
# rekey (the kernel's record): the monitor times the outbound switch by that move
def policy_spis(ns):
    """The SPI of the outbound IPsec policy's template after each change, in order."""
    seq, block = [], []
    for line in open(f"{work}/policy-{ns}").read().splitlines() + [""]:
        if (not line or not line[0].isspace()) and block:
            text = " ".join(" ".join(block).split())
            if " dir out " in text and (m := re.search(r"proto esp spi (0x[0-9a-f]+)", text)):
                spi = None if text.startswith("Deleted") else m[1]
                if not seq or seq[-1] != spi:
                    seq.append(spi)
            block = []
        if line:
            block.append(line)
    return seq


for flow, ((ns, _), _) in ends.items():
    first = rekeys[0][flow][0] if rekeys else final[0 if flow == "ab" else 1]
    want = [first] + [rk[flow][1] for rk in rekeys]
    got = policy_spis(ns)
    check(f"{ns}: the outbound policy's template SPI, change by change (kernel)", got == want,
          f"kernel {got}, charon's outbound SPIs {want}")
for e in episodes:
    if e["kind"] != "replaced":
        continue
    what = f"{e['netns']} {e['dir']} {e['old_spi']} -> {e['new_spi']}"
    if e.get("resynced"):
        # an event of it was lost (a BPF run the kernel skipped: 7.x's lazy preemption) and
        # found by a re-dump: counted, but its times are the dump's, with no gap or overlap
        print(f"{what}: resynced, its times not compared")
        continue
    ins, dele, sw = e["t_insert_new_ns"], e["t_delete_old_ns"], e.get("t_policy_switch_ns")
    if e["dir"] == "out":
        check(f"{what}: policy switch between the new SA's insert and the old one's delete, "
              "gap and overlap 0 (timed by the switch)",
              sw is not None and ins <= sw <= dele and e["gap_ns"] == 0 and e["overlap_ns"] == 0,
              f"insert {ins}, switch {sw}, delete {dele}, gap {e.get('gap_ns')}, "
              f"overlap {e.get('overlap_ns')}", quiet=True)
    else:
        check(f"{what}: no policy switch inbound, overlap = delete - insert",
              sw is None and e["gap_ns"] == 0 and e["overlap_ns"] == dele - ins,
              f"switch {sw}, overlap {e.get('overlap_ns')}, delete - insert {dele - ins}",
              quiet=True)

# 5. ground truth per rekey: each missing datagram, at its place in the sender's schedule,
# belongs to the rekey whose episodes' window (both sides' insert and delete) is nearest, if
# within 2 s; the rekeys are seconds apart. Each rekey's loss must equal what the monitor
# attributed to it: the sender's outbound episode plus the receiver's inbound one. A sender
# that did not keep its schedule ("sent N packets ... in T s": a starved TCG has sent at half
# its --rate, late by tens of seconds) gives no time to a datagram: then the flow's loss as
# a whole must equal what its episodes attributed, and that is said.
unexplained = outside = 0
for flow, sides in ends.items():
    report = open(f"{work}/send-{flow}").read()
    sent = int(report.split()[1])
    m = re.search(r" in ([0-9.]+) s", report)
    kept = sent / float(m[1]) if m and float(m[1]) > 0 else rate
    timed = kept >= 0.9 * rate
    missing = []
    for line in open(f"{work}/recv-{flow}"):
        if line.startswith("missing:"):
            for item in line.split()[1:]:
                if item in ("none", "..."):
                    continue
                lo, _, hi = item.partition("-")
                missing += range(int(lo), int(hi or lo) + 1)
    missing = [s for s in missing if s < sent]
    windows = []
    for rk in rekeys:
        eps = [e for ns, d in sides for e in episodes if e["netns"] == ns and e["dir"] == d
               and e["kind"] == "replaced" and [e["old_spi"], e["new_spi"]] == rk[flow]]
        if len(eps) != 2:
            continue  # (said above)
        times = [e[k] for e in eps for k in ("t_insert_new_ns", "t_delete_old_ns") if e[k]]
        windows.append({"spi": rk[flow][1], "eps": eps, "lo": min(times), "hi": max(times),
                        "lost": 0})
    if not timed:
        dropped = sum(e["dropped"] for r in windows for e in r["eps"])
        print(f"{flow}: the sender kept {kept:.0f} of {rate} datagrams a second: lost "
              f"{len(missing)} (ground truth), attributed {dropped} by its episodes in all")
        unexplained += len(missing) != dropped
        continue
    for seq in missing:
        t = t0[flow] + seq * 1_000_000_000 // rate
        dist = lambda r: max(r["lo"] - t, t - r["hi"], 0)
        near = min(windows, key=dist, default=None)
        if near is None or dist(near) > 2_000_000_000:
            outside += 1
            print(f"{flow}: datagram {seq} lost {t / 1e9:.3f} s, no rekey within 2 s")
        else:
            near["lost"] += 1
    for r in windows:
        out, inb = r["eps"]
        dropped = out["dropped"] + inb["dropped"]
        print(f"{flow} rekey to {r['spi']}: window {(r['hi'] - r['lo']) / 1e6:.1f} ms, "
              f"lost {r['lost']} (ground truth), attributed {dropped} "
              f"({out['netns']} out {out['dropped']} + {inb['netns']} in {inb['dropped']})")
        unexplained += r["lost"] != dropped
check("rekeys whose loss the monitor did not attribute exactly", unexplained == 0, str(unexplained))
check("datagrams lost away from any rekey", outside == 0, str(outside))
print(f"checks failed: {failed}")
sys.exit(1 if failed else 0)
