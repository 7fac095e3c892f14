// SPDX-License-Identifier: BSD-2-Clause
/*
 * 'rekeygap explain SOURCE': the options and the reading (a monitor's /episodes over HTTP
 * with libcurl, a file, stdin); the explaining is explain.c's.
 */
#include "explain_cmd.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "explain.h"

/* What is read whole: /episodes (100 episodes, about 100 KiB) or a saved array. A trace's
 * JSON lines are read a line at a time, of any length. */
#define DOCUMENT_MAX (256u << 20)
#define DEFAULT_TIMEOUT_NS (10 * NSEC_PER_SEC)

struct buffer {
	char *data;
	size_t len, cap;
	bool too_big;
};

static int buffer_add(struct buffer *b, const char *data, size_t n)
{
	if (n > DOCUMENT_MAX - b->len) {
		b->too_big = true;
		return -EFBIG;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64 * 1024;
		char *grown;

		while (cap < b->len + n + 1)
			cap *= 2;
		grown = realloc(b->data, cap);
		if (!grown)
			return -ENOMEM;
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

/* ---- a monitor's URL ---- */

static bool is_url(const char *source)
{
	return !strncasecmp(source, "http://", 7) || !strncasecmp(source, "https://", 8);
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	/* anything but size * n makes libcurl stop with CURLE_WRITE_ERROR */
	return buffer_add(ctx, data, size * n) ? 0 : size * n;
}

/* A monitor's address without a path means its /episodes; a path is taken as it is. */
static int episodes_url(const char *source, char **url, char *err, size_t errlen)
{
	CURLU *u = curl_url();
	char *path = NULL;
	CURLUcode rc;

	if (!u)
		return -ENOMEM;
	rc = curl_url_set(u, CURLUPART_URL, source, 0);
	if (!rc)
		rc = curl_url_get(u, CURLUPART_PATH, &path, 0);
	if (!rc && !strcmp(path, "/"))
		rc = curl_url_set(u, CURLUPART_PATH, "/episodes", 0);
	if (!rc)
		rc = curl_url_get(u, CURLUPART_URL, url, 0);
	if (rc)
		snprintf(err, errlen, "bad URL '%s': %s", source, curl_url_strerror(rc));
	curl_free(path);
	curl_url_cleanup(u);
	return rc ? -EINVAL : 0;
}

/* The first line of an error page, for the one error line: printable bytes only, short. */
static void first_line(const struct buffer *b, char *out, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < b->len && b->data[i] != '\n' && n + 1 < len && n < 120; i++)
		out[n++] = (unsigned char)b->data[i] < 0x20 || b->data[i] == 0x7f ? '?'
										  : b->data[i];
	out[n] = '\0';
}

static int fetch(const char *url, __u64 timeout_ns, struct buffer *body, char *err,
		 size_t errlen)
{
	char curl_err[CURL_ERROR_SIZE] = "", page[128];
	long timeout_ms = (long)(timeout_ns / NSEC_PER_MSEC), status = 0;
	CURL *c = curl_easy_init();
	const char *type = NULL;
	CURLcode rc;

	if (!c) {
		snprintf(err, errlen, "%s: cannot start libcurl", url);
		return -ENOMEM;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "rekeygap/" REKEYGAP_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
		/* a plain-text answer says why (the monitor's 503 "starting: ..."); a page not */
		page[0] = '\0';
		if (status != 200 && type && !strncasecmp(type, "text/plain", 10))
			first_line(body, page, sizeof(page));
	}
	curl_easy_cleanup(c);
	if (rc == CURLE_WRITE_ERROR && body->too_big) {
		snprintf(err, errlen, "%s: the answer is over %u MiB, not a monitor's /episodes",
			 url, DOCUMENT_MAX >> 20);
		return -EFBIG;
	}
	if (rc) {
		snprintf(err, errlen, "%s: %s", url, *curl_err ? curl_err : curl_easy_strerror(rc));
		return -EIO;
	}
	if (status != 200) {
		snprintf(err, errlen, "%s: HTTP %ld%s%s", url, status, *page ? ": " : "", page);
		return -EIO;
	}
	return 0;
}

static int explain_url(struct explainer *ex, const char *source, __u64 timeout_ns, char *err,
		       size_t errlen)
{
	struct buffer body = {};
	char *url = NULL, why[384];
	int ret = episodes_url(source, &url, err, errlen);

	if (!ret)
		ret = fetch(url, timeout_ns, &body, err, errlen);
	if (!ret) {
		ret = explain_document(ex, body.data ? body.data : "", body.len, why, sizeof(why));
		if (ret == -EINVAL)
			snprintf(err, errlen, "%s: %s", url, why);
		else if (ret)
			snprintf(err, errlen, "%s", why);
	}
	curl_free(url);
	free(body.data);
	return ret;
}

/* ---- a file or stdin ---- */

/*
 * A trace's JSON lines are explained as they come (a trace piped in live shows each
 * episode when it ends); an array is gathered whole first. The form is the first
 * non-blank character's, as explain_document tells it.
 */
static int explain_stream(struct explainer *ex, FILE *f, char *err, size_t errlen)
{
	struct buffer doc = {};
	enum { UNKNOWN, ARRAY, LINES } form = UNKNOWN;
	unsigned long lineno = 0;
	size_t cap = 0;
	char *line = NULL;
	ssize_t n;
	int ret = 0;

	while (!ret && (n = getline(&line, &cap, f)) >= 0) {
		size_t blank = strspn(line, " \t\r\n");

		lineno++;
		if (form == UNKNOWN && blank < (size_t)n) {
			if (line[blank] != '[' && line[blank] != '{') {
				/* neither form: explain_document says so */
				ret = explain_document(ex, line + blank, n - blank, err, errlen);
				break;
			}
			form = line[blank] == '[' ? ARRAY : LINES;
		}
		if (form == LINES) {
			ret = explain_line(ex, line, n, lineno, err, errlen);
			continue;
		}
		/* an array, blank lines before it, or what explain_document refuses */
		ret = buffer_add(&doc, line, n);
		if (ret == -EFBIG)
			snprintf(err, errlen, "a JSON array over %u MiB: give a trace's JSON lines",
				 DOCUMENT_MAX >> 20);
		else if (ret)
			snprintf(err, errlen, "out of memory");
	}
	if (!ret && ferror(f)) {
		snprintf(err, errlen, "cannot read: %s", strerror(errno));
		ret = -EIO;
	}
	if (!ret && form != LINES)
		ret = explain_document(ex, doc.data ? doc.data : "", doc.len, err, errlen);
	free(line);
	free(doc.data);
	return ret;
}

static int explain_path(struct explainer *ex, const char *path, char *err, size_t errlen)
{
	char why[384];
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	int ret;

	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "cannot open '%s': %s", path, strerror(-ret));
		return ret;
	}
	ret = explain_stream(ex, f, why, sizeof(why));
	if (ret)
		snprintf(err, errlen, "%s: %s", strcmp(path, "-") ? path : "stdin", why);
	if (f != stdin)
		fclose(f);
	return ret;
}

