/* Reading a saved /metrics scrape back (`zerohop graph --trace FILE`): Prometheus's text
 * format, line by line. Comments and families other than the hop ones are skipped; anything
 * that is not the format stops with FILE:LINE:COL, so a truncated or wrong file is named
 * rather than drawn half. */
#include "host/hops_metrics.h"

#include "wasm/error.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct cursor {
  const char *p, *line_start, *end;
  const char *file;
  size_t line;
} cursor;

static zh_error *bad(const cursor *c, const char *what) {
  return zh_error_new(ZH_ERR_MALFORMED, "%s:%zu:%zu: %s", c->file, c->line,
                      (size_t)(c->p - c->line_start) + 1, what);
}

typedef struct sample {
  char name[128];
  char caller[512], callee[512], kind[32], le[64];
  bool has_caller, has_callee, has_kind, has_le;
  double value;
} sample;

static bool name_char(char ch, bool first) {
  return isalpha((unsigned char)ch) || ch == '_' || ch == ':' ||
         (!first && isdigit((unsigned char)ch));
}

static zh_error *read_name(cursor *c, char *out, size_t cap) {
  size_t n = 0;
  if (c->p >= c->end || !name_char(*c->p, true))
    return bad(c, "expected a metric or label name");
  while (c->p < c->end && name_char(*c->p, false)) {
    if (n + 1 >= cap)
      return bad(c, "name too long");
    out[n++] = *c->p++;
  }
  out[n] = 0;
  return NULL;
}

static zh_error *read_value(cursor *c, char *out, size_t cap) {
  if (c->p >= c->end || *c->p != '"')
    return bad(c, "expected '\"' to open a label value");
  c->p++;
  size_t n = 0;
  while (c->p < c->end && *c->p != '"') {
    char ch = *c->p++;
    if (ch == '\n')
      return bad(c, "label value not closed on its line");
    if (ch == '\\') {
      if (c->p >= c->end)
        return bad(c, "escape at the end of the file");
      ch = *c->p++;
      if (ch == 'n')
        ch = '\n';
      else if (ch != '\\' && ch != '"')
        return bad(c, "unknown escape in a label value");
    }
    if (n + 1 >= cap)
      return bad(c, "label value too long");
    out[n++] = ch;
  }
  if (c->p >= c->end)
    return bad(c, "label value not closed");
  c->p++;
  out[n] = 0;
  return NULL;
}

static void skip_blanks(cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
    c->p++;
}

static zh_error *read_labels(cursor *c, sample *s) {
  c->p++; /* '{' */
  for (;;) {
    skip_blanks(c);
    if (c->p < c->end && *c->p == '}') {
      c->p++;
      return NULL;
    }
    char lname[128], value[512];
    zh_error *err = read_name(c, lname, sizeof lname);
    if (!err) {
      skip_blanks(c);
      if (c->p >= c->end || *c->p != '=')
        return bad(c, "expected '=' after a label name");
      c->p++;
      skip_blanks(c);
      err = read_value(c, value, sizeof value);
    }
    if (err)
      return err;
    struct {
      const char *n;
      char *dst;
      size_t cap;
      bool *has;
    } known[] = {{"caller", s->caller, sizeof s->caller, &s->has_caller},
                 {"callee", s->callee, sizeof s->callee, &s->has_callee},
                 {"kind", s->kind, sizeof s->kind, &s->has_kind},
                 {"le", s->le, sizeof s->le, &s->has_le}};
    for (size_t k = 0; k < sizeof known / sizeof *known; k++)
      if (strcmp(lname, known[k].n) == 0) {
        snprintf(known[k].dst, known[k].cap, "%s", value);
        *known[k].has = true;
      }
    skip_blanks(c);
    if (c->p < c->end && *c->p == ',')
      c->p++;
    else if (c->p >= c->end || *c->p != '}')
      return bad(c, "expected ',' or '}' in a label set");
  }
}

static zh_error *read_number(cursor *c, double *v) {
  char buf[64];
  size_t n = 0;
  while (c->p + n < c->end && !isspace((unsigned char)c->p[n]) && n + 1 < sizeof buf) {
    buf[n] = c->p[n];
    n++;
  }
  buf[n] = 0;
  char *endp;
  *v = strtod(buf, &endp);
  if (n == 0 || *endp)
    return bad(c, "expected a number");
  c->p += n;
  return NULL;
}

/* One sample line into *s. */
static zh_error *read_sample(cursor *c, sample *s) {
  memset(s, 0, sizeof *s);
  zh_error *err = read_name(c, s->name, sizeof s->name);
  if (!err && c->p < c->end && *c->p == '{')
    err = read_labels(c, s);
  if (err)
    return err;
  if (c->p >= c->end || (*c->p != ' ' && *c->p != '\t'))
    return bad(c, "expected a space before the value");
  skip_blanks(c);
  if ((err = read_number(c, &s->value)) != NULL)
    return err;
  skip_blanks(c);
  if (c->p < c->end && *c->p != '\n') { /* an optional timestamp */
    double ts;
    if ((err = read_number(c, &ts)) != NULL)
      return err;
    skip_blanks(c);
  }
  if (c->p < c->end && *c->p != '\n')
    return bad(c, "unexpected text after the value");
  return NULL;
}

typedef struct table {
  zh_hops_scraped *e;
  size_t n, cap;
} table;

