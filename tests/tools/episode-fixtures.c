// SPDX-License-Identifier: BSD-2-Clause
/*
 * episode-fixtures [--lines]: the episodes of tests/unit/episode_fixtures.h, one of each
 * verdict (ids 1-8: clean, peer_early, gap, old_removed_early, key_mismatch, not_replaced,
 * expired, clean), through the monitor's own JSON writer: as /episodes serves them (an
 * array), or with --lines as a trace prints them ("event":"episode" lines among others).
 * host_explain serves and pipes these to 'rekeygap explain'.
 */
#include <stdio.h>
#include <string.h>

#include "episode_json.h"
#include "json_out.h"
#include "../unit/episode_fixtures.h"

int main(int argc, char **argv)
{
	const struct episode eps[] = {
		fixture_clean(1),	     fixture_peer_early(2),   fixture_gap(3),
		fixture_old_removed_early(4), fixture_key_mismatch(5), fixture_not_replaced(6),
		fixture_expired(7),	     fixture_clean(8),
	};
	bool lines = argc > 1 && !strcmp(argv[1], "--lines");
	json_t *all = json_array();
	int ret = 0;

	if (argc > 2 || (argc == 2 && !lines)) {
		fprintf(stderr, "usage: episode-fixtures [--lines]\n");
		return 2;
	}
	if (lines)
		ret = json_out_line(stdout, json_pack("{s:s,s:s}", "event", "start", "probe",
						      "fentry"));
	for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]) && !ret; i++) {
		json_t *ep = episode_json(&eps[i], "B");

		if (lines)
			ret = json_out_line(stdout, json_out_extend(json_pack("{s:s}", "event",
									      "episode"),
								    ep));
		else
			all = json_out_append(all, ep);
	}
	if (ret) {
		json_decref(all);
		return 1;
	}
	/* json_out_line releases what it writes */
	if (lines) {
		json_decref(all);
		ret = json_out_line(stdout, json_pack("{s:s}", "event", "end"));
	} else {
		ret = json_out_line(stdout, all);
	}
	return ret ? 1 : 0;
}
