/*
 * engine_int.h -- internals of sim/engine shared between its files (not part of the API).
 *
 *     engine.c      engine_run: the optimised loop (compact per-instruction state, indexed heap)
 *     engine_ref.c  engine_run_reference: the straightforward loop it must match exactly
 *
 * Both take the same arguments and give the same results: the same engine_result, the same
 * sequence of sink calls with the same records (tests/test_engine_stream.c). The reference is
 * for tests and for `ASIM_ENGINE=reference`-style debugging; nothing else calls it.
 */
#ifndef ASIM_ENGINE_INT_H
#define ASIM_ENGINE_INT_H

#include "sim/engine.h"

int engine_run_reference(const chip *c, const isa_program *p, const event_sink *sink,
                         engine_result *r /* OUT */, asim_err *e);

#endif
