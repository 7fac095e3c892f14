#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# ike_charon: a real IKE daemon's rekeys. Two strongSwan charons, one per namespace, bring up
# an IKEv2 SA (PSK) and a tunnel-mode CHILD_SA (AES-GCM) over the veth pair; the CHILD_SA is
# then rekeyed REKEYS times with 'swanctl --rekey', by A and by B in turn (or, sourced by
# ike_charon_timed with IKE_REKEY=timed, by A's charon itself every 10 s: rekey_time), under
# sequence-numbered UDP both ways, with 'rekeygap monitor' watching both namespaces.
# strongSwan's ordering (the responder sends on its new outbound SA only once the initiator
# deleted the old one; the old inbound SAs stay delete_rekeyed_delay longer) loses nothing,
# or now and then the one datagram on its way out through the initiator's old outbound SA
# as it is deleted; the monitor must say so rekey by rekey: every replaced episode, on each
# side and in each direction, loses what the receiver did not get in its window (ground
# truth), has verdict clean (or, for that datagram, old_removed_early), and names that
# namespace's charon as the actor of its insert and delete.
#
#        netns A (IKE initiator)                       netns B (IKE responder)
#   +-----------------------------+             +-----------------------------+
#   | charon: own /run (tmpfs),   |             | charon: own /run (tmpfs),   |
#   |   $WORK/a: conf, vici, log  |             |   $WORK/b: conf, vici, log  |
#   | lo   198.51.100.1/32        |             | lo   198.51.100.2/32        |
#   | veth 192.0.2.1/24  ========|== IKE 500 ==|======== veth 192.0.2.2/24   |
#   |                             |== ESP =====>|  CHILD_SA A->B, rekeyed     |
#   |                             |<== ESP =====|  CHILD_SA B->A, rekeyed     |
#   +-----------------------------+             +-----------------------------+
#     sequdp 198.51.100.1 -> .2 port 5001 (flow ab), .2 -> .1 port 5002 (flow ba)
#     rekeygap monitor in the root namespace, --netns A --netns B
#   (topology: veth_pair in lib.sh; charon installs the SAs and policies, no routes)
source "$(dirname "$0")/lib.sh"

REKEYS=${REKEYGAP_REKEYS:-4} RATE=200 IKE_REKEY=${IKE_REKEY:-command}
CHARON=/usr/lib/ipsec/charon
A="$NS_PREFIX-a" B="$NS_PREFIX-b"
[ -x "$CHARON" ] && command -v swanctl >/dev/null ||
	fail "strongSwan is not installed (strongswan-charon, strongswan-swanctl: make deps)"

# charon_conf DIR: a strongswan.conf for one charon, everything it makes under DIR; only the
# plugins PSK, AES-GCM ESP and MODP IKE need, no routes, logs without keys (level 1)
charon_conf() {
	cat >"$1/strongswan.conf" <<EOF
charon {
	load_modular = no
	load = random nonce aes sha1 sha2 hmac gmp kdf kernel-netlink socket-default vici
	install_routes = no
	install_virtual_ip = no
	plugins {
		vici {
			socket = unix://$1/charon.vici
		}
	}
	filelog {
		charon {
			path = $1/charon.log
			time_format = %T
			default = 1
		}
	}
	syslog {
	}
}
swanctl {
	load = random nonce aes sha1 sha2 hmac gmp kdf
}
EOF
}

# swanctl_conf DIR LOCAL REMOTE LOCAL_TS REMOTE_TS ID_LOCAL ID_REMOTE REKEY_TIME: the
# connection "ike", its CHILD_SA "net" rekeyed every REKEY_TIME (0: only by command), never
# expiring before its rekey; the IKE_SA is not rekeyed
swanctl_conf() {
	cat >"$1/swanctl.conf" <<EOF
connections {
	ike {
		version = 2
		local_addrs = $2
		remote_addrs = $3
		proposals = aes128-sha256-modp2048
		rekey_time = 0
		dpd_delay = 0
		local {
			auth = psk
			id = $6
		}
		remote {
			auth = psk
			id = $7
		}
		children {
			net {
				mode = tunnel
				local_ts = $4/32
				remote_ts = $5/32
				esp_proposals = aes128gcm16
				rekey_time = $8
				life_time = $((${8%s} * 60))s
				rand_time = 0
				start_action = none
			}
		}
	}
}
secrets {
	ike-peers {
		id-a = a.rekeygap.test
		id-b = b.rekeygap.test
		# a test secret of this scenario only
		secret = rekeygap-ike-charon-test-psk
	}
}
EOF
	chmod 600 "$1/swanctl.conf"
}

