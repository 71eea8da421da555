/*
 * cmd_estimator.c -- `accelsim estimator`: per-op latency estimators (docs/estimators.md).
 *
 *   dataset   graphs ─ full-graph simulation ─► per-op CSV (the `--ops` columns the fit reads)
 *   fit       per-op CSV[.gz]... ─ est_fit ─► MODEL (versioned text, checksummed)
 *   predict   GRAPH.yaml + MODEL ─► per-op contributions, total, ops outside the training range
 *   validate  graphs ─ full simulation vs estimator vs two baselines (lookup table of isolated
 *             per-op simulations; FLOPs × the scale fitted on the training graphs) ─► metrics, CSV
 *
 * Metrics (relative error r = (predicted − simulated) / simulated, per graph): MAPE = mean |r|,
 * RMSPE = sqrt(mean r²), within ±5 % / ±10 % = share with |r| ≤ 0.05 / 0.10, Kendall τ-b and
 * Spearman ρ (average ranks for ties) between predicted and simulated latencies.
 */
#include "config.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "est/est.h"
#include "sim/alloc.h"
#include "sim/chip.h"
#include "sim/cli.h"
#include "sim/graph.h"
#include "traces/outfile.h"

const char cmd_estimator_usage[] =
"usage: accelsim estimator dataset (GRAPH.yaml... | --population DIR) -o DATA.csv[.gz] [--chip CHIP]\n"
"       accelsim estimator fit DATA.csv[.gz]... -o MODEL [--seed S]\n"
"       accelsim estimator predict GRAPH.yaml --model MODEL [--chip CHIP]\n"
"       accelsim estimator validate --model MODEL [--chip CHIP] (GRAPH.yaml... | --population DIR)\n"
"                                   [-o RESULTS.csv]\n"
"\n"
"Fit, apply and validate per-operator latency estimators (docs/estimators.md).\n"
"\n"
"  dataset   simulate each graph in full and write its per-op rows (the columns of\n"
"            `accelsim run --ops` that the fit reads): the training data, in context\n"
"  fit       one ridge regression per op kind on hardware-aware features of the rows; the\n"
"            target is each op's contribution to the graph latency (end minus the previous end)\n"
"  predict   per-op predictions and the graph total; ops outside the training range are marked\n"
"  validate  full simulation of every graph against the estimator and two baselines (lookup\n"
"            table of isolated per-op simulations; latency = a x FLOPs fitted on the training set)\n"
"\n"
"  --chip CHIP        a shipped chip name or a chip YAML file (predict, validate: default the\n"
"                     model's chip; dataset: default trn1)\n"
"  --population DIR   every *.yaml file of DIR, in name order (e.g. `accelsim nas sample` output)\n"
"  --seed S           seed of the cross-validation folds (default 1)\n"
"\n"
"Exit status: 0 ok, 2 bad input or usage (a model file of another format version or corrupted\n"
"included), 1 other failure.\n";

static const char *cmd = "estimator";

/* ---- graph lists ------------------------------------------------------------------------- */

typedef struct strlist {
	char **s;
	size_t n, cap;
} strlist;

static int sl_push(strlist *l, const char *s)
{
	if (asim_grow((void **)&l->s, &l->cap, l->n + 1, sizeof *l->s))
		return ASIM_ENOMEM;
	if ((l->s[l->n] = asim_strdup(s)) == NULL)
		return ASIM_ENOMEM;
	l->n++;
	return 0;
}
static void sl_free(strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		asim_free(l->s[i]);
	asim_free(l->s);
	memset(l, 0, sizeof *l);
}
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int list_population(strlist *l, const char *dir, asim_err *e)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return asim_errorf(e, ASIM_ENOENT, "%s: cannot open directory", dir);
	struct dirent *de;
	size_t first = l->n;
	int rc = 0;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		if (n > 5 && strcmp(de->d_name + n - 5, ".yaml") == 0 && de->d_name[0] != '.') {
			char *p = asim_malloc(strlen(dir) + n + 2);
			if (p == NULL) {
				rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
				break;
			}
			sprintf(p, "%s/%s", dir, de->d_name);
			if (sl_push(l, p))
				rc = asim_errorf(e, ASIM_ENOMEM, "out of memory");
			asim_free(p);
		}
	}
	closedir(d);
	if (rc == 0 && l->n == first)
		rc = asim_errorf(e, ASIM_ENOENT, "%s: no .yaml files", dir);
	if (rc == 0)
		qsort(l->s + first, l->n - first, sizeof *l->s, cmp_str);
	return rc;
}

