/*
 * perfetto.c -- Chrome trace-event JSON writer (see perfetto.h).
 */
#include "traces/perfetto.h"

void perfetto_begin(perfetto *p, outfile *f, const textfmt_time *tf, const char *other)
{
	textfmt_init(&p->w, f);
	p->tf = *tf;
	p->events = 0;
	textfmt_puts(&p->w, "{\"displayTimeUnit\":\"ns\",\"otherData\":");
	textfmt_puts(&p->w, other ? other : "{}");
	textfmt_puts(&p->w, ",\"traceEvents\":[");
}

void perfetto_open(perfetto *p, char ph, uint32_t pid, int64_t tid)
{
	textfmt_puts(&p->w, p->events++ ? ",\n{\"ph\":\"" : "\n{\"ph\":\"");
	textfmt_putc(&p->w, ph);
	textfmt_puts(&p->w, "\",\"pid\":");
	textfmt_u64(&p->w, pid);
	if (tid >= 0) {
		textfmt_puts(&p->w, ",\"tid\":");
		textfmt_u64(&p->w, (uint64_t)tid);
	}
}

void perfetto_close(perfetto *p) { textfmt_putc(&p->w, '}'); }

void perfetto_ts(perfetto *p, uint64_t ts, int64_t dur)
{
	textfmt_puts(&p->w, ",\"ts\":");
	textfmt_us(&p->w, &p->tf, ts);
	if (dur >= 0) {
		textfmt_puts(&p->w, ",\"dur\":");
		textfmt_us(&p->w, &p->tf, (uint64_t)dur);
	}
}

void perfetto_process_name(perfetto *p, uint32_t pid, const char *name)
{
	perfetto_open(p, 'M', pid, -1);
	textfmt_puts(&p->w, ",\"name\":\"process_name\",\"args\":{\"name\":");
	textfmt_json_str(&p->w, name);
	textfmt_puts(&p->w, "}}");
	perfetto_open(p, 'M', pid, -1);
	textfmt_puts(&p->w, ",\"name\":\"process_sort_index\",\"args\":{\"sort_index\":");
	textfmt_u64(&p->w, pid);
	textfmt_puts(&p->w, "}}");
}

void perfetto_thread_name(perfetto *p, uint32_t pid, uint32_t tid, const char *name, int sort)
{
	perfetto_open(p, 'M', pid, tid);
	textfmt_puts(&p->w, ",\"name\":\"thread_name\",\"args\":{\"name\":");
	textfmt_json_str(&p->w, name);
	textfmt_puts(&p->w, "}}");
	perfetto_open(p, 'M', pid, tid);
	textfmt_puts(&p->w, ",\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":");
	textfmt_u64(&p->w, (uint64_t)(sort < 0 ? 0 : sort));
	textfmt_puts(&p->w, "}}");
}

void perfetto_counter(perfetto *p, uint32_t pid, const char *name, uint64_t ts, double value,
                      int decimals)
{
	perfetto_open(p, 'C', pid, -1);
	perfetto_ts(p, ts, -1);
	textfmt_puts(&p->w, ",\"name\":");
	textfmt_json_str(&p->w, name);
	textfmt_puts(&p->w, ",\"args\":{");
	textfmt_json_str(&p->w, name);
	textfmt_putc(&p->w, ':');
	textfmt_f(&p->w, value, decimals);
	textfmt_puts(&p->w, "}}");
}

void perfetto_end(perfetto *p)
{
	textfmt_puts(&p->w, "\n]}\n");
	textfmt_flush(&p->w);
}
