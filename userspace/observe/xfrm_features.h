/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What this kernel's XFRM can do that changes how SAs must be followed, found by trying it
 * in a namespace of our own (made with unshare, gone when its socket closes: nothing is left
 * behind), never by the kernel's version:
 *  - SA direction (XFRMA_SA_DIR, 6.10, some 6.6.y): an SA added with it reports it back;
 *  - per-CPU SAs (XFRMA_SA_PCPU, 6.13): one SA per CPU for a flow, each rekeyed on its own
 *    (the kernel takes a CPU only on an SA with a direction);
 *  - XFRM_MSG_MIGRATE_STATE (7.2): an SA moved to a new address, keys and SPI kept;
 *  - IP-TFS (mode iptfs, 6.14; CONFIG_XFRM_IPTFS).
 * Older kernels ignore attributes they do not know, so an attribute counts only if a GETSA
 * returns it. The SAs are ESP with a zero test key: without ESP nothing can be probed.
 */
#ifndef REKEYGAP_XFRM_FEATURES_H
#define REKEYGAP_XFRM_FEATURES_H

#include <stdbool.h>

#include "xfrm_uapi.h"

struct xfrm_features {
	int err; /* 0: probed; else -errno: why none could be (no ESP, no privilege) */
	bool sa_dir;
	bool pcpu;
	bool migrate_state;
	bool iptfs;
};

/* Fills f; f->err says whether the booleans mean anything. */
void xfrm_features_probe(struct xfrm_features *f);

#endif