typedef struct opts {
	strlist pos;           /* positional arguments */
	const char *out, *model, *chip, *population;
	uint64_t seed;
} opts;

static int parse(int argc, char **argv, opts *o, const char *allowed)
{
	memset(o, 0, sizeof *o);
	o->seed = 1;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(cmd_estimator_usage, stdout);
			return 1;
		}
		if (a[0] == '-' && a[1] != '\0') {
			const char *key = strcmp(a, "-o") == 0 ? "o" : strcmp(a, "--model") == 0 ? "model"
			                : strcmp(a, "--chip") == 0 ? "chip" : strcmp(a, "--population") == 0 ? "population"
			                : strcmp(a, "--seed") == 0 ? "seed" : NULL;
			char pat[32];
			snprintf(pat, sizeof pat, " %s ", key ? key : "?");
			if (key == NULL || strstr(allowed, pat) == NULL) {
				char esc[64];
				asim_escape(esc, sizeof esc, a);
				return cli_usage_error(cmd, "%s: unknown option '%s'", argv[1], esc);
			}
			if (i + 1 >= argc)
				return cli_usage_error(cmd, "%s needs a value", a);
			const char *v = argv[++i];
			if (strcmp(key, "o") == 0)
				o->out = v;
			else if (strcmp(key, "model") == 0)
				o->model = v;
			else if (strcmp(key, "chip") == 0)
				o->chip = v;
			else if (strcmp(key, "population") == 0)
				o->population = v;
			else if (cli_parse_u64(v, &o->seed) != 0)
				return cli_usage_error(cmd, "--seed needs an unsigned 64-bit integer");
		} else if (sl_push(&o->pos, a)) {
			return cli_usage_error(cmd, "out of memory");
		}
	}
	return 0;
}

static int graphs_of(opts *o, strlist *l, asim_err *e)
{
	for (size_t i = 0; i < o->pos.n; i++)
		if (sl_push(l, o->pos.s[i]))
			return asim_errorf(e, ASIM_ENOMEM, "out of memory");
	if (o->population)
		return list_population(l, o->population, e);
	return 0;
}

/* ---- dataset ----------------------------------------------------------------------------- */