/* ---- the command ---- */

static const char explain_usage[] =
	"Usage: rekeygap explain [--all] [--json] [--timeout T] SOURCE\n"
	"\n"
	"Explain rekey episodes: for each one that lost packets, what happened (SA changes,\n"
	"packets lost, the switchover, in ms from the first event), its verdict and what to\n"
	"change, with the numbers measured. A summary line ends the output.\n"
	"\n"
	"SOURCE is where the episodes are:\n"
	"  http://HOST:PORT       a running 'rekeygap monitor': its /episodes (the last 100)\n"
	"  http://HOST:PORT/PATH  that URL as it is (http or https)\n"
	"  FILE                   a saved /episodes (a JSON array), or a trace's JSON lines\n"
	"                         ('rekeygap trace --json': its \"episode\" lines; the others\n"
	"                         are skipped)\n"
	"  -                      the same from stdin\n"
	"\n"
	"  -a, --all          every episode, also those that lost nothing\n"
	"  -j, --json         one JSON object a line: per episode {\"event\":\"explanation\",\n"
	"                     \"id\", \"verdict\", \"advice\", \"timeline\": [{\"ms\", \"ns\",\n"
	"                     \"what\"}], ...}, then {\"event\":\"summary\", ...}\n"
	"  -t, --timeout T    give up on a URL after T (default 10s; also 500ms, 2m)\n"
	"  -h, --help         this text\n"
	"\n"
	"Verdicts, and what to change:\n"
	"  gap                the old SA went before the new one came: make-before-break\n"
	"  peer_early         the peer sent on the new SPI before this side's SA was valid:\n"
	"                     install the inbound SA before the peer's outbound one\n"
	"  old_removed_early  packets on the old SPI after its SA went: a longer grace time\n"
	"  key_mismatch       integrity failures: the two sides hold different keys\n"
	"  not_replaced       deleted, and no successor came: why did the rekey fail?\n"
	"  expired            the hard lifetime was reached: rekey before it\n"
	"  clean              nothing (shown with --all)\n"
	"\n"
	"Input is checked: a required key missing or a value of the wrong type is one error\n"
	"line naming the episode and the key. Keys and trace events this version does not\n"
	"know are skipped. Exit 0 when the input was read (lossy episodes or not), 1 on an\n"
	"error (unreachable URL, HTTP error, not JSON, bad episode), 2 on bad usage.\n"
	"\n"
	"Examples:\n"
	"  rekeygap explain http://127.0.0.1:9101\n"
	"  curl -s http://gw1:9101/episodes >episodes.json\n"
	"  rekeygap explain --all episodes.json\n"
	"  rekeygap trace --json | rekeygap explain -\n";

int cmd_explain(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct explain_options opt = {};
	__u64 timeout_ns = DEFAULT_TIMEOUT_NS;
	struct explainer *ex;
	const char *source;
	char err[512];
	int c, ret;

	while ((c = getopt_long(argc, argv, "ajt:h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			opt.all = true;
			break;
		case 'j':
			opt.json = true;
			break;
		case 't':
			if (cli_parse_duration(optarg, NSEC_PER_SEC, &timeout_ns) || !timeout_ns) {
				cli_error("explain: bad --timeout '%s' (seconds, or 500ms, 2m)",
					  optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			fputs(explain_usage, stdout);
			return 0;
		default:
			fputs(explain_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		cli_error("explain: no SOURCE: a monitor's URL, a file or - (see --help)");
		return EXIT_USAGE;
	}
	if (optind + 1 < argc) {
		cli_error("explain: unexpected argument '%s'", argv[optind + 1]);
		return EXIT_USAGE;
	}
	source = argv[optind];

	ex = explainer_new(stdout, &opt);
	if (!ex) {
		cli_error("explain: out of memory");
		return 1;
	}
	/* each episode as soon as it is explained: a live trace may be piped in */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (is_url(source)) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		ret = explain_url(ex, source, timeout_ns, err, sizeof(err));
		curl_global_cleanup();
	} else {
		ret = explain_path(ex, source, err, sizeof(err));
	}
	if (ret)
		cli_error("explain: %s", err);
	else if ((ret = explain_summary(ex)))
		cli_error("explain: cannot write the summary: %s", strerror(-ret));
	explainer_free(ex);
	return ret ? 1 : 0;
}
