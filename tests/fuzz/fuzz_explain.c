// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer target: 'rekeygap explain''s input, what a monitor's URL or a file gives. The
 * first byte picks the options (bit 0 --json, bit 1 --all); the rest is the document: an
 * array of episodes or a trace's JSON lines.
 */
#include <stdint.h>
#include <stdio.h>

#include "explain.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	struct explain_options opt;
	struct explainer *ex;
	char err[512];

	if (!size)
		return 0;
	if (!sink)
		sink = fopen("/dev/null", "w");
	if (!sink)
		return 0;
	opt = (struct explain_options){ .json = data[0] & 1, .all = data[0] & 2 };
	ex = explainer_new(sink, &opt);
	if (!ex)
		return 0;
	if (!explain_document(ex, (const char *)data + 1, size - 1, err, sizeof(err)))
		explain_summary(ex);
	explainer_free(ex);
	return 0;
}
