// SPDX-License-Identifier: BSD-2-Clause
/* What the lab measured, as a table, JSON and an HTML page of SVG timelines. */
#include "lab_report.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "cli.h"
#include "episode_json.h"
#include "json_out.h"
#include "names.h"

/* Timeline rows: each SA by namespace and direction, then each flow's lost datagrams. */
enum { ROW_A_OUT, ROW_B_IN, ROW_B_OUT, ROW_A_IN, ROW_LOST_AB, ROW_LOST_BA, N_ROWS };
static const char *const row_names[N_ROWS] = {
	"A out (A->B)", "B in (A->B)", "B out (B->A)", "A in (B->A)", "lost A->B", "lost B->A",
};

#define SVG_W 1000
#define SVG_LABEL 110
#define ROW_H 28
#define LANES_MAX 6 /* SAs side by side in a row (make-before-break keeps old ones) */
#define AXIS_H 24

/* An SA's life: from its insert (or the lab's start) to its delete (or the end). */
struct sa_life {
	int row;
	__u32 spi;
	__u64 from, to; /* to: UINT64_MAX while alive */
};

/* Consecutive lost datagrams of one flow. */
struct drop_group {
	int flow;
	__u32 first_seq, count;
	__u64 t_first, t_last;
};

struct results {
	struct sa_life *lives;
	size_t n_lives;
	struct drop_group *groups;
	size_t n_groups;
};