static int do_dataset(opts *o)
{
	if (o->out == NULL)
		return cli_usage_error(cmd, "dataset: -o DATA.csv is required");
	if (o->pos.n == 0 && o->population == NULL)
		return cli_usage_error(cmd, "dataset: give graphs or --population DIR");
	asim_err e;
	asim_err_init(&e);
	strlist l = {0};
	chip c;
	memset(&c, 0, sizeof c);
	int have_chip = 0, rc;
	outfile f;
	memset(&f, 0, sizeof f);
	int open = 0;
	if ((rc = graphs_of(o, &l, &e)) != 0)
		goto done;
	if ((rc = o->chip ? chip_load(&c, o->chip, &e) : chip_load_default(&c, &e)) != 0)
		goto done;
	have_chip = 1;
	if ((rc = outfile_open(&f, o->out, &e)) != 0)
		goto done;
	open = 1;
	outfile_puts(&f, "chip,graph,graph_hash,op_index,op_name,op_type,fused_activation,fusion_group,batch,m,"
	                 "n,k,h,w,c_in,c_out,h_out,w_out,kh,kw,stride_h,stride_w,groups,elems_out,macs,flops,"
	                 "weight_bytes,activation_in_bytes,activation_out_bytes,end_ns\n");
	for (size_t gi = 0; gi < l.n; gi++) {
		graph g;
		if ((rc = graph_load_file(&g, l.s[gi], &e)) != 0)
			goto done;
		est_data d;
		est_data_init(&d);
		rc = est_data_add_graph(&d, &g, &c, &e);
		for (size_t i = 0; rc == 0 && i < d.n; i++) {
			const est_op *op = &d.ops[i];
			const graph_op *gop = &g.ops[i];
			outfile_printf(&f, "%s,%s,%s,%zu,%s,%s,%s,%s", c.name, g.name, g.hash, i, gop->name, op->type,
			               op->act, gop->group >= 0 ? g.groups[gop->group] : "");
			const double v[] = {op->batch, op->m, op->n, op->k, op->h, op->w, op->c_in, op->c_out,
			                    op->h_out, op->w_out, op->kh, op->kw, op->stride_h, op->stride_w,
			                    op->groups, op->elems_out, op->macs, op->flops, op->weight_bytes,
			                    op->act_in_bytes, op->act_out_bytes};
			for (size_t j = 0; j < sizeof v / sizeof v[0]; j++) {
				if (v[j] == 0 && j < 15)
					outfile_puts(&f, ",");
				else
					outfile_printf(&f, ",%.0f", v[j]);
			}
			if (isnan(op->end_ns))
				outfile_puts(&f, ",\n");
			else
				outfile_printf(&f, ",%.3f\n", op->end_ns);
		}
		est_data_fini(&d);
		graph_fini(&g);
		if (rc)
			goto done;
	}
	open = 0;
	rc = outfile_commit(&f, &e);
done:
	if (open)
		outfile_abort(&f);
	if (have_chip)
		chip_fini(&c);
	sl_free(&l);
	return rc ? cli_report(cmd, &e) : 0;
}

/* ---- fit --------------------------------------------------------------------------------- */

static int do_fit(opts *o)
{
	if (o->out == NULL)
		return cli_usage_error(cmd, "fit: -o MODEL is required");
	if (o->pos.n == 0)
		return cli_usage_error(cmd, "fit: give at least one DATA.csv[.gz]");
	asim_err e;
	asim_err_init(&e);
	est_data d;
	est_data_init(&d);
	est_model m;
	memset(&m, 0, sizeof m);
	chip c;
	memset(&c, 0, sizeof c);
	int have_chip = 0, rc = 0;
	for (size_t i = 0; rc == 0 && i < o->pos.n; i++)
		rc = est_data_read_csv(&d, o->pos.s[i], &e);
	if (rc)
		goto done;
	if (d.n == 0) {
		rc = asim_errorf(&e, ASIM_ESCHEMA, "fit: the data files hold no rows");
		goto done;
	}
	if ((rc = chip_load(&c, d.chip, &e)) != 0)
		goto done;
	have_chip = 1;
	if ((rc = est_fit(&d, &c, o->seed, &m, &e)) != 0)
		goto done;
	rc = est_model_write(&m, o->out, &e);
	if (rc == 0)
		printf("fitted %zu kinds on %zu rows of %zu graphs (chip %s): %s\n", m.n_kinds - 1, d.n, d.n_graphs,
		       c.name, o->out);
done:
	est_model_fini(&m);
	est_data_fini(&d);
	if (have_chip)
		chip_fini(&c);
	return rc ? cli_report(cmd, &e) : 0;
}

static int load_model_chip(opts *o, est_model *m, chip *c, asim_err *e)
{
	int rc = est_model_read(m, o->model, e);
	if (rc)
		return rc;
	rc = chip_load(c, o->chip ? o->chip : m->chip, e);
	if (rc) {
		est_model_fini(m);
		return rc;
	}
	if (strcmp(c->hash, m->chip_hash) != 0)
		fprintf(stderr, "accelsim estimator: warning: the model was fitted on chip '%s' (%s), predicting "
		        "for '%s' (%s): its features carry the chip, its coefficients do not\n",
		        m->chip, m->chip_hash, c->name, c->hash);
	return 0;
}

