/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REKEYGAP_TRACE_H
#define REKEYGAP_TRACE_H

/* rekeygap trace [--json] [--duration SEC] [--netns NAME]... [--probe MODE] */
int cmd_trace(int argc, char **argv);

#endif