# swan ROLE COMMAND ARGS...: swanctl COMMAND on that charon's vici socket and configuration
swan() {
	local dir="$WORK/$1" command=$2
	shift 2
	SWANCTL_DIR=$dir STRONGSWAN_CONF="$dir/strongswan.conf" \
		swanctl "$command" --uri "unix://$dir/charon.vici" "$@"
}

# charon_start ROLE NS: charon in NS, in a mount namespace of its own whose /run is a private
# tmpfs (its pid file); returns once its vici socket takes a configuration. CHARON_PID[ROLE].
declare -A CHARON_PID
charon_start() {
	local dir="$WORK/$1" deadline=$((SECONDS + 60))
	mkdir -p "$dir"
	charon_conf "$dir"
	bg env STRONGSWAN_CONF="$dir/strongswan.conf" ip netns exec "$2" \
		unshare --mount --propagation private sh -c \
		'mount -t tmpfs -o mode=755 tmpfs /run && exec "$0"' "$CHARON" >"$dir/charon.out" 2>&1
	CHARON_PID[$1]=${BG_PIDS[-1]}
	until [ -S "$dir/charon.vici" ] && swan "$1" --stats >/dev/null 2>&1; do
		kill -0 "${CHARON_PID[$1]}" 2>/dev/null ||
			fail "charon in $2 exited: $(tail -3 "$dir/charon.out" "$dir/charon.log" 2>/dev/null)"
		[ $SECONDS -lt $deadline ] || fail "charon in $2: no vici socket after 60 s"
		sleep 0.2
	done
	check_eq "charon's process in $2" "$(cat "/proc/${CHARON_PID[$1]}/comm")" charon
}

# child_spis NS: "SPI_AB SPI_BA" when NS holds exactly one SA per direction, else "" (one
# 'ip' a poll: processes are slow to start under TCG)
child_spis() {
	ip -n "$1" xfrm state | awk -v ab="$OUTER_A $OUTER_B" -v ba="$OUTER_B $OUTER_A" '
		$1 == "src" { sd = $2 " " $4 }
		$1 == "proto" && $2 == "esp" {
			if (sd == ab) { spi_ab = $4; n_ab++ } else if (sd == ba) { spi_ba = $4; n_ba++ }
		}
		END { if (n_ab == 1 && n_ba == 1) print spi_ab, spi_ba }'
}

# wait_child_sa OLD SECONDS: until A and B hold the same one SA per direction, both SPIs other
# than OLD's ("SPI_AB SPI_BA"; "" at the start): the rekey is complete, the old SAs gone
# (charon deletes the old inbound SAs delete_rekeyed_delay, 5 s, after a rekey). SPIS then.
wait_child_sa() {
	local deadline=$((SECONDS + $2)) a b
	while :; do
		a=$(child_spis "$A") b=$(child_spis "$B")
		if [ -n "$a" ] && [ "$a" = "$b" ] && [ "${a% *}" != "${1% *}" ] &&
			[ "${a#* }" != "${1#* }" ]; then
			SPIS=$a
			return 0
		fi
		if [ $SECONDS -ge $deadline ]; then
			ip -n "$A" xfrm state | grep '^src' || true
			ip -n "$B" xfrm state | grep '^src' || true
			swan a --list-sas || true
			fail "no new CHILD_SA in both namespaces within $2 s (old: '$1')"
		fi
		sleep 0.2
	done
}

