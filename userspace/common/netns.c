// SPDX-License-Identifier: BSD-2-Clause
#include "netns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

int netns_open(const char *name, int *fd, __u32 *inum)
{
	char path[256];
	struct stat st;

	if (!name)
		snprintf(path, sizeof(path), "/proc/self/ns/net");
	else if (strchr(name, '/'))
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), NETNS_RUN_DIR "/%s", name);
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return -errno;
	if (fstat(*fd, &st)) {
		int err = -errno;

		close(*fd);
		*fd = -1;
		return err;
	}
	*inum = (__u32)st.st_ino;
	return 0;
}

int netns_socket(int nsfd, int domain, int type, int protocol)
{
	int self, sock, err;

	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	if (setns(nsfd, CLONE_NEWNET)) {
		err = -errno;
		close(self);
		return err;
	}
	sock = socket(domain, type | SOCK_CLOEXEC, protocol);
	err = sock < 0 ? -errno : 0;
	/* a socket keeps the namespace it was made in: go home at once */
	if (setns(self, CLONE_NEWNET)) {
		err = -errno;
		if (sock >= 0)
			close(sock);
		sock = -1;
	}
	close(self);
	return sock >= 0 ? sock : err;
}

int netns_foreach_named(int (*fn)(void *ctx, const char *name), void *ctx)
{
	DIR *dir = opendir(NETNS_RUN_DIR);
	struct dirent *d;
	int ret = 0;

	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while (!ret && (d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		ret = fn(ctx, d->d_name);
	}
	closedir(dir);
	return ret;
}
