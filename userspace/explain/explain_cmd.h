/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REKEYGAP_EXPLAIN_CMD_H
#define REKEYGAP_EXPLAIN_CMD_H

/* rekeygap explain [--all] [--json] [--timeout T] SOURCE (a monitor's URL, a file or -) */
int cmd_explain(int argc, char **argv);

#endif