# replaced NS JQ_CONDITION: how many of NS's replaced episodes in /episodes match
replaced() {
	jq --arg ns "$1" "[.[] | select(.netns == \$ns and .kind == \"replaced\" and ($2))] | length" \
		"$WORK/episodes"
}

# uptime_ns: now in ns of CLOCK_BOOTTIME, which is the monitor's CLOCK_MONOTONIC in a VM that
# never sleeps, to 10 ms (mawk's %d would stop at 2^31)
uptime_ns() {
	awk '{ printf "%.0f\n", $1 * 1e9 }' /proc/uptime
}

veth_pair "$A" "$B"
monitor_start "$A" "$B"
charon_start a "$A"
charon_start b "$B"
# by the timer: A's only, so that the two never collide
swanctl_conf "$WORK/a" "$OUTER_A" "$OUTER_B" "$INNER_A" "$INNER_B" a.rekeygap.test b.rekeygap.test \
	"$([ "$IKE_REKEY" = timed ] && echo 10s || echo 0s)"
swanctl_conf "$WORK/b" "$OUTER_B" "$OUTER_A" "$INNER_B" "$INNER_A" b.rekeygap.test a.rekeygap.test \
	0s
for role in a b; do
	# (load-creds complains of each credential folder missing: there are none, PSK only)
	swan "$role" --load-conns --file "$WORK/$role/swanctl.conf" >"$WORK/$role/load" 2>&1 &&
		swan "$role" --load-creds --noprompt --file "$WORK/$role/swanctl.conf" \
			>>"$WORK/$role/load" 2>&1 ||
		fail "swanctl could not load $WORK/$role/swanctl.conf: $(tail -3 "$WORK/$role/load")"
done

echo "--- IKE_SA and CHILD_SA up, A initiating"
t=$SECONDS
swan a --initiate --child net --timeout 120 >"$WORK/initiate" ||
	fail "swanctl --initiate: $(tail -5 "$WORK/initiate")"
wait_child_sa "" 60
echo "CHILD_SA established in $((SECONDS - t)) s: A->B ${SPIS% *}, B->A ${SPIS#* }"
spis_ab=("${SPIS% *}") spis_ba=("${SPIS#* }")

# each sender's schedule starts within a few ms of its t0 (the ground truth's clock)
flow_start ab "$A" "$INNER_A" "$B" "$INNER_B" 5001 $((RATE * 600)) "$RATE"
t0_ab=$(uptime_ns)
flow_start ba "$B" "$INNER_B" "$A" "$INNER_A" 5002 $((RATE * 600)) "$RATE"
t0_ba=$(uptime_ns)
sleep 2

for ((k = 1; k <= REKEYS; k++)); do
	t=$SECONDS
	if [ "$IKE_REKEY" = timed ]; then
		echo "--- rekey $k of $REKEYS: A's charon, rekey_time 10 s"
		wait_child_sa "$SPIS" 90
	else
		role=$([ $((k % 2)) = 1 ] && echo a || echo b)
		echo "--- rekey $k of $REKEYS: swanctl --rekey --child net in ${role^^}"
		swan "$role" --rekey --child net >"$WORK/rekey-$k" ||
			fail "swanctl --rekey: $(tail -3 "$WORK/rekey-$k")"
		wait_child_sa "$SPIS" 90
	fi
	echo "rekey $k complete in $((SECONDS - t)) s: A->B ${SPIS% *}, B->A ${SPIS#* }"
	spis_ab+=("${SPIS% *}") spis_ba+=("${SPIS#* }")
	[ "$IKE_REKEY" = timed ] || sleep 1
done
if [ "$IKE_REKEY" = timed ]; then
	# A's timer would go on rekeying: stopped (SIGSTOP) half-way to the next rekey, so that
	# the monitor's counts end at REKEYS; lib.sh's cleanup continues it after its SIGTERM
	kill -STOP "${CHARON_PID[a]}"
	check_eq "CHILD_SA SPIs once A's charon stopped" "$(child_spis "$A")" "$SPIS"
fi

flow_stop ab
LOST_AB=$LOST
flow_stop ba
LOST_BA=$LOST
check_eq "distinct CHILD_SA SPIs A->B (the first and one per rekey)" \
	"$(printf '%s\n' "${spis_ab[@]}" | sort -u | wc -l)" $((REKEYS + 1))
