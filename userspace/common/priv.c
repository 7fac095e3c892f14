// SPDX-License-Identifier: BSD-2-Clause
/* Capabilities with libcap-ng: see priv.h. */
#include "priv.h"

#include <cap-ng.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

int priv_missing(const int *caps, int n, char *missing, size_t len)
{
	int lacking = 0;
	size_t used = 0;

	missing[0] = '\0';
	capng_get_caps_process();
	for (int i = 0; i < n; i++) {
		const char *name = capng_capability_to_name(caps[i]);

		if (capng_have_capability(CAPNG_EFFECTIVE, caps[i]))
			continue;
		lacking++;
		used += (size_t)snprintf(missing + used, used < len ? len - used : 0, "%sCAP_%s",
					 used ? ", " : "", name ? name : "?");
		if (used >= len)
			used = len - 1;
	}
	/* libcap-ng names them in lower case */
	for (char *p = missing; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	return lacking;
}

int priv_lookup_user(const char *user, unsigned int *uid, unsigned int *gid)
{
	struct passwd *pw = getpwnam(user);

	if (!pw)
		return -ENOENT;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

int priv_drop(const int *caps, int n, const char *user, char *err, size_t errlen)
{
	unsigned int uid, gid;
	int ret;

	capng_clear(CAPNG_SELECT_BOTH);
	for (int i = 0; i < n; i++)
		capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
			     caps[i]);
	if (user) {
		if (priv_lookup_user(user, &uid, &gid)) {
			snprintf(err, errlen, "no user '%s'", user);
			return -ENOENT;
		}
		ret = capng_change_id((int)uid, (int)gid, CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING);
	} else {
		ret = capng_apply(CAPNG_SELECT_ALL);
	}
	if (ret) {
		snprintf(err, errlen, "cannot drop privileges%s%s (libcap-ng: %d)",
			 user ? " to user " : "", user ? user : "", ret);
		return -EPERM;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		snprintf(err, errlen, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return -errno;
	}
	return 0;
}
