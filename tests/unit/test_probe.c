// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for userspace/observe/probe.c: mode choice and symbol lookup (no kernel needed). */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "probe.c"

#include <stdlib.h>

static void test_mode_names(void **state)
{
	enum probe_mode m;

	(void)state;
	for (int i = PROBE_FENTRY; i < PROBE_NONE; i++) {
		assert_int_equal(probe_mode_parse(probe_mode_name(i), &m), 0);
		assert_int_equal(m, i);
	}
	assert_int_equal(probe_mode_parse("none", &m), -EINVAL);
	assert_int_equal(probe_mode_parse("kprobes", &m), -EINVAL);
	assert_int_equal(probe_mode_parse("", &m), -EINVAL);
}

static void test_best_mode(void **state)
{
	struct probe_features all = { .btf = true, .fentry = true, .kprobe = true, .tracepoint = true };
	struct probe_features vm_no_btf = { .fentry = true, .kprobe = true, .tracepoint = true };
	/* the host this project is developed on: fentry refused, no kprobes */
	struct probe_features host = { .btf = true, .tracepoint = true, .ringbuf = true };
	struct probe_features nothing = { 0 };

	(void)state;
	assert_int_equal(probe_choose_mode(&all, false, 0), PROBE_FENTRY);
	assert_int_equal(probe_choose_mode(&vm_no_btf, false, 0), PROBE_KPROBE);
	assert_int_equal(probe_choose_mode(&host, false, 0), PROBE_TRACEPOINT);
	assert_int_equal(probe_choose_mode(&nothing, false, 0), PROBE_NONE);
}

static void test_forced_mode(void **state)
{
	struct probe_features all = { .btf = true, .fentry = true, .kprobe = true, .tracepoint = true };
	struct probe_features host = { .btf = true, .tracepoint = true };

	(void)state;
	assert_int_equal(probe_choose_mode(&all, true, PROBE_KPROBE), PROBE_KPROBE);
	assert_int_equal(probe_choose_mode(&all, true, PROBE_TRACEPOINT), PROBE_TRACEPOINT);
	/* forcing what the kernel cannot do is an error, not a silent downgrade */
	assert_int_equal(probe_choose_mode(&host, true, PROBE_FENTRY), PROBE_NONE);
	assert_int_equal(probe_choose_mode(&host, true, PROBE_KPROBE), PROBE_NONE);
}

static void test_kallsyms(void **state)
{
	static const char text[] = "ffffffff81a00000 T xfrm_state_add_foo\n"
				   "ffffffff81a00100 t __xfrm_state_delete\n"
				   "ffffffffc0100000 t esp_input\t[esp4]\n"
				   "ffffffff81a00200 T xfrm_state_add\n";
	FILE *f;

	(void)state;
	f = fmemopen((void *)text, sizeof(text) - 1, "r");
	assert_true(probe_kallsyms_has(f, "xfrm_state_add"));
	rewind(f);
	assert_true(probe_kallsyms_has(f, "esp_input"));
	rewind(f);
	assert_false(probe_kallsyms_has(f, "xfrm_state"));
	rewind(f);
	assert_false(probe_kallsyms_has(f, "esp4"));
	fclose(f);
}

/* probe --json: one object, the features in the table's order, then the mode. It takes no
 * text from outside; jansson must read it back as it was printed before. */
static void test_print_json(void **state)
{
	struct probe_features f = { .btf = true, .tracepoint = true, .ringbuf = true,
				    .xfrm_stat = true };
	struct xfrm_features x = { .sa_dir = true, .migrate_state = true };
	struct xfrm_features unprobed = { .err = -EPROTONOSUPPORT, .sa_dir = true };
	char *buf = NULL;
	size_t len;
	FILE *out = open_memstream(&buf, &len);
	json_error_t e;
	json_t *j;

	(void)state;
	assert_int_equal(probe_print(out, true, &f, &x, PROBE_TRACEPOINT), 0);
	assert_int_equal(fclose(out), 0);
	assert_string_equal(buf, "{\"btf\":true,\"fentry\":false,\"kprobe\":false,"
				 "\"tracepoint\":true,\"ringbuf\":true,\"esp\":false,"
				 "\"xfrm_stat\":true,\"switchover\":false,\"sa_dir\":true,"
				 "\"pcpu_sa\":false,\"migrate_state\":true,\"iptfs\":false,"
				 "\"mode\":\"tracepoint\"}\n");
	j = json_loads(buf, JSON_REJECT_DUPLICATES, &e);
	assert_non_null(j);
	assert_int_equal(json_object_size(j), 13);
	json_decref(j);
	free(buf);
	buf = NULL;
	out = open_memstream(&buf, &len);
	assert_int_equal(probe_print(out, false, &f, &x, PROBE_TRACEPOINT), 0);
	assert_int_equal(fclose(out), 0);
	assert_non_null(strstr(buf, "fentry        no   fentry/fexit on xfrm_state_add\n"));
	assert_non_null(strstr(buf, "sa_dir        yes  SA direction (XFRMA_SA_DIR)\n"));
	assert_non_null(strstr(buf, "\nmode          tracepoint\n"));
	assert_null(strstr(buf, "not probed"));
	free(buf);

	/* not probed (no ESP): null, "?" and why, whatever the booleans say */
	buf = NULL;
	out = open_memstream(&buf, &len);
	assert_int_equal(probe_print(out, true, &f, &unprobed, PROBE_TRACEPOINT), 0);
	assert_int_equal(fclose(out), 0);
	assert_non_null(strstr(buf, "\"sa_dir\":null,\"pcpu_sa\":null,\"migrate_state\":null,"
				    "\"iptfs\":null,"));
	free(buf);
	buf = NULL;
	out = open_memstream(&buf, &len);
	assert_int_equal(probe_print(out, false, &f, &unprobed, PROBE_TRACEPOINT), 0);
	assert_int_equal(fclose(out), 0);
	assert_non_null(strstr(buf, "sa_dir        ?    SA direction"));
	assert_non_null(strstr(buf, "(XFRM rows not probed: an ESP SA in a namespace of our own: "
				    "Protocol not supported)\n"));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mode_names),
		cmocka_unit_test(test_best_mode),
		cmocka_unit_test(test_forced_mode),
		cmocka_unit_test(test_kallsyms),
		cmocka_unit_test(test_print_json),
	};

	return cmocka_run_group_tests_name("probe", tests, NULL, NULL);
}
