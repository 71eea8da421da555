/*
 * cli.h -- plumbing shared by the subcommands (sim/cmd_*.c): help, errors, number parsing.
 *
 * Conventions every subcommand follows (docs/cli.md):
 *   - exit status 0 on success, 2 for bad usage or bad input, 1 for any other failure;
 *   - every error is one line on stderr: `file:line:column: message` when it concerns a position in
 *     an input file, `accelsim <command>: message` otherwise;
 *   - `accelsim <command> --help` (or -h) prints the command's usage on stdout and exits 0.
 */
#ifndef ASIM_CLI_H
#define ASIM_CLI_H

#include <stdint.h>

#include "sim/error.h"

/* The subcommands, from commands.def. */
#define COMMAND(name, summary)                 \
	int cmd_##name(int argc, char **argv); \
	extern const char cmd_##name##_usage[];
#include "sim/commands.def"
#undef COMMAND

/* Print "accelsim <cmd>: <message> (try 'accelsim <cmd> --help')" on stderr; return 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print the error context's message on stderr (prefixed "accelsim <cmd>: " when the message has no
 * file position) and return the exit status for its code. */
int cli_report(const char *cmd, const asim_err *e);
/* For a subcommand not implemented yet: say so on stderr, return 1. */
int cli_not_yet(const char *cmd);
/* True when argv[1..] is exactly one of -h / --help. */
int cli_wants_help(int argc, char **argv);

/* Strict number parsing: the whole string must be the number (decimal, or 0x-hex for integers),
 * without overflow. Return 0 or ASIM_ERANGE / ASIM_ESYNTAX. */
int cli_parse_u64(const char *s, uint64_t *out /* OUT */);
int cli_parse_i64(const char *s, int64_t *out /* OUT */);
int cli_parse_double(const char *s, double *out /* OUT */);

#endif
