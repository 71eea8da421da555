/*
 * error.h -- status codes and the caller-owned error context.
 *
 * Every fallible function returns an int: 0 (ASIM_OK) on success, a negative ASIM_E* code on
 * failure (the codes come from the one table in error.def). A function that can fail on user
 * input also takes an `asim_err *` owned by the caller, into which it writes one line of text:
 *
 *     models/graphs/mlp.yaml:12:7: unknown key 'dtyp' in tensor 'x' (did you mean 'dtype'?)
 *
 * i.e. `file:line:column: message`, with 1-based line and column as libyaml's marks give them
 * (plus one), no trailing newline, and never a control character (bytes from the user's input are
 * escaped). The first error written wins: later calls on an already-set context keep the original
 * message, so the innermost, most precise report survives as the error travels outwards.
 *
 * User errors are not bugs: they travel as codes and messages. A broken internal invariant is a
 * bug: ASIM_ASSERT() reports the source file and line and aborts, in every build.
 */
#ifndef ASIM_ERROR_H
#define ASIM_ERROR_H

#include <stddef.h>

enum asim_status {
	ASIM_OK = 0,
#define ASIM_ERROR(name, code, exit_status, msg) ASIM_E##name = (code),
#include "sim/error.def"
#undef ASIM_ERROR
};

#define ASIM_ERR_MSG_MAX 1024

typedef struct asim_err {
	int code;                    /* 0 while no error has been recorded */
	char msg[ASIM_ERR_MSG_MAX];  /* one line, NUL-terminated */
} asim_err;

/* Names and messages from the table; unknown codes give "EUNKNOWN" / "unknown error". */
const char *asim_errname(int code);
const char *asim_strerror(int code);
/* The process exit status for a failure with this code: 0 for ASIM_OK, else 1 or 2. */
int asim_exit_status(int code);

void asim_err_init(asim_err *e);
void asim_err_clear(asim_err *e);

/* Record an error with a position; line and col are 1-based (0 leaves them out). `file` may be
 * NULL. Returns `code`, so `return asim_error_at(e, ASIM_ESCHEMA, f, l, c, "...")` reads well. */
int asim_error_at(asim_err *e, int code, const char *file, unsigned long line, unsigned long col,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Record an error without a position. */
int asim_errorf(asim_err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Copy `src` into `dst` (size `n`), escaping every byte outside printable ASCII as \xHH and
 * truncating with "..." so that user-supplied text can be quoted in a one-line message. */
void asim_escape(char *dst, size_t n, const char *src);

/* The candidate closest to `word`, for "did you mean ...?" hints: one equal to it but for case if
 * there is one, else the nearest by edit distance (insert, delete, substitute, or swap two
 * neighbours, each one edit); NULL when none is close (distance > max(2, strlen(word)/3)). The
 * first of equally close candidates wins. `cands` holds `n` strings. */
const char *asim_suggest(const char *word, const char *const *cands, size_t n);

/* Abort with file and line: for broken invariants only, never for user input. */
void asim_panic(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));
#define ASIM_ASSERT(cond) \
	((cond) ? (void)0 : asim_panic(__FILE__, __LINE__, "assertion failed: %s", #cond))

#endif
