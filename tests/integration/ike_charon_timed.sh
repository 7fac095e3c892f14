#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# ike_charon_timed: ike_charon with the rekeys strongSwan times itself: A's CHILD_SA has
# rekey_time 15 s (B's none, so that the two never collide), and the scenario only waits for
# each new SA; the same topology, traffic and checks (see ike_charon.sh).
# (charon's rounds under a loaded TCG host: over 300 s)
# timeout: 900
IKE_REKEY=timed REKEYGAP_REKEYS=${REKEYGAP_REKEYS:-3}
source "$(dirname "$0")/ike_charon.sh"
