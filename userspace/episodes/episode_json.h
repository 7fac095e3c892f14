/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One episode as JSON: the object /episodes lists and the trace's "episode" lines carry, so
 * that `rekeygap explain` reads both. Times are CLOCK_MONOTONIC ns, as the trace's ts_ns.
 *
 *   id, netns, src, dst, proto, reqid, dir, kind, old_spi, new_spi,
 *   t_delete_old_ns, t_insert_new_ns, [pcpu], [t_policy_switch_ns], [gap_ns, overlap_ns],
 *   dropped, outage_ns, drops {cause: n}, verdict, why,
 *   [insert_actor], [delete_actor]  {kind: process|kernel|unknown, [pid, comm]},
 *   [old_last_packet_ns], [new_first_packet_ns],
 *   loss {phase: {dropped, first_ns, last_ns}}   (phases that lost something)
 *
 * [..]: only when known (an insert seen, a packet seen, a gap measured); pcpu: the CPU of a
 * per-CPU SA's flow, only for those.
 */
#ifndef REKEYGAP_EPISODE_JSON_H
#define REKEYGAP_EPISODE_JSON_H

#include <jansson.h>

#include "episode.h"

/* netns: the namespace's label. A new reference; NULL: out of memory. */
json_t *episode_json(const struct episode *ep, const char *netns);

/* {"kind":"process","pid":N,"comm":"..."}, {"kind":"kernel"} or {"kind":"unknown"} */
json_t *actor_json(const struct actor *a);

#endif