static zh_hops_scraped *edge_for(table *t, const sample *s, zh_hop_kind kind) {
  for (size_t i = 0; i < t->n; i++)
    if (t->e[i].kind == kind && strcmp(t->e[i].caller, s->caller) == 0 &&
        strcmp(t->e[i].callee, s->callee) == 0)
      return &t->e[i];
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 16;
    zh_hops_scraped *e = realloc(t->e, cap * sizeof *e);
    if (!e)
      return NULL;
    t->e = e;
    t->cap = cap;
  }
  zh_hops_scraped *e = &t->e[t->n];
  memset(e, 0, sizeof *e);
  e->caller = strdup(s->caller);
  e->callee = strdup(s->callee);
  e->kind = kind;
  for (unsigned b = 0; b < ZH_HOP_BUCKETS; b++)
    e->buckets[b] = -1;
  if (!e->caller || !e->callee) {
    free(e->caller);
    free(e->callee);
    return NULL;
  }
  t->n++;
  return e;
}

/* The bucket whose bound `le` names (the nearest one: a scrape rounds). */
static bool bucket_of(const char *le, unsigned *out) {
  if (strcmp(le, "+Inf") == 0) {
    *out = ZH_HOP_BUCKETS - 1;
    return true;
  }
  char *endp;
  double v = strtod(le, &endp);
  if (*endp || !(v > 0))
    return false;
  for (unsigned b = 0; b + 1 < ZH_HOP_BUCKETS; b++) {
    double bound = (double)zh_hop_bucket_bound_ns(b) / 1e9;
    if (fabs(v - bound) <= bound * 1e-6) {
      *out = b;
      return true;
    }
  }
  return false;
}

/* Folds a hop sample into its edge; false when it is not one of ours. */
static zh_error *fold(cursor *c, table *t, const sample *s, bool *any) {
  static const char *const prefix = "zerohop_hop";
  if (strncmp(s->name, prefix, strlen(prefix)) != 0 ||
      strcmp(s->name, "zerohop_hops_dropped_total") == 0)
    return NULL;
  if (!s->has_caller || !s->has_callee || !s->has_kind)
    return bad(c, "a zerohop_hop sample without its caller, callee and kind labels");
  zh_hop_kind kind;
  if (!zh_hop_kind_parse(s->kind, &kind))
    return bad(c, "unknown hop kind (call, chain, bus, redis or http)");
  zh_hops_scraped *e = edge_for(t, s, kind);
  if (!e)
    return zh_error_oom();
  *any = true;
  if (strcmp(s->name, "zerohop_hops_total") == 0)
    e->count = s->value;
  else if (strcmp(s->name, "zerohop_hop_errors_total") == 0)
    e->errors = s->value;
  else if (strcmp(s->name, "zerohop_hop_bytes_total") == 0)
    e->bytes = s->value;
  else if (strcmp(s->name, "zerohop_hop_duration_seconds_sum") == 0)
    e->sum_seconds = s->value;
  else if (strcmp(s->name, "zerohop_hop_duration_seconds_bucket") == 0) {
    unsigned b;
    if (!s->has_le || !bucket_of(s->le, &b))
      return bad(c, "a bucket whose `le` is not one of zerohop's bounds");
    e->buckets[b] = s->value;
  }
  return NULL;
}

zh_error *zh_hops_parse_scrape(const char *text, size_t len, const char *filename,
                               zh_hops_scraped **out, size_t *n) {
  cursor c = {text, text, text + len, filename, 1};
  table t = {NULL, 0, 0};
  bool any = false;
  zh_error *err = NULL;
  while (!err && c.p < c.end) {
    c.line_start = c.p;
    skip_blanks(&c);
    if (c.p < c.end && *c.p != '\n' && *c.p != '#') {
      sample s;
      err = read_sample(&c, &s);
      if (!err)
        err = fold(&c, &t, &s, &any);
    }
    const char *nl = memchr(c.p, '\n', (size_t)(c.end - c.p));
    c.p = nl ? nl + 1 : c.end;
    c.line++;
  }
  if (!err && !any)
    err = zh_error_new(ZH_ERR_MALFORMED,
                       "%s: no zerohop_hop samples (expected a scrape of `zerohop up --admin "
                       "ADDR`'s /metrics)",
                       filename);
  if (err) {
    zh_hops_scraped_free(t.e, t.n);
    return err;
  }
  *out = t.e;
  *n = t.n;
  return NULL;
}

void zh_hops_scraped_free(zh_hops_scraped *s, size_t n) {
  for (size_t i = 0; s && i < n; i++) {
    free(s[i].caller);
    free(s[i].callee);
  }
  free(s);
}

double zh_hops_scraped_quantile(const zh_hops_scraped *s, double q) {
  double total = s->buckets[ZH_HOP_BUCKETS - 1];
  if (!(total > 0))
    return -1;
  double rank = q * total, prev_cum = 0, prev_bound = 0;
  for (unsigned b = 0; b < ZH_HOP_BUCKETS; b++) {
    double cum = s->buckets[b] < 0 ? prev_cum : s->buckets[b];
    if (cum >= rank) {
      if (b + 1 == ZH_HOP_BUCKETS) /* in +Inf: the last finite bound is all we know */
        return prev_bound;
      double bound = (double)zh_hop_bucket_bound_ns(b) / 1e9;
      double in = cum - prev_cum;
      return in > 0 ? prev_bound + (bound - prev_bound) * (rank - prev_cum) / in : bound;
    }
    prev_cum = cum;
    prev_bound = (double)zh_hop_bucket_bound_ns(b) / 1e9;
  }
  return prev_bound;
}