/* ---- predict ----------------------------------------------------------------------------- */

static int do_predict(opts *o)
{
	if (o->model == NULL)
		return cli_usage_error(cmd, "predict: --model MODEL is required");
	if (o->pos.n != 1)
		return cli_usage_error(cmd, "predict: give one GRAPH.yaml");
	asim_err e;
	asim_err_init(&e);
	est_model m;
	chip c;
	graph g;
	int rc = load_model_chip(o, &m, &c, &e);
	if (rc)
		return cli_report(cmd, &e);
	if ((rc = graph_load_file(&g, o->pos.s[0], &e)) != 0) {
		est_model_fini(&m);
		chip_fini(&c);
		return cli_report(cmd, &e);
	}
	size_t n = g.n_ops ? g.n_ops : 1;
	est_op *ops = asim_calloc(n, sizeof *ops);
	double *pred = asim_calloc(n, sizeof *pred);
	unsigned char *oor = asim_calloc(n, 1);
	if (!ops || !pred || !oor) {
		rc = asim_errorf(&e, ASIM_ENOMEM, "out of memory");
	} else {
		double total = est_predict_graph(&m, &c, &g, ops, pred, oor);
		size_t nout = 0;
		printf("# accelsim estimator predict: graph '%s' on chip '%s', model %s\n", g.name, c.name, o->model);
		printf("op_index,op_name,kind,predicted_ns,outside_training_range\n");
		for (size_t i = 0; i < g.n_ops; i++) {
			printf("%zu,%s,%s,%.3f,%s\n", i, g.ops[i].name, ops[i].kind, pred[i], oor[i] ? "yes" : "no");
			nout += oor[i];
		}
		printf("# total %.3f ns; %zu of %zu ops outside the training range\n", total, nout, g.n_ops);
	}
	asim_free(ops);
	asim_free(pred);
	asim_free(oor);
	graph_fini(&g);
	est_model_fini(&m);
	chip_fini(&c);
	return rc ? cli_report(cmd, &e) : 0;
}

/* ---- validate ---------------------------------------------------------------------------- */

/* The lookup table: isolated per-op latency by op signature (open addressing). */
typedef struct lut_ent {
	char *key;
	double ns;
} lut_ent;
typedef struct lut {
	lut_ent *t;
	size_t cap, n;
} lut;

