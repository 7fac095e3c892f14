/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * 'rekeygap lab': two namespaces joined by an ESP tunnel both ways, ground-truth traffic,
 * the monitor in-process, N rekeys with each strategy, a comparison table and a report;
 * then everything removed. What a run set up and measured is a struct lab (lab_results.h),
 * which lab_report.c turns into the table and the report.
 */
#ifndef REKEYGAP_LAB_H
#define REKEYGAP_LAB_H

/* rekeygap lab [--rekeys N] [--strategies LIST] [--interval T] [--rate PPS] ... */
int cmd_lab(int argc, char **argv);

#endif
