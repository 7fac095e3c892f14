// SPDX-License-Identifier: BSD-2-Clause
/* What a lab run measured: see lab_results.h. */
#include "lab_results.h"

int lab_side(const struct lab *lab, __u32 inum)
{
	return inum == lab->inum[0] ? 0 : inum == lab->inum[1] ? 1 : -1;
}

bool lab_in_phase(const struct lab_phase *ph, __u64 t)
{
	return t >= ph->t0 && t < ph->t1;
}

bool lab_sent_in_phase(const struct lab_phase *ph, __u64 t)
{
	return t + LAB_PAUSE_NS / 2 >= ph->t0 && t + LAB_PAUSE_NS / 2 < ph->t1;
}

/* [t0, t1) moved half a pause earlier, as lab_sent_in_phase */
static void ground_truth_window(const struct lab_phase *ph, __u64 *from, __u64 *to)
{
	*from = ph->t0 > LAB_PAUSE_NS / 2 ? ph->t0 - LAB_PAUSE_NS / 2 : 0;
	*to = ph->t1 > LAB_PAUSE_NS / 2 ? ph->t1 - LAB_PAUSE_NS / 2 : 0;
}

__u64 lab_episode_start(const struct episode *ep)
{
	if (ep->t_delete_old && ep->t_insert_new)
		return ep->t_delete_old < ep->t_insert_new ? ep->t_delete_old : ep->t_insert_new;
	return ep->t_delete_old ? ep->t_delete_old : ep->t_insert_new;
}

void lab_results(struct lab *lab)
{
	for (int i = 0; i < lab->n_phases; i++) {
		struct lab_phase *ph = &lab->phase[i];

		ph->sent = ph->lost = ph->attributed = ph->seen = 0;
		for (int f = 0; f < 2; f++) {
			__u32 sent, lost;
			__u64 from, to;

			ground_truth_window(ph, &from, &to);
			traffic_count(&lab->flow[f], from, to, &sent, &lost);
			ph->sent += sent;
			ph->lost += lost;
		}
		for (size_t e = 0; e < lab->n_episodes; e++)
			if (lab_in_phase(ph, lab_episode_start(&lab->episodes[e])))
				ph->attributed += (__u32)lab->episodes[e].drops_total;
		for (size_t d = 0; d < lab->n_drops; d++)
			if (lab_in_phase(ph, lab->drops[d].last_ns))
				ph->seen += (__u32)lab->drops[d].count;
	}
}
