/* SPDX-License-Identifier: MIT */
/*
 * sched/xrt/npu_xrt_config.c - per-family kernel files and the weights
 * region under RLIMIT_MEMLOCK (rules in npu_xrt_config.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "sched/npu_probe.h"
#include "sched/xrt/npu_xrt_config.h"

#define MB (1ull << 20)

static int say(char *buf, size_t len, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int say(char *buf, size_t len, int ret, const char *fmt, ...)
{
	va_list ap;

	if (buf && len) {
		va_start(ap, fmt);
		vsnprintf(buf, len, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* @dir/@name into @buf; -ENAMETOOLONG when it does not fit. */
static int join(char *buf, size_t size, const char *dir, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static const char *datadir(void)
{
	const char *d = getenv("NPU_MATMUL_DIR");

	return d && *d ? d : AMN_NPU_DATADIR;
}

/* 0, or -errno; -ENOEXEC when the file is there but is not an xclbin. */
static int check_xclbin(const char *path)
{
	char magic[8];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, magic, sizeof(magic));
	close(fd);
	if (n != (ssize_t)sizeof(magic) || memcmp(magic, "xclbin2", 8))
		return -ENOEXEC;
	return 0;
}

int npu_xrt_files_pick(struct npu_xrt_files *f, const char *family, const char *bdf,
		       char *err, size_t errlen)
{
	const char *x = getenv("NPU_MATMUL_XCLBIN"), *i = getenv("NPU_MATMUL_INSTR");
	const char *fam = npu_probe_family_name(family);
	char why[PATH_MAX + 256], dir[PATH_MAX];
	int ret;

	memset(f, 0, sizeof(*f));
	if (x && *x) {
		const char *slash;

		snprintf(f->xclbin, sizeof(f->xclbin), "%s", x);
		/* mlir-aie's build leaves the instructions beside the xclbin */
		slash = strrchr(f->xclbin, '/');
		if (slash)
			snprintf(dir, sizeof(dir), "%.*s", (int)(slash - f->xclbin), f->xclbin);
		else
			snprintf(dir, sizeof(dir), ".");
	} else {
		if (join(dir, sizeof(dir), datadir(), family) ||
		    join(f->xclbin, sizeof(f->xclbin), dir, "matmul.xclbin"))
			return say(err, errlen, -ENAMETOOLONG, "NPU_MATMUL_DIR is too long");
	}
	if (i && *i) {
		snprintf(f->instr_path, sizeof(f->instr_path), "%s", i);
	} else if (join(f->instr_path, sizeof(f->instr_path), dir, "insts.bin") ||
		   (access(f->instr_path, F_OK) &&
		    join(f->instr_path, sizeof(f->instr_path), dir, "insts.txt"))) {
		return say(err, errlen, -ENAMETOOLONG, "the kernel's directory %s is too long", dir);
	}
	ret = check_xclbin(f->xclbin);
	if (ret == -ENOENT && !(x && *x))
		return say(err, errlen, -ENOENT,
			   "no batch kernel for the %s NPU: set NPU_MATMUL_XCLBIN and "
			   "NPU_MATMUL_INSTR, or install %s/%s/matmul.xclbin and insts.bin", fam,
			   datadir(), family);
	if (ret == -ENOEXEC)
		return say(err, errlen, ret, "%s is not an xclbin (no xclbin2 magic)", f->xclbin);
	if (ret)
		return say(err, errlen, ret, "xclbin %s: %s", f->xclbin, strerror(-ret));
	ret = npu_instr_load(&f->instr, f->instr_path, why, sizeof(why));
	if (ret == -ENOENT && !(i && *i))
		return say(err, errlen, ret,
			   "no instruction file for the %s NPU in %s (insts.bin or insts.txt): set "
			   "NPU_MATMUL_INSTR", fam, dir);
	if (ret)
		return say(err, errlen, ret, "%s", why);
	if (strcmp(f->instr.family, family)) {
		say(err, errlen, -EXDEV,
		    "instruction file %s was built for a %s NPU, but the NPU at %s is %s: use the "
		    "kernel built for %s (%s/%s/)", f->instr_path,
		    npu_probe_family_name(f->instr.family), bdf ? bdf : "?", fam, family,
		    datadir(), family);
		npu_xrt_files_free(f);
		return -EXDEV;
	}
	return 0;
}

void npu_xrt_files_free(struct npu_xrt_files *f)
{
	if (f)
		npu_instr_free(&f->instr);
}

static unsigned long long to_mb_ceil(unsigned long long b)
{
	return (b + MB - 1) / MB;
}

int npu_xrt_region_fit(unsigned long long want, bool explicit_size, unsigned long long limit,
		       unsigned long long *region, char *msg, size_t msglen)
{
	unsigned long long avail;

	want = want / MB * MB;
	if (msg && msglen)
		msg[0] = '\0';
	if (limit == (unsigned long long)RLIM_INFINITY || want + NPU_XRT_PIN_RESERVE <= limit) {
		*region = want;
		return 0;
	}
	avail = limit > NPU_XRT_PIN_RESERVE ? (limit - NPU_XRT_PIN_RESERVE) / MB * MB : 0;
	if (explicit_size)
		return say(msg, msglen, -ENOMEM,
			   "NPU_WEIGHTS_MB=%llu needs %llu MB of locked memory, but `ulimit -l` "
			   "allows %llu kB: raise it (ulimit -l unlimited, or memlock in "
			   "/etc/security/limits.conf) or lower NPU_WEIGHTS_MB",
			   want / MB, to_mb_ceil(want + NPU_XRT_PIN_RESERVE), limit >> 10);
	if (avail < NPU_XRT_MIN_REGION)
		return say(msg, msglen, -ENOMEM,
			   "the locked-memory limit (`ulimit -l`) is %llu kB; the NPU needs at least "
			   "%llu MB (%llu MB for the default %llu MB weights region): raise it "
			   "(ulimit -l unlimited, or memlock in /etc/security/limits.conf)",
			   limit >> 10, to_mb_ceil(NPU_XRT_MIN_REGION + NPU_XRT_PIN_RESERVE),
			   to_mb_ceil(want + NPU_XRT_PIN_RESERVE), want / MB);
	*region = avail;
	return say(msg, msglen, 1,
		   "`ulimit -l` is %llu kB: the weights region is cut from %llu MB to %llu MB "
		   "(%llu MB of locked memory would give the whole region)", limit >> 10,
		   want / MB, avail / MB, to_mb_ceil(want + NPU_XRT_PIN_RESERVE));
}

unsigned long long npu_xrt_memlock_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return (unsigned long long)RLIM_INFINITY;
	return (unsigned long long)rl.rlim_cur;
}
