/*
 * main.c -- the `accelsim` program: subcommand dispatch.
 *
 *     accelsim <command> [options] [arguments]
 *
 * The commands come from the table in sim/commands.def; `help` and `version` are built in here.
 * Exit status: 0 ok, 2 bad usage or bad input, 1 any other failure (docs/cli.md).
 */
#include "config.h"
#include "sim/cli.h"
#include "traces/outfile.h"

#include <stdio.h>
#include <string.h>

struct command {
	const char *name;
	const char *summary;
	int (*fn)(int argc, char **argv);
	const char *usage;
};

static const struct command commands[] = {
#define COMMAND(name, summary) {#name, summary, cmd_##name, cmd_##name##_usage},
#include "sim/commands.def"
#undef COMMAND
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void print_overview(FILE *out)
{
	fprintf(out,
	        "accelsim %s -- a cycle-approximate simulator of neural accelerators\n"
	        "\n"
	        "usage: accelsim <command> [options] [arguments]\n"
	        "\n"
	        "commands:\n",
	        PACKAGE_VERSION);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out,
	        "  %-10s %s\n"
	        "  %-10s %s\n"
	        "\n"
	        "'accelsim <command> --help' describes a command; the manual is in docs/.\n"
	        "Exit status: 0 ok, 2 bad usage or bad input, 1 other failure.\n",
	        "help", "show this overview, or a command's help (accelsim help <command>)",
	        "version", "print the version");
}

static const struct command *find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int unknown_command(const char *name)
{
	const char *names[NCOMMANDS + 2];
	for (size_t i = 0; i < NCOMMANDS; i++)
		names[i] = commands[i].name;
	names[NCOMMANDS] = "help";
	names[NCOMMANDS + 1] = "version";
	char esc[128];
	asim_escape(esc, sizeof esc, name);
	const char *hint = asim_suggest(name, names, NCOMMANDS + 2);
	if (hint != NULL)
		fprintf(stderr, "accelsim: unknown command '%s' (did you mean '%s'? see 'accelsim help')\n",
		        esc, hint);
	else
		fprintf(stderr, "accelsim: unknown command '%s' (see 'accelsim help' for the list)\n", esc);
	return 2;
}

int main(int argc, char **argv)
{
	outfile_install_signal_cleanup();
	if (argc < 2) {
		print_overview(stderr);
		return 2;
	}
	const char *name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
		print_overview(stdout);
		return 0;
	}
	if (strcmp(name, "help") == 0) {
		if (argc == 2) {
			print_overview(stdout);
			return 0;
		}
		if (argc > 3) {
			fprintf(stderr, "accelsim help: takes at most one command name\n");
			return 2;
		}
		if (strcmp(argv[2], "help") == 0 || strcmp(argv[2], "version") == 0) {
			print_overview(stdout);
			return 0;
		}
		const struct command *c = find(argv[2]);
		if (c == NULL)
			return unknown_command(argv[2]);
		fputs(c->usage, stdout);
		return 0;
	}
	if (strcmp(name, "version") == 0 || strcmp(name, "--version") == 0) {
		if (argc > 2) {
			fprintf(stderr, "accelsim version: takes no arguments\n");
			return 2;
		}
		printf("accelsim %s\n", PACKAGE_VERSION);
		return 0;
	}
	const struct command *c = find(name);
	if (c == NULL)
		return unknown_command(name);
	if (cli_wants_help(argc - 1, argv + 1)) {
		fputs(c->usage, stdout);
		return 0;
	}
	int status = c->fn(argc - 1, argv + 1);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "accelsim %s: cannot write to standard output\n", name);
		return 1;
	}
	return status;
}
