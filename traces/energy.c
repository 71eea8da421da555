/*
 * energy.c -- per-instruction energy from the chip's table (see energy.h).
 */
#include "traces/energy.h"

const char *const energy_names[ENERGY_COUNT] = {
#define X(name, str) str,
	ENERGY_COMPONENTS(X)
#undef X
};

double energy_inst(const chip *c, const event_inst *ev, double pj[ENERGY_COUNT])
{
	const chip_energy *t = &c->energy;
	double mac_pj = ev->dtype < ASIM_DT_COUNT ? t->mac_pj[ev->dtype] : 0.0;
	pj[ENERGY_MAC] = (double)ev->macs * mac_pj;
	pj[ENERGY_SBUF] = (double)(ev->bytes_read[ISA_MEM_SBUF] + ev->bytes_written[ISA_MEM_SBUF]) *
	                  t->sbuf_pj_per_byte;
	pj[ENERGY_PSUM] = (double)(ev->bytes_read[ISA_MEM_PSUM] + ev->bytes_written[ISA_MEM_PSUM]) *
	                  t->psum_pj_per_byte;
	pj[ENERGY_HBM] = (double)(ev->bytes_read[ISA_MEM_HBM] + ev->bytes_written[ISA_MEM_HBM]) * 8.0 *
	                 t->hbm_pj_per_bit;
	pj[ENERGY_STATIC] = 0;
	return pj[ENERGY_MAC] + pj[ENERGY_SBUF] + pj[ENERGY_PSUM] + pj[ENERGY_HBM];
}

double energy_static_pj(const chip *c, double seconds)
{
	return c->energy.static_w * seconds * 1e12;
}
