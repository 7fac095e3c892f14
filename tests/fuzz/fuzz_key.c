// SPDX-License-Identifier: BSD-2-Clause
/* libFuzzer target: a --key-file's contents (hex, optional 0x, whitespace anywhere). */
#include <stdint.h>
#include <stdio.h>

#include "cli.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fmemopen((void *)data, size, "r");
	__u8 key[512];
	size_t len;

	if (!f)
		return 0;
	if (!cli_read_hex_key(f, key, sizeof(key), &len) && len > sizeof(key))
		__builtin_trap(); /* more key than room */
	fclose(f);
	return 0;
}
