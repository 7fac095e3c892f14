/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REKEYGAP_REKEY_CMD_H
#define REKEYGAP_REKEY_CMD_H

/* rekeygap rekey --strategy S --from-netns A --to-netns B --src IP --dst IP [...] */
int cmd_rekey(int argc, char **argv);

#endif
