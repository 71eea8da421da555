/*
 * outfile.c -- atomic (temp + rename), optionally gzip-compressed output files. See outfile.h.
 *
 * The interrupt registry is a fixed array of slots, each holding the name of one open temporary
 * file. A slot is claimed with an atomic compare-and-swap and its name written before it is marked
 * live, so the signal handler (which only reads names and calls unlink(), both async-signal-safe)
 * never sees a half-written name. With more than MAX_SLOTS files open at once the extra ones are
 * simply not cleaned on a signal; the requested names stay untorn either way.
 */
#include "traces/outfile.h"
#include "sim/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SLOTS 64
#define SLOT_PATH 4096

enum { SLOT_FREE, SLOT_CLAIMED, SLOT_LIVE };
static atomic_int slot_state[MAX_SLOTS];
static char slot_path[MAX_SLOTS][SLOT_PATH];

static int slot_claim(const char *tmp)
{
	if (strlen(tmp) >= SLOT_PATH)
		return -1;
	for (int i = 0; i < MAX_SLOTS; i++) {
		int expect = SLOT_FREE;
		if (atomic_compare_exchange_strong(&slot_state[i], &expect, SLOT_CLAIMED)) {
			strcpy(slot_path[i], tmp);
			atomic_store(&slot_state[i], SLOT_LIVE);
			return i;
		}
	}
	return -1;
}

static void slot_release(int i)
{
	if (i >= 0)
		atomic_store(&slot_state[i], SLOT_FREE);
}

static void on_signal(int sig)
{
	for (int i = 0; i < MAX_SLOTS; i++)
		if (atomic_load(&slot_state[i]) == SLOT_LIVE)
			unlink(slot_path[i]);
	signal(sig, SIG_DFL);
	raise(sig);
}

void outfile_install_signal_cleanup(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		struct sigaction old;
		/* Leave a signal alone if the parent made us ignore it (nohup, ...). */
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}

static mode_t file_mode;
static pthread_once_t mode_once = PTHREAD_ONCE_INIT;
static void read_umask(void)
{
	mode_t m = umask(0);
	umask(m);
	file_mode = 0666 & ~m;
}

int outfile_is_gz(const char *path)
{
	size_t n = strlen(path);
	return n > 3 && strcmp(path + n - 3, ".gz") == 0;
}

static void release(outfile *f)
{
	slot_release(f->slot);
	asim_free(f->path);
	asim_free(f->tmp);
	memset(f, 0, sizeof *f);
	f->slot = -1;
}

int outfile_open(outfile *f, const char *path, asim_err *e)
{
	memset(f, 0, sizeof *f);
	f->slot = -1;
	if (path == NULL || path[0] == '\0')
		return asim_errorf(e, ASIM_EUSAGE, "empty output file name");
	f->path = asim_strdup(path);
	if (f->path == NULL)
		return asim_errorf(e, ASIM_ENOMEM, "%s: out of memory", path);
	if (strcmp(path, "-") == 0) {
		f->fp = stdout;
		return ASIM_OK;
	}
	pthread_once(&mode_once, read_umask);

	const char *slash = strrchr(path, '/');
	size_t dirlen = slash ? (size_t)(slash - path + 1) : 0;
	const char *base = path + dirlen;
	size_t n = strlen(path) + 16;
	f->tmp = asim_malloc(n);
	if (f->tmp == NULL) {
		release(f);
		return asim_errorf(e, ASIM_ENOMEM, "%s: out of memory", path);
	}
	snprintf(f->tmp, n, "%.*s.%s.tmp-XXXXXX", (int)dirlen, path, base);
	/* No cleanup signal between creating the file and registering it, or an interrupt in that
	 * window would leave the temporary behind. */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	int fd = mkstemp(f->tmp);
	if (fd >= 0)
		f->slot = slot_claim(f->tmp);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (fd < 0) {
		int err = errno;
		asim_free(f->tmp);
		f->tmp = NULL;
		release(f);
		return asim_errorf(e, ASIM_EIO, "%s: cannot create output file: %s", path, strerror(err));
	}
	(void)fchmod(fd, file_mode);
	if (outfile_is_gz(path)) {
		f->gz = gzdopen(fd, "wb6");
		if (f->gz != NULL)
			gzbuffer(f->gz, 128 * 1024);
	} else {
		f->fp = fdopen(fd, "wb");
	}
	if (f->gz == NULL && f->fp == NULL) {
		close(fd);
		unlink(f->tmp);
		release(f);
		return asim_errorf(e, ASIM_ENOMEM, "%s: cannot set up the output stream", path);
	}
	return ASIM_OK;
}