check_eq "distinct CHILD_SA SPIs B->A" "$(printf '%s\n' "${spis_ba[@]}" | sort -u | wc -l)" \
	$((REKEYS + 1))
echo "ground truth: A->B lost $LOST_AB, B->A lost $LOST_BA"
for ns in "$A" "$B"; do # what the kernels counted, to read a loss by (not a check)
	echo "$ns's kernel: $(ip netns exec "$ns" awk '$2 != 0 { printf "%s %s ", $1, $2; n++ }
		END { if (!n) print "no XFRM errors" }' /proc/net/xfrm_stat)"
done

# the monitor closes an episode once the old SA is gone: every rekey's four within seconds
wait_metric "rekeygap_rekeys_total{netns=\"$A\",dir=\"out\",kind=\"replaced\"" "$REKEYS" 60
wait_metric "rekeygap_rekeys_total{netns=\"$A\",dir=\"in\",kind=\"replaced\"" "$REKEYS" 60
wait_metric "rekeygap_rekeys_total{netns=\"$B\",dir=\"out\",kind=\"replaced\"" "$REKEYS" 60
wait_metric "rekeygap_rekeys_total{netns=\"$B\",dir=\"in\",kind=\"replaced\"" "$REKEYS" 60
curl -sS --max-time 10 "$MON_URL/episodes" >"$WORK/episodes"
for ns in "$A" "$B"; do
	for dir in in out; do
		check_eq "replaced episodes in $ns, dir $dir, in /episodes" \
			"$(replaced "$ns" ".dir == \"$dir\"")" \
			"$REKEYS"
	done
done

# Ground truth per rekey: each missing datagram, at its place in the sender's schedule,
# belongs to the rekey whose episodes' window (both sides' insert and delete) is nearest, if
# within 2 s; the rekeys are seconds apart. Each rekey's loss must equal what the monitor
# attributed to it: the sender's outbound episode plus the receiver's inbound one.
python3 - "$WORK" "$A" "$B" "$RATE" "$t0_ab" "$t0_ba" "${spis_ab[*]:1}" "${spis_ba[*]:1}" \
	>"$WORK/per-rekey" <<'EOF' || fail "per-rekey comparison: $(cat "$WORK/per-rekey")"
import json, sys

work, ns_a, ns_b = sys.argv[1:4]
rate, t0 = int(sys.argv[4]), {"ab": int(sys.argv[5]), "ba": int(sys.argv[6])}
spis = {"ab": sys.argv[7].split(), "ba": sys.argv[8].split()}
episodes = json.load(open(f"{work}/episodes"))
flows = {"ab": (ns_a, ns_b), "ba": (ns_b, ns_a)}
unexplained = outside = 0
for flow, (sender, receiver) in flows.items():
    sent = int(open(f"{work}/send-{flow}").read().split()[1])
    missing = []
    for line in open(f"{work}/recv-{flow}"):
        if line.startswith("missing:"):
            for item in line.split()[1:]:
                if item in ("none", "..."):
                    continue
                lo, _, hi = item.partition("-")
                missing += range(int(lo), int(hi or lo) + 1)
    missing = [s for s in missing if s < sent]
    rekeys = []
    for spi in spis[flow]:
        eps = []
        for ns, d in ((sender, "out"), (receiver, "in")):
            m = [e for e in episodes if e["netns"] == ns and e["dir"] == d
                 and e["kind"] == "replaced" and e["new_spi"] == spi]
            if len(m) != 1:
                print(f"{flow} {spi}: {len(m)} replaced episodes in {ns} dir {d}, expected 1")
                sys.exit(1)
            eps += m
        times = [e[k] for e in eps for k in ("t_insert_new_ns", "t_delete_old_ns") if e[k]]
        rekeys.append({"spi": spi, "eps": eps, "lo": min(times), "hi": max(times), "lost": 0})
    for seq in missing:
        t = t0[flow] + seq * 1_000_000_000 // rate
        dist = lambda r: max(r["lo"] - t, t - r["hi"], 0)
        near = min(rekeys, key=dist)
        if dist(near) > 2_000_000_000:
            outside += 1
            print(f"{flow}: datagram {seq} lost {t / 1e9:.3f} s, no rekey within 2 s")
        else:
            near["lost"] += 1
    for r in rekeys:
        out, inb = r["eps"]
        dropped = out["dropped"] + inb["dropped"]
        print(f"{flow} rekey to {r['spi']}: window {(r['hi'] - r['lo']) / 1e6:.1f} ms, "
              f"lost {r['lost']} (ground truth), attributed {dropped} "
              f"({sender} out {out['dropped']} + {receiver} in {inb['dropped']})")
        unexplained += r["lost"] != dropped
