#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# ike_charon_collision: ike_charon with CHILD_SA rekey collisions: both charons are asked to
# rekey CHILD_SA net at the same moment (vici_rekey.py), again until a charon's log says the
# two rekeys collided; strongSwan keeps one of the two new CHILD_SAs and deletes the
# redundant one. The same topology, traffic and checks (see ike_charon.sh).
# (charon's rounds under a loaded TCG host: over 300 s)
# timeout: 900
IKE_REKEY=collision REKEYGAP_REKEYS=${REKEYGAP_REKEYS:-3}
source "$(dirname "$0")/ike_charon.sh"