static uint64_t hstr(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static lut_ent *lut_find(lut *L, const char *key, int *found)
{
	if (L->n * 2 >= L->cap) {
		size_t nc = L->cap ? L->cap * 2 : 1024;
		lut_ent *nt = asim_calloc(nc, sizeof *nt);
		if (nt == NULL)
			return NULL;
		for (size_t i = 0; i < L->cap; i++)
			if (L->t[i].key) {
				size_t j = hstr(L->t[i].key) & (nc - 1);
				while (nt[j].key)
					j = (j + 1) & (nc - 1);
				nt[j] = L->t[i];
			}
		asim_free(L->t);
		L->t = nt;
		L->cap = nc;
	}
	size_t j = hstr(key) & (L->cap - 1);
	while (L->t[j].key && strcmp(L->t[j].key, key) != 0)
		j = (j + 1) & (L->cap - 1);
	*found = L->t[j].key != NULL;
	return &L->t[j];
}

static void lut_free(lut *L)
{
	for (size_t i = 0; i < L->cap; i++)
		asim_free(L->t[i].key);
	asim_free(L->t);
}

static void op_signature(const graph *g, const graph_op *op, char *buf, size_t n)
{
	const graph_attrs *a = &op->a;
	int k = snprintf(buf, n, "%d|%d|%u%u|%u,%u|%u,%u|%u,%u|%u,%u,%u,%u|%u|%d|%d", (int)op->type,
	                 (int)a->activation, a->transpose_a, a->transpose_b, a->kernel[0], a->kernel[1],
	                 a->stride[0], a->stride[1], a->dilation[0], a->dilation[1], a->pad[0], a->pad[1],
	                 a->pad[2], a->pad[3], a->groups, a->axis, op->num.dtype);
	for (uint32_t i = 0; i < op->n_in + op->n_out && k > 0 && (size_t)k < n; i++) {
		const graph_tensor *t = &g->tensors[i < op->n_in ? op->in[i] : op->out[i - op->n_in]];
		k += snprintf(buf + k, n - (size_t)k, "|%d:%d:", (int)t->dtype, t->kind == GRAPH_WEIGHT);
		for (uint32_t d = 0; d < t->rank && (size_t)k < n; d++)
			k += snprintf(buf + k, n - (size_t)k, "%llux", (unsigned long long)t->shape[d]);
	}
}

typedef struct metrics {
	double within5, within10, mape, rmspe, tau, rho;
} metrics;

static void ranks(const double *v, size_t n, double *r, size_t *ix)
{
	for (size_t i = 0; i < n; i++)
		ix[i] = i;
	/* insertion sort is O(n^2); n is at most a few thousand graphs: use a simple merge-free
	 * shell sort on indices by value, ties by index (deterministic) */
	for (size_t gap = n / 2; gap > 0; gap /= 2)
		for (size_t i = gap; i < n; i++) {
			size_t t = ix[i], j = i;
			while (j >= gap && (v[ix[j - gap]] > v[t] || (v[ix[j - gap]] == v[t] && ix[j - gap] > t))) {
				ix[j] = ix[j - gap];
				j -= gap;
			}
			ix[j] = t;
		}
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && v[ix[j + 1]] == v[ix[i]])
			j++;
		double avg = (double)(i + j) / 2 + 1;
		for (size_t k = i; k <= j; k++)
			r[ix[k]] = avg;
		i = j + 1;
	}
}

static int metrics_of(const double *sim, const double *pred, size_t n, metrics *M)
{
	memset(M, 0, sizeof *M);
	if (n == 0)
		return 0;
	double s1 = 0, s2 = 0, w5 = 0, w10 = 0;
	for (size_t i = 0; i < n; i++) {
		double r = (pred[i] - sim[i]) / sim[i];
		s1 += fabs(r);
		s2 += r * r;
		w5 += fabs(r) <= 0.05;
		w10 += fabs(r) <= 0.10;
	}
	M->mape = 100 * s1 / (double)n;
	M->rmspe = 100 * sqrt(s2 / (double)n);
	M->within5 = 100 * w5 / (double)n;
	M->within10 = 100 * w10 / (double)n;
	/* Kendall tau-b */
	double nc = 0, nd = 0, tx = 0, ty = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			double a = sim[i] - sim[j], b = pred[i] - pred[j];
			if (a == 0 && b == 0)
				continue;
			if (a == 0)
				tx++;
			else if (b == 0)
				ty++;
			else if ((a > 0) == (b > 0))
				nc++;
			else
				nd++;
		}
	double den = sqrt((nc + nd + tx) * (nc + nd + ty));
	M->tau = den > 0 ? (nc - nd) / den : 0;
	double *ra = asim_calloc(n, sizeof *ra), *rb = asim_calloc(n, sizeof *rb);
	size_t *ix = asim_calloc(n, sizeof *ix);
	if (!ra || !rb || !ix) {
		asim_free(ra);
		asim_free(rb);
		asim_free(ix);
		return ASIM_ENOMEM;
	}
	ranks(sim, n, ra, ix);
	ranks(pred, n, rb, ix);
	double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
	for (size_t i = 0; i < n; i++) {
		ma += ra[i];
		mb += rb[i];
	}
	ma /= (double)n;
	mb /= (double)n;
	for (size_t i = 0; i < n; i++) {
		sab += (ra[i] - ma) * (rb[i] - mb);
		saa += (ra[i] - ma) * (ra[i] - ma);
		sbb += (rb[i] - mb) * (rb[i] - mb);
	}
	M->rho = saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : 0;
	asim_free(ra);
	asim_free(rb);
	asim_free(ix);
	return 0;
}