print(f"rekeys whose loss the monitor did not attribute exactly: {unexplained}")
print(f"datagrams lost away from any rekey: {outside}")
EOF
cat "$WORK/per-rekey"
check_eq "rekeys whose loss the monitor did not attribute exactly" \
	"$(awk -F': ' '/^rekeys whose/ { print $2 }' "$WORK/per-rekey")" 0
check_eq "datagrams lost away from any rekey" \
	"$(awk -F': ' '/^datagrams lost away/ { print $2 }' "$WORK/per-rekey")" 0

jq -c '.[] | select(.kind == "replaced") | {netns, dir, old_spi, new_spi, dropped, verdict,
	insert_actor, delete_actor}' "$WORK/episodes"
# What strongSwan does can lose one datagram now and then (2 rekeys in 56 here): the rekey's
# initiator deletes its old outbound SA as soon as the new one is in, and a packet on its way
# out through the old one dies (out_state_invalid). The monitor must then say exactly that,
# and every episode that lost nothing must be clean.
LOSSY=0
for ns in "$A" "$B"; do
	check_eq "replaced episodes in $ns, lossless and clean or lossy and explained" \
		"$(replaced "$ns" '(.dropped == 0 and .verdict == "clean") or
			(.dropped > 0 and .verdict == "old_removed_early" and .dir == "out" and
			 (.drops | keys) == ["out_state_invalid"])')" \
		$((2 * REKEYS))
	LOSSY=$((LOSSY + $(replaced "$ns" '.dropped > 0')))
done
[ "$LOSSY" = 0 ] || echo "finding: $LOSSY rekeys lost a datagram on the initiator's outbound SA," \
	"deleted under a packet on its way (verdict old_removed_early; see above)"
if "$REKEYGAP" explain --help >/dev/null 2>&1; then
	"$REKEYGAP" explain --json "$WORK/episodes" >"$WORK/explain" ||
		fail "rekeygap explain exited $?: $(tail -3 "$WORK/explain")"
	"$REKEYGAP" explain "$WORK/episodes"
	check_eq "episodes rekeygap explain read" \
		"$(jq -r 'select(.event == "summary") | .episodes' "$WORK/explain")" \
		"$(jq length "$WORK/episodes")"
	check_eq "lossy episodes rekeygap explain found" \
		"$(jq -r 'select(.event == "summary") | .lossy' "$WORK/explain")" "$LOSSY"
	check_eq "episodes rekeygap explain explained as old_removed_early (only lossy ones are)" \
		"$(jq -s '[.[] | select(.event == "explanation" and .verdict == "old_removed_early")] | length' "$WORK/explain")" \
		"$LOSSY"
else
	echo "note: no 'rekeygap explain' in this build: its check did not run"
fi
# the actor of each change is that namespace's charon (its pid: the one started here)
for role in a b; do
	ns=$([ $role = a ] && echo "$A" || echo "$B")
	actor="{\"kind\":\"process\",\"pid\":${CHARON_PID[$role]},\"comm\":\"charon\"}"
	for change in insert delete; do
		check_eq "replaced episodes in $ns whose ${change}_actor is its charon ($actor)" \
			"$(replaced "$ns" ".${change}_actor == $actor")" \
			$((2 * REKEYS))
	done
done
echo "PASS"