static int sa_row(int side, __u8 dir)
{
	if (dir == SA_DIR_OUT)
		return side == 0 ? ROW_A_OUT : ROW_B_OUT;
	return side == 0 ? ROW_A_IN : ROW_B_IN;
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

/* How many of a phase's episodes got each verdict. */
static void phase_verdicts(const struct lab *lab, const struct lab_phase *ph,
			   unsigned int n[VERDICT_MAX])
{
	memset(n, 0, VERDICT_MAX * sizeof(n[0]));
	for (size_t e = 0; e < lab->n_episodes; e++) {
		const struct episode *ep = &lab->episodes[e];

		if (lab_in_phase(ph, lab_episode_start(ep)) && ep->verdict < VERDICT_MAX)
			n[ep->verdict]++;
	}
}

/* "clean 38, gap 2": the verdicts of a phase's episodes, in the vocabulary's order */
static void phase_verdicts_text(const struct lab *lab, const struct lab_phase *ph, char *buf,
				size_t len)
{
	unsigned int n[VERDICT_MAX];
	size_t used = 0;

	phase_verdicts(lab, ph, n);
	snprintf(buf, len, "-");
	for (int v = VERDICT_CLEAN; v < VERDICT_MAX && used < len; v++)
		if (n[v])
			used += (size_t)snprintf(buf + used, len - used, "%s%s %u", used ? ", " : "",
						 verdict_name(v), n[v]);
}

/* Gap and outage of a phase's episodes, in ms: mean, p99, max; n: how many had one. */
struct stats {
	int n;
	double mean, p99, max;
};

/* SA pairs a phase rekeyed: its rounds x both directions (x CPUs, with --pcpu); at least 1 */
static int pair_rekeys(const struct lab *lab, const struct lab_phase *ph)
{
	return 2 * (int)(lab->pcpu ? lab->pcpu : 1) * (int)(ph->rekeys ? ph->rekeys : 1);
}

static void phase_stats(const struct lab *lab, const struct lab_phase *ph, bool gap,
			struct stats *st)
{
	__u64 *v = calloc(lab->n_episodes + 1, sizeof(*v));
	double sum = 0;

	memset(st, 0, sizeof(*st));
	if (!v)
		return;
	for (size_t e = 0; e < lab->n_episodes; e++) {
		const struct episode *ep = &lab->episodes[e];

		if (!lab_in_phase(ph, lab_episode_start(ep)) || (gap && !ep->has_gap))
			continue;
		v[st->n++] = gap ? ep->gap_ns : ep->outage_ns;
	}
	if (st->n) {
		qsort(v, (size_t)st->n, sizeof(*v), cmp_u64);
		for (int i = 0; i < st->n; i++)
			sum += (double)v[i];
		st->mean = sum / st->n / 1e6;
		st->p99 = (double)v[(st->n * 99 + 99) / 100 - 1] / 1e6;
		st->max = (double)v[st->n - 1] / 1e6;
	}
	free(v);
}

void lab_print_table(const struct lab *lab, FILE *out)
{
	fprintf(out, "\n%-18s %6s %8s %6s %10s  %-22s %-16s %10s  %-24s %s\n", "strategy", "rekeys",
		"sent", "lost", "attributed", "gap ms mean/p99/max", "outage ms mean/max",
		"msgs/rekey", "verdicts", "note");
	for (int i = 0; i < lab->n_phases; i++) {
		const struct lab_phase *ph = &lab->phase[i];
		struct stats gap, outage;
		char g[40] = "-", o[40] = "-", note[96] = "", verdicts[160];
		int pairs = pair_rekeys(lab, ph);

		phase_stats(lab, ph, true, &gap);
		phase_stats(lab, ph, false, &outage);
		if (gap.n)
			snprintf(g, sizeof(g), "%.3f/%.3f/%.3f", gap.mean, gap.p99, gap.max);
		if (outage.n)
			snprintf(o, sizeof(o), "%.1f/%.1f", outage.mean, outage.max);
		if (ph->attributed != ph->lost)
			snprintf(note, sizeof(note), "attributed %+d vs lost", (int)ph->attributed - (int)ph->lost);
		if (ph->strategy == REKEY_UPDATE)
			snprintf(note + strlen(note), sizeof(note) - strlen(note), "%skey not changed (%u/%d)",
				 note[0] ? "; " : "", ph->key_unchanged, pairs);
		if (ph->failed)
			snprintf(note + strlen(note), sizeof(note) - strlen(note), "%s%u failed",
				 note[0] ? "; " : "", ph->failed);
		phase_verdicts_text(lab, ph, verdicts, sizeof(verdicts));
		fprintf(out, "%-18s %6u %8u %6u %10u  %-22s %-16s %10.1f  %-24s %s\n",
			rekey_strategy_name(ph->strategy), ph->rekeys, ph->sent, ph->lost, ph->attributed,
			g, o, (double)ph->messages / pairs, verdicts, note);
	}
	fprintf(out, "(each rekey replaces both SA pairs; lost: datagrams the receivers did not get; "
		     "attributed: drops the monitor put in rekey episodes)\n");
}

/* ---- timelines ---- */

static int cmp_events(const void *a, const void *b)
{
	const struct lab_sa_event *x = a, *y = b;

	return x->ts_ns < y->ts_ns ? -1 : x->ts_ns > y->ts_ns;
}

static int results_build(const struct lab *lab, struct results *r)
{
	struct lab_sa_event *ev = NULL;
	size_t cap = lab->n_events + 8;

	memset(r, 0, sizeof(*r));
	r->lives = calloc(cap, sizeof(*r->lives));
	if (lab->n_events)
		ev = malloc(lab->n_events * sizeof(*ev));
	if (!r->lives || (lab->n_events && !ev)) {
		free(ev);
		return -ENOMEM;
	}
	/* the lab's own SAs, there from the start */
	r->lives[r->n_lives++] = (struct sa_life){ ROW_A_OUT, htonl(0x1000), lab->start_ns, UINT64_MAX };
	r->lives[r->n_lives++] = (struct sa_life){ ROW_B_IN, htonl(0x1000), lab->start_ns, UINT64_MAX };
	r->lives[r->n_lives++] = (struct sa_life){ ROW_B_OUT, htonl(0x2000), lab->start_ns, UINT64_MAX };
	r->lives[r->n_lives++] = (struct sa_life){ ROW_A_IN, htonl(0x2000), lab->start_ns, UINT64_MAX };
	if (ev) {
		memcpy(ev, lab->events, lab->n_events * sizeof(*ev));
		qsort(ev, lab->n_events, sizeof(*ev), cmp_events);
	}
	for (size_t i = 0; i < lab->n_events; i++) {
		int row = sa_row(ev[i].side, ev[i].dir);

		if (ev[i].kind == SA_EVENT_ADD) {
			if (r->n_lives < cap)
				r->lives[r->n_lives++] =
					(struct sa_life){ row, ev[i].spi, ev[i].ts_ns, UINT64_MAX };
			continue;
		}
		for (size_t l = 0; l < r->n_lives; l++)
			if (r->lives[l].row == row && r->lives[l].spi == ev[i].spi &&
			    r->lives[l].to == UINT64_MAX) {
				r->lives[l].to = ev[i].ts_ns;
				break;
			}
	}
	free(ev);
	/* lost datagrams, grouped while consecutive */
	for (int f = 0; f < 2; f++) {
		const struct traffic_flow *fl = &lab->flow[f];

		for (__u32 i = 0; i < fl->sent; i++) {
			struct drop_group *g = r->n_groups ? &r->groups[r->n_groups - 1] : NULL;

			if (fl->received[i])
				continue;
			if (g && g->flow == f && g->first_seq + g->count == i) {
				g->count++;
				g->t_last = fl->sent_ns[i];
				continue;
			}
			g = realloc(r->groups, (r->n_groups + 1) * sizeof(*g));
			if (!g)
				return -ENOMEM;
			r->groups = g;
			r->groups[r->n_groups++] = (struct drop_group){ f, i, 1, fl->sent_ns[i],
									 fl->sent_ns[i] };
		}
	}
	return 0;
}

static void results_free(struct results *r)
{
	free(r->lives);
	free(r->groups);
}

static bool life_in_phase(const struct sa_life *l, const struct lab_phase *ph)
{
	return l->from < ph->t1 && l->to > ph->t0;
}

static double ms_since(const struct lab *lab, __u64 t)
{
	return t == UINT64_MAX ? -1 : ((double)t - (double)lab->start_ns) / 1e6;
}

/* ---- report.json ---- */

/* a time in ms since the lab's start, to the microsecond */
static json_t *json_ms(const struct lab *lab, __u64 t)
{
	return json_out_real(ms_since(lab, t), 3);
}

static json_t *json_stats(const struct stats *s, bool p99)
{
	if (!s->n)
		return json_null();
	return json_pack("{s:o,s:o*,s:o}", "mean", json_out_real(s->mean, 4),
			 "p99", p99 ? json_out_real(s->p99, 4) : NULL,
			 "max", json_out_real(s->max, 4));
}

static json_t *json_sa(const struct lab *lab, const struct sa_life *life)
{
	char spi[SPI_STRLEN];

	return json_pack("{s:s,s:s,s:o,s:o}", "row", row_names[life->row],
			 "spi", spi_format(life->spi, spi), "from_ms", json_ms(lab, life->from),
			 "to_ms", life->to == UINT64_MAX ? json_null() : json_ms(lab, life->to));
}

static json_t *json_drop_group(const struct lab *lab, const struct drop_group *dg)
{
	return json_pack("{s:s,s:I,s:I,s:o,s:o}", "flow", dg->flow ? "B->A" : "A->B",
			 "first_seq", (json_int_t)dg->first_seq, "count", (json_int_t)dg->count,
			 "t_first_ms", json_ms(lab, dg->t_first),
			 "t_last_ms", json_ms(lab, dg->t_last));
}

static json_t *json_drop(const struct lab *lab, const struct lab_drop *d)
{
	char spi[SPI_STRLEN];

	return json_pack("{s:s,s:s,s:s,s:I,s:o}", "netns", d->side ? "B" : "A",
			 "spi", spi_format(d->spi, spi), "cause", drop_cause_name(d->cause),
			 "count", (json_int_t)d->count, "t_ms", json_ms(lab, d->last_ns));
}

static json_t *json_phase(const struct lab *lab, const struct results *r,
			  const struct lab_phase *ph)
{
	json_t *sas = json_array(), *groups = json_array(), *drops = json_array();
	struct stats gap, outage;

	unsigned int n[VERDICT_MAX];
	json_t *verdicts = json_object();

	phase_stats(lab, ph, true, &gap);
	phase_stats(lab, ph, false, &outage);
	phase_verdicts(lab, ph, n);
	for (int v = VERDICT_CLEAN; verdicts && v < VERDICT_MAX; v++)
		if (n[v] && json_object_set_new(verdicts, verdict_name(v), json_integer(n[v]))) {
			json_decref(verdicts);
			verdicts = NULL;
		}
	for (size_t l = 0; l < r->n_lives; l++)
		if (life_in_phase(&r->lives[l], ph))
			sas = json_out_append(sas, json_sa(lab, &r->lives[l]));
	for (size_t g = 0; g < r->n_groups; g++)
		if (lab_sent_in_phase(ph, r->groups[g].t_first))
			groups = json_out_append(groups, json_drop_group(lab, &r->groups[g]));
	for (size_t d = 0; d < lab->n_drops; d++)
		if (lab_in_phase(ph, lab->drops[d].last_ns))
			drops = json_out_append(drops, json_drop(lab, &lab->drops[d]));
	return json_pack(
		"{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:o,s:b,s:o,s:o,s:o,s:o,s:o,s:o}",
		"strategy", rekey_strategy_name(ph->strategy), "rekeys", (json_int_t)ph->rekeys,
		"failed", (json_int_t)ph->failed, "sent", (json_int_t)ph->sent,
		"lost", (json_int_t)ph->lost, "attributed", (json_int_t)ph->attributed,
		"drops_seen", (json_int_t)ph->seen, "drops_missed", json_out_u64(ph->missed), "gap_ms", json_stats(&gap, true), "outage_ms", json_stats(&outage, false),
		"netlink_messages_per_rekey",
		json_out_real((double)ph->messages / pair_rekeys(lab, ph), 2),
		"key_changed", ph->strategy != REKEY_UPDATE || !ph->key_unchanged,
		"t0_ms", json_ms(lab, ph->t0), "t1_ms", json_ms(lab, ph->t1),
		"sas", sas, "drop_groups", groups, "drops", drops, "verdicts", verdicts);
}

/* {phase: dropped} for the phases that lost something (episode_json has their times too) */
static json_t *json_loss(const struct episode *ep)
{
	json_t *loss = json_object();

	for (int p = 0; loss && p < LOSS_PHASE_MAX; p++)
		if (ep->phase[p].drops &&
		    json_object_set_new(loss, loss_phase_name(p), json_out_u64(ep->phase[p].drops))) {
			json_decref(loss);
			return NULL;
		}
	return loss;
}

static json_t *json_episode(const struct lab *lab, const struct episode *ep)
{
	int side = lab_side(lab, ep->flow.netns), phase = -1;
	char old[SPI_STRLEN], new[SPI_STRLEN];
	json_t *j;

	for (int i = 0; i < lab->n_phases; i++)
		if (lab_in_phase(&lab->phase[i], lab_episode_start(ep)))
			phase = i;
	/* an SA without a direction is said as out here (the lab's SAs all have one) */
	j = json_pack(
		"{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:s,s:o,s:o,s:o,s:o}",
		"strategy", phase >= 0 ? rekey_strategy_name(lab->phase[phase].strategy) : "",
		"netns", side == 0 ? "A" : "B",
		"dir", sa_dir_label(ep->flow.dir == SA_DIR_IN ? SA_DIR_IN : SA_DIR_OUT),
		"kind", episode_kind_name(ep->kind),
		"old_spi", spi_format(ep->old_spi, old), "new_spi", spi_format(ep->new_spi, new),
		"t_delete_old_ms", json_ms(lab, ep->t_delete_old),
		"t_insert_new_ms", json_ms(lab, ep->t_insert_new),
		"gap_ms", json_out_real(ep->gap_ns / 1e6, 4),
		"overlap_ms", json_out_real(ep->overlap_ns / 1e6, 4),
		"dropped", json_out_u64(ep->drops_total), "loss", json_loss(ep),
		"outage_ms", json_out_real(ep->outage_ns / 1e6, 3),
		"verdict", verdict_name(ep->verdict),
		"insert_actor", actor_json(&ep->insert_actor),
		"delete_actor", actor_json(&ep->delete_actor),
		"old_last_packet_ms", ep->old_last_packet_ns ? json_ms(lab, ep->old_last_packet_ns) : json_null(),
		"new_first_packet_ms", ep->new_first_packet_ns ? json_ms(lab, ep->new_first_packet_ns) : json_null());
	/* --pcpu: the CPU of the episode's SAs */
	return ep->flow.pcpu ? json_out_extend(j, json_pack("{s:I}", "pcpu",
							     (json_int_t)ep->flow.pcpu_num))
			     : j;
}

static json_t *json_flow(const struct traffic_flow *fl, const char *name)
{
	return json_pack("{s:s,s:I,s:I,s:I,s:I}", "flow", name, "sent", (json_int_t)fl->sent,
			 "received", (json_int_t)fl->arrived,
			 "lost", (json_int_t)(__u32)(fl->sent - fl->arrived),
			 "send_errors", (json_int_t)fl->send_errors);
}

static json_t *report_json(const struct lab *lab, const struct results *r)
{
	json_t *phases = json_array(), *episodes = json_array(), *flows = json_array();

	for (int i = 0; i < lab->n_phases; i++)
		phases = json_out_append(phases, json_phase(lab, r, &lab->phase[i]));
	for (size_t e = 0; e < lab->n_episodes; e++)
		episodes = json_out_append(episodes, json_episode(lab, &lab->episodes[e]));
	flows = json_out_append(flows, json_flow(&lab->flow[0], "A->B"));
	flows = json_out_append(flows, json_flow(&lab->flow[1], "B->A"));
	return json_pack("{s:{s:[o,o],s:o,s:I,s:I,s:I,s:o,s:o},s:o,s:o,s:{s:o}}",
			 "lab",
			 "namespaces", json_out_string(lab->ns[0]), json_out_string(lab->ns[1]),
			 "aead", json_out_string(lab->alg), "rate", (json_int_t)lab->rate,
			 "rekeys", (json_int_t)lab->rekeys, "pcpu", (json_int_t)lab->pcpu,
			 "interval_ms", json_out_real((double)lab->interval_ns / 1e6, 1),
			 "probe_mode", json_out_string(lab->probe_mode),
			 "strategies", phases, "episodes", episodes,
			 "ground_truth", "flows", flows);
}

/* ---- report.html ---- */

struct axis {
	__u64 t0, t1;
};

static double xpos(const struct axis *a, __u64 t)
{
	double span = (double)(a->t1 - a->t0);

	if (t < a->t0)
		t = a->t0;
	if (t > a->t1)
		t = a->t1;
	return SVG_LABEL + ((double)(t - a->t0) / span) * (SVG_W - SVG_LABEL - 10);
}

/* A tick step of 1, 2 or 5 x 10^k ms giving at most twelve ticks. */
static double tick_ms(double span_ms)
{
	static const double mult[] = { 1, 2, 5 };

	for (double base = 1;; base *= 10)
		for (int i = 0; i < 3; i++)
			if (span_ms / (base * mult[i]) <= 12)
				return base * mult[i];
}

static void write_svg(const struct lab *lab, const struct results *r, const struct lab_phase *ph,
		      FILE *out)
{
	struct axis a = { ph->t0, ph->t1 };
	double span_ms = (double)(ph->t1 - ph->t0) / 1e6, step = tick_ms(span_ms);
	int h = AXIS_H + N_ROWS * ROW_H + 8;

	fprintf(out, "<svg id=\"timeline-%s\" class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" "
		     "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n",
		rekey_strategy_name(ph->strategy), SVG_W, h, SVG_W, h);
	for (int row = 0; row < N_ROWS; row++) {
		int y = AXIS_H + row * ROW_H;

		fprintf(out, "<text x=\"4\" y=\"%d\" class=\"label\">%s</text>\n", y + 15,
			row_names[row]);
		fprintf(out, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" class=\"grid\"/>\n",
			SVG_LABEL, SVG_W - 10, y + ROW_H, y + ROW_H);
	}
	/* the axis, in ms since the phase began */
	for (double t = 0; t <= span_ms; t += step) {
		double x = xpos(&a, ph->t0 + (__u64)(t * 1e6));

		fprintf(out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" class=\"tick\"/>"
			     "<text x=\"%.1f\" y=\"14\" class=\"axis\">%g</text>\n",
			x, x, AXIS_H - 4, h - 8, x, t);
	}
	fputs("<text x=\"4\" y=\"14\" class=\"axis\">time (ms)</text>\n", out);
	/* one bar per SA that existed during the phase; SAs alive at once side by side, in
	 * lanes (lives are in order of their start) */
	for (int row = 0; row < ROW_LOST_AB; row++) {
		__u64 lane_end[LANES_MAX] = { 0 };
		int lane_of_max = 1;
		double lane_h;

		for (int pass = 0; pass < 2; pass++) {
			memset(lane_end, 0, sizeof(lane_end));
			lane_h = (double)(ROW_H - 6) / lane_of_max;
			for (size_t l = 0; l < r->n_lives; l++) {
				const struct sa_life *life = &r->lives[l];
				char spi[SPI_STRLEN];
				double x0, x1;
				int lane = 0;

				if (life->row != row || !life_in_phase(life, ph))
					continue;
				while (lane < LANES_MAX - 1 && lane_end[lane] > life->from)
					lane++;
				lane_end[lane] = life->to;
				if (pass == 0) {
					if (lane + 1 > lane_of_max)
						lane_of_max = lane + 1;
					continue;
				}
				x0 = xpos(&a, life->from);
				x1 = xpos(&a, life->to == UINT64_MAX ? ph->t1 : life->to);
				fprintf(out, "<rect class=\"sa\" data-spi=\"%s\" x=\"%.1f\" y=\"%.1f\" "
					     "width=\"%.1f\" height=\"%.1f\"><title>%s spi %s: %.1f to %.1f "
					     "ms</title></rect>\n",
					spi_format(life->spi, spi), x0,
					AXIS_H + row * ROW_H + 3 + lane * lane_h,
					x1 - x0 < 1 ? 1 : x1 - x0, lane_h - 1,
					row_names[life->row], spi,
					(double)(life->from > ph->t0 ? life->from - ph->t0 : 0) / 1e6,
					(double)((life->to == UINT64_MAX || life->to > ph->t1 ? ph->t1
											    : life->to) -
						 ph->t0) / 1e6);
			}
		}
	}
	/* gaps: no valid SA for the flow */
	for (size_t e = 0; e < lab->n_episodes; e++) {
		const struct episode *ep = &lab->episodes[e];
		int side = lab_side(lab, ep->flow.netns), y;
		double x0, x1;

		if (side < 0 || !ep->has_gap || !ep->gap_ns ||
		    !lab_in_phase(ph, lab_episode_start(ep)))
			continue;
		y = AXIS_H + sa_row(side, ep->flow.dir) * ROW_H;
		x0 = xpos(&a, ep->t_delete_old);
		x1 = xpos(&a, ep->t_insert_new);
		fprintf(out, "<rect class=\"gap\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\">"
			     "<title>gap %.3f ms, verdict %s</title></rect>\n",
			x0, y + 1, x1 - x0 < 2 ? 2 : x1 - x0, ROW_H - 2, ep->gap_ns / 1e6,
			verdict_name(ep->verdict));
	}
	/* switchover: the old SA's last packet, the new SA's first */
	for (size_t e = 0; e < lab->n_episodes; e++) {
		const struct episode *ep = &lab->episodes[e];
		const __u64 t[2] = { ep->old_last_packet_ns, ep->new_first_packet_ns };
		char spi[SPI_STRLEN];
		int side = lab_side(lab, ep->flow.netns);

		if (side < 0 || !lab_in_phase(ph, lab_episode_start(ep)))
			continue;
		for (int i = 0; i < 2; i++) {
			int y = AXIS_H + sa_row(side, ep->flow.dir) * ROW_H;

			if (!t[i] || t[i] < ph->t0 || t[i] > ph->t1)
				continue;
			fprintf(out, "<line class=\"switch\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" "
				     "y2=\"%d\"><title>%s packet of %s %s: %.3f ms, verdict %s</title>"
				     "</line>\n",
				xpos(&a, t[i]), xpos(&a, t[i]), y, y + ROW_H,
				i ? "first" : "last", i ? "the new SA" : "the old SA",
				i ? spi_format(ep->new_spi, spi) : spi_format(ep->old_spi, spi),
				(double)(t[i] - ph->t0) / 1e6, verdict_name(ep->verdict));
		}
	}
	/* one mark per group of lost datagrams */
	for (size_t g = 0; g < r->n_groups; g++) {
		const struct drop_group *dg = &r->groups[g];
		double x0, x1;
		int y = AXIS_H + (dg->flow ? ROW_LOST_BA : ROW_LOST_AB) * ROW_H;

		if (!lab_sent_in_phase(ph, dg->t_first))
			continue;
		x0 = xpos(&a, dg->t_first);
		x1 = xpos(&a, dg->t_last);
		fprintf(out, "<rect class=\"drop\" data-count=\"%u\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
			     "height=\"%d\"><title>%u lost from #%u</title></rect>\n",
			dg->count, x0 - 1, y + 3, x1 - x0 < 2 ? 3 : x1 - x0 + 2, ROW_H - 6, dg->count,
			dg->first_seq);
	}
	fputs("</svg>\n", out);
}

static const char style[] =
	"body{font-family:sans-serif;margin:24px;color:#222}"
	"table{border-collapse:collapse;margin-bottom:24px}"
	"td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
	"th{background:#f2f2f2}td:first-child{text-align:left}"
	".timeline{border:1px solid #ddd;margin-bottom:8px}"
	".label{font-size:12px}.axis{font-size:10px;fill:#555}"
	".tick{stroke:#eee}.grid{stroke:#ddd}"
	".sa{fill:#4a90d9;fill-opacity:.75;stroke:#1f5fa5}"
	".sa:nth-of-type(even){fill:#7fb3e6}"
	".gap{fill:#f5b041;fill-opacity:.6}.drop{fill:#d62728}"
	".switch{stroke:#2ca02c;stroke-width:2}";

static void write_html(const struct lab *lab, const struct results *r, FILE *out)
{
	fprintf(out, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>rekeygap lab "
		     "report</title>\n<style>%s</style></head><body>\n<h1>rekeygap lab</h1>\n",
		style);
	fprintf(out, "<p>%s &harr; %s, ESP %s, %u datagrams/s each way, %u rekeys of both SA "
		     "pairs per strategy every %.0f ms; monitor in %s mode.</p>\n",
		lab->ns[0], lab->ns[1], lab->alg, lab->rate, lab->rekeys,
		(double)lab->interval_ns / 1e6, lab->probe_mode ? lab->probe_mode : "?");
	fputs("<table><tr><th>strategy</th><th>rekeys</th><th>sent</th><th>lost</th>"
	      "<th>attributed</th><th>gap ms mean</th><th>p99</th><th>max</th>"
	      "<th>outage ms mean</th><th>max</th><th>netlink msgs/rekey</th><th>verdicts</th></tr>\n",
	      out);
	for (int i = 0; i < lab->n_phases; i++) {
		const struct lab_phase *ph = &lab->phase[i];
		struct stats gap, outage;
		char verdicts[160];

		phase_stats(lab, ph, true, &gap);
		phase_stats(lab, ph, false, &outage);
		phase_verdicts_text(lab, ph, verdicts, sizeof(verdicts));
		fprintf(out, "<tr><td>%s</td><td>%u</td><td>%u</td><td>%u</td><td>%u</td>",
			rekey_strategy_name(ph->strategy), ph->rekeys, ph->sent, ph->lost,
			ph->attributed);
		if (gap.n)
			fprintf(out, "<td>%.3f</td><td>%.3f</td><td>%.3f</td>", gap.mean, gap.p99,
				gap.max);
		else
			fputs("<td>-</td><td>-</td><td>-</td>", out);
		if (outage.n)
			fprintf(out, "<td>%.1f</td><td>%.1f</td>", outage.mean, outage.max);
		else
			fputs("<td>-</td><td>-</td>", out);
		fprintf(out, "<td>%.1f</td><td>%s</td></tr>\n",
			(double)ph->messages / pair_rekeys(lab, ph), verdicts);
	}
	fputs("</table>\n<p>Bars: each SA's life, by namespace and direction. Orange: gaps, no "
	      "valid SA for the flow. Green lines: the old SA's last packet and the new SA's first "
	      "(the switchover). Red: datagrams the receiver never got (ground truth).</p>\n",
	      out);
	for (int i = 0; i < lab->n_phases; i++) {
		const struct lab_phase *ph = &lab->phase[i];

		fprintf(out, "<h2>%s</h2>\n", rekey_strategy_name(ph->strategy));
		if (ph->strategy == REKEY_UPDATE)
			fprintf(out, "<p>UPDSA: the kernel kept the old key after %u of %u rekeys.</p>\n",
				ph->key_unchanged, 2 * ph->rekeys);
		write_svg(lab, r, ph, out);
	}
	fputs("</body></html>\n", out);
}

static FILE *open_in(const char *dir, const char *name, char *err, size_t errlen)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (!f)
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
	return f;
}

int lab_write_report(const struct lab *lab, const char *dir, char *err, size_t errlen)
{
	struct results r;
	FILE *json, *html;
	int ret = results_build(lab, &r);

	if (ret) {
		snprintf(err, errlen, "out of memory");
		return ret;
	}
	json = open_in(dir, "report.json", err, errlen);
	html = json ? open_in(dir, "report.html", err, errlen) : NULL;
	if (json && html) {
		ret = json_out_line(json, report_json(lab, &r));
		if (ret)
			snprintf(err, errlen, "cannot write report.json: %s", strerror(-ret));
		write_html(lab, &r, html);
	} else {
		ret = -EIO;
	}
	if (json && fclose(json) && !ret) {
		snprintf(err, errlen, "cannot write report.json: %s", strerror(errno));
		ret = -EIO;
	}
	if (html && fclose(html) && !ret) {
		snprintf(err, errlen, "cannot write report.html: %s", strerror(errno));
		ret = -EIO;
	}
	results_free(&r);
	return ret;
}
