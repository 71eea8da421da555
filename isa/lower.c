/*
 * lower.c -- graph → program lowering (see lower.h). Placeholder until the lowering lands: it
 * refuses every graph with ASIM_ENOTYET so that the program and the engine can be built first.
 */
#include "isa/lower.h"

int lower_graph(const graph *g, const chip *c, const lower_opts *o, isa_program *p, asim_err *e)
{
	(void)g; (void)c; (void)o; (void)p;
	return asim_errorf(e, ASIM_ENOTYET, "lowering graphs to programs is not yet available");
}
