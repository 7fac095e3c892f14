/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REKEYGAP_MONITOR_CMD_H
#define REKEYGAP_MONITOR_CMD_H

/* rekeygap monitor [--listen ADDR:PORT] [--netns NAME]... [--max-series N] ... */
int cmd_monitor(int argc, char **argv);

#endif