int outfile_set_gz_level(outfile *f, int level)
{
	if (f->gz == NULL)
		return ASIM_OK;
	return gzsetparams(f->gz, level, Z_DEFAULT_STRATEGY) == Z_OK ? ASIM_OK : ASIM_EIO;
}

int outfile_write(outfile *f, const void *buf, size_t n)
{
	if (f->err != 0 || n == 0)
		return f->err ? ASIM_EIO : ASIM_OK;
	if (f->gz != NULL) {
		const char *p = buf;
		while (n > 0) {
			unsigned chunk = n > (1u << 30) ? (1u << 30) : (unsigned)n;
			if (gzwrite(f->gz, p, chunk) != (int)chunk) {
				int zerr;
				gzerror(f->gz, &zerr);
				f->err = (zerr == Z_ERRNO && errno) ? errno : EIO;
				return ASIM_EIO;
			}
			p += chunk;
			n -= chunk;
		}
		return ASIM_OK;
	}
	if (fwrite(buf, 1, n, f->fp) != n) {
		f->err = errno ? errno : EIO;
		return ASIM_EIO;
	}
	return ASIM_OK;
}

int outfile_puts(outfile *f, const char *s)
{
	return outfile_write(f, s, strlen(s));
}

int outfile_printf(outfile *f, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0) {
		f->err = EINVAL;
		return ASIM_EIO;
	}
	if ((size_t)n < sizeof small)
		return outfile_write(f, small, (size_t)n);
	char *big = asim_malloc((size_t)n + 1);
	if (big == NULL) {
		f->err = ENOMEM;
		return ASIM_ENOMEM;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	int rc = outfile_write(f, big, (size_t)n);
	asim_free(big);
	return rc;
}

int outfile_commit(outfile *f, asim_err *e)
{
	int err = f->err;
	if (f->tmp == NULL) {  /* standard output */
		if (f->fp != NULL && fflush(f->fp) != 0 && err == 0)
			err = errno ? errno : EIO;
		f->fp = NULL;
		char *path = f->path;
		f->path = NULL;
		release(f);
		asim_free(path);
		if (err != 0)
			return asim_errorf(e, ASIM_EIO, "standard output: write failed: %s", strerror(err));
		return ASIM_OK;
	}
	if (f->gz != NULL) {
		int rc = gzclose(f->gz);
		if (rc != Z_OK && err == 0)
			err = rc == Z_ERRNO && errno ? errno : EIO;
	} else if (f->fp != NULL) {
		if (fflush(f->fp) != 0 && err == 0)
			err = errno ? errno : EIO;
		if (fclose(f->fp) != 0 && err == 0)
			err = errno ? errno : EIO;
	}
	f->gz = NULL;
	f->fp = NULL;
	if (err == 0 && rename(f->tmp, f->path) != 0)
		err = errno ? errno : EIO;
	int rc = ASIM_OK;
	if (err != 0) {
		unlink(f->tmp);
		rc = asim_errorf(e, ASIM_EIO, "%s: cannot write output file: %s", f->path, strerror(err));
	}
	release(f);
	return rc;
}

void outfile_abort(outfile *f)
{
	if (f->path == NULL && f->tmp == NULL)
		return;
	if (f->gz != NULL)
		gzclose(f->gz);
	else if (f->fp != NULL && f->tmp != NULL)
		fclose(f->fp);
	else if (f->fp != NULL)
		fflush(f->fp);
	f->gz = NULL;
	f->fp = NULL;
	if (f->tmp != NULL)
		unlink(f->tmp);
	release(f);
}
