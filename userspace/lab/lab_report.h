/* SPDX-License-Identifier: BSD-2-Clause */
/* The lab's results as the comparison table, report.json and report.html (SVG timelines);
 * they are only read here. */
#ifndef REKEYGAP_LAB_REPORT_H
#define REKEYGAP_LAB_REPORT_H

#include <stdio.h>

#include "lab_results.h"

void lab_print_table(const struct lab *lab, FILE *out);
/* DIR/report.json and DIR/report.html. 0 or -errno with one line in err. */
int lab_write_report(const struct lab *lab, const char *dir, char *err, size_t errlen);

#endif