static int do_validate(opts *o)
{
	if (o->model == NULL)
		return cli_usage_error(cmd, "validate: --model MODEL is required");
	if (o->pos.n == 0 && o->population == NULL)
		return cli_usage_error(cmd, "validate: give graphs or --population DIR");
	asim_err e;
	asim_err_init(&e);
	est_model m;
	chip c;
	int rc = load_model_chip(o, &m, &c, &e);
	if (rc)
		return cli_report(cmd, &e);
	strlist l = {0};
	lut L = {0};
	double *sim = NULL, *est = NULL, *lt = NULL, *fl = NULL;
	size_t *nops = NULL, *noor = NULL;
	char **names = NULL;
	outfile f;
	int open = 0;
	if ((rc = graphs_of(o, &l, &e)) != 0)
		goto done;
	sim = asim_calloc(l.n, sizeof *sim);
	est = asim_calloc(l.n, sizeof *est);
	lt = asim_calloc(l.n, sizeof *lt);
	fl = asim_calloc(l.n, sizeof *fl);
	nops = asim_calloc(l.n, sizeof *nops);
	noor = asim_calloc(l.n, sizeof *noor);
	names = asim_calloc(l.n, sizeof *names);
	if (!sim || !est || !lt || !fl || !nops || !noor || !names) {
		rc = asim_errorf(&e, ASIM_ENOMEM, "out of memory");
		goto done;
	}
	for (size_t gi = 0; gi < l.n; gi++) {
		graph g;
		if ((rc = graph_load_file(&g, l.s[gi], &e)) != 0)
			goto done;
		names[gi] = asim_strdup(g.name);
		size_t n = g.n_ops ? g.n_ops : 1;
		double *pred = asim_calloc(n, sizeof *pred);
		unsigned char *oor = asim_calloc(n, 1);
		if (!pred || !oor || !names[gi])
			rc = asim_errorf(&e, ASIM_ENOMEM, "out of memory");
		if (rc == 0)
			rc = est_simulate(&g, &c, &sim[gi], NULL, &e);
		if (rc == 0) {
			est[gi] = est_predict_graph(&m, &c, &g, NULL, pred, oor);
			for (size_t i = 0; i < g.n_ops; i++)
				noor[gi] += oor[i];
			nops[gi] = g.n_ops;
			fl[gi] = m.flops_ns * (double)g.total_flops;
		}
		for (size_t i = 0; rc == 0 && i < g.n_ops; i++) {
			char key[1024];
			op_signature(&g, &g.ops[i], key, sizeof key);
			int found;
			lut_ent *ent = lut_find(&L, key, &found);
			if (ent == NULL) {
				rc = asim_errorf(&e, ASIM_ENOMEM, "out of memory");
				break;
			}
			if (!found) {
				double ns;
				if ((rc = est_simulate_isolated(&g, i, &c, &ns, &e)) != 0)
					break;
				if ((ent->key = asim_strdup(key)) == NULL) {
					rc = asim_errorf(&e, ASIM_ENOMEM, "out of memory");
					break;
				}
				ent->ns = ns;
				L.n++;
			}
			lt[gi] += ent->ns;
		}
		asim_free(pred);
		asim_free(oor);
		graph_fini(&g);
		if (rc)
			goto done;
		if (!(sim[gi] > 0)) {
			rc = asim_errorf(&e, ASIM_ESCHEMA, "%s: simulated latency is 0: nothing to validate", l.s[gi]);
			goto done;
		}
	}
	metrics M[3];
	const double *preds[3] = {est, lt, fl};
	for (int k = 0; k < 3; k++)
		if (metrics_of(sim, preds[k], l.n, &M[k]) != 0) {
			rc = asim_errorf(&e, ASIM_ENOMEM, "out of memory");
			goto done;
		}
	printf("# accelsim estimator validate: %zu graphs on chip '%s', model %s\n", l.n, c.name, o->model);
	printf("%-14s %12s %14s %12s\n", "metric", "estimator", "lookup_table", "flops");
	printf("%-14s %12.2f %14.2f %12.2f\n", "within_5_pct", M[0].within5, M[1].within5, M[2].within5);
	printf("%-14s %12.2f %14.2f %12.2f\n", "within_10_pct", M[0].within10, M[1].within10, M[2].within10);
	printf("%-14s %12.3f %14.3f %12.3f\n", "mape_pct", M[0].mape, M[1].mape, M[2].mape);
	printf("%-14s %12.3f %14.3f %12.3f\n", "rmspe_pct", M[0].rmspe, M[1].rmspe, M[2].rmspe);
	printf("%-14s %12.6f %14.6f %12.6f\n", "kendall_tau", M[0].tau, M[1].tau, M[2].tau);
	printf("%-14s %12.6f %14.6f %12.6f\n", "spearman_rho", M[0].rho, M[1].rho, M[2].rho);
	size_t any = 0;
	for (size_t gi = 0; gi < l.n; gi++)
		any += noor[gi] > 0;
	printf("# %zu of %zu graphs have ops outside the training range; %zu distinct ops simulated in "
	       "isolation for the lookup table\n", any, l.n, L.n);
	if (o->out) {
		if ((rc = outfile_open(&f, o->out, &e)) != 0)
			goto done;
		open = 1;
		outfile_puts(&f, "file,graph,ops,ops_outside_range,sim_ns,estimator_ns,estimator_err_pct,"
		                 "lookup_table_ns,lookup_table_err_pct,flops_ns,flops_err_pct\n");
		for (size_t gi = 0; gi < l.n; gi++)
			outfile_printf(&f, "%s,%s,%zu,%zu,%.3f,%.3f,%.4f,%.3f,%.4f,%.3f,%.4f\n", l.s[gi], names[gi],
			               nops[gi], noor[gi], sim[gi], est[gi], 100 * (est[gi] - sim[gi]) / sim[gi], lt[gi],
			               100 * (lt[gi] - sim[gi]) / sim[gi], fl[gi], 100 * (fl[gi] - sim[gi]) / sim[gi]);
		open = 0;
		rc = outfile_commit(&f, &e);
	}
done:
	if (open)
		outfile_abort(&f);
	if (names)
		for (size_t i = 0; i < l.n; i++)
			asim_free(names[i]);
	asim_free(names);
	asim_free(sim);
	asim_free(est);
	asim_free(lt);
	asim_free(fl);
	asim_free(nops);
	asim_free(noor);
	lut_free(&L);
	sl_free(&l);
	est_model_fini(&m);
	chip_fini(&c);
	return rc ? cli_report(cmd, &e) : 0;
}

int cmd_estimator(int argc, char **argv)
{
	if (argc < 2 || cli_wants_help(argc, argv)) {
		fputs(cmd_estimator_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *sub = argv[1];
	static const struct {
		const char *name, *opts;
		int (*fn)(opts *);
	} subs[] = {
		{"dataset", " o chip population ", do_dataset},
		{"fit", " o seed ", do_fit},
		{"predict", " model chip ", do_predict},
		{"validate", " model chip population o ", do_validate},
	};
	for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
		if (strcmp(sub, subs[i].name) == 0) {
			opts o;
			int rc = parse(argc, argv, &o, subs[i].opts);
			if (rc == 0)
				rc = subs[i].fn(&o);
			else if (rc == 1)
				rc = 0;
			sl_free(&o.pos);
			return rc;
		}
	char esc[64];
	asim_escape(esc, sizeof esc, sub);
	return cli_usage_error(cmd, "unknown subcommand '%s' (dataset, fit, predict, validate)", esc);
}
