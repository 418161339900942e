/* The component-model reference suite runner: executes the command scripts of
 * ../shared/testsuites/component-model/json (GROUP/NAME.json plus the .wasm files they name,
 * format in that directory's README.md) against the public zerohop API (zerohop/cm.h).
 *
 *   component_spec_runner [-v] DIR [GROUP/NAME...]
 *
 * Skipped, as the suite's README marks them outside the stable model: the `async` group,
 * commands whose `features` list is non-empty (and the instances and actions that depend
 * on them), and text-format (.wat) modules. Everything else passes or fails.
 * The last line is "component-spec: N passed, M failed, K skipped". */
#include <dirent.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zerohop/cm.h"

#define MAX_LOGGED 10 /* failures printed per file without -v */

typedef struct runner {
  const char *dir;
  bool verbose;
  char *gaps; /* tests/component/spec-known-gaps.txt, NUL-terminated, or NULL */
  zh_engine *engine;
  long passed, failed, skipped;
} runner;

/* A named definition or instance of one script. */
typedef struct binding {
  const char *name;
  zh_cm_component *comp; /* definitions (owned) */
  zh_cm_instance *inst;  /* instances (owned) */
  bool skipped;          /* gated: everything depending on it is skipped */
  bool broken;           /* failed to load: dependants fail */
} binding;

typedef struct script {
  runner *r;
  const char *file;
  const char *group;
  binding *defs;
  size_t ndefs, cap;
  bool cur_skipped, cur_broken, have_cur;
  zh_cm_instance *cur;
  zh_store *store;
  long logged;
} script;

static void fail_msg(script *s, long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail_msg(script *s, long line, const char *fmt, ...) {
  s->r->failed++;
  if (!s->r->verbose && s->logged++ >= MAX_LOGGED)
    return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s:%ld: ", s->file, line);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  uint8_t *buf = NULL;
  size_t cap = 0, n = 0;
  for (;;) {
    if (n == cap) {
      cap = cap ? cap * 2 : 4096;
      uint8_t *nb = realloc(buf, cap);
      if (!nb) {
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = nb;
    }
    size_t k = fread(buf + n, 1, cap - n, f);
    n += k;
    if (k == 0)
      break;
  }
  fclose(f);
  *len = n;
  return buf;
}

/* The gap list's reason for GROUP/FILE:LINE, or NULL when the command is not listed. The
 * reason is copied into `why`. */
static const char *known_gap(const script *s, long line, char *why, size_t cap) {
  if (!s->r->gaps)
    return NULL;
  const char *base = strrchr(s->file, '/');
  char key[512];
  snprintf(key, sizeof key, "%s/%s:%ld ", s->group, base ? base + 1 : s->file, line);
  for (const char *p = s->r->gaps; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
    if (*p != '#' && strncmp(p, key, strlen(key)) == 0) {
      const char *r = p + strlen(key), *end = strchr(r, '\n');
      size_t n = end ? (size_t)(end - r) : strlen(r);
      snprintf(why, cap, "%.*s", (int)n, r);
      return why;
    }
  }
  return NULL;
}

static bool gated(json_t *cmd) {
  json_t *f = json_object_get(cmd, "features");
  return f && json_is_array(f) && json_array_size(f) > 0;
}

static bool is_text(json_t *cmd) {
  const char *t = json_string_value(json_object_get(cmd, "module_type"));
  return t && strcmp(t, "text") == 0;
}

/* Loads the command's file: NULL with *err set on failure. */
static zh_cm_component *load(script *s, json_t *cmd, zh_error **err) {
  const char *fn = json_string_value(json_object_get(cmd, "filename"));
  char path[4096];
  snprintf(path, sizeof path, "%s/%s/%s", s->r->dir, s->group, fn ? fn : "?");
  size_t len;
  uint8_t *bytes = read_file(path, &len);
  if (!bytes) {
    *err = zh_error_new(ZH_ERR_IO, "%s: cannot read", path);
    return NULL;
  }
  zh_cm_component *c = NULL;
  *err = zh_cm_component_new(s->r->engine, bytes, len, fn, &c);
  free(bytes);
  return c;
}

static binding *find_def(script *s, const char *name) {
  for (size_t i = s->ndefs; i-- > 0;)
    if (s->defs[i].name && !strcmp(s->defs[i].name, name))
      return &s->defs[i];
  return NULL;
}

static void add_def(script *s, binding b) {
  if (s->ndefs == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 16;
    binding *n = realloc(s->defs, s->cap * sizeof *n);
    if (!n)
      abort(); /* test harness: running out of memory here is not a test result */
    s->defs = n;
  }
  s->defs[s->ndefs++] = b;
}

/* ---- values: the suite's JSON encoding <-> zh_val ---- */

static bool utf8_scalar(const char *s, uint32_t *out) {
  const unsigned char *u = (const unsigned char *)s;
  uint32_t c = u[0];
  int n = c < 0x80 ? 0 : c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3;
  if (n)
    c &= 0x3fu >> n;
  for (int i = 1; i <= n; i++) {
    if ((u[i] & 0xc0) != 0x80)
      return false;
    c = c << 6 | (u[i] & 0x3fu);
  }
  *out = c;
  return u[n + 1] == 0;
}

static const zh_wit_field *field_named(const zh_wit_type *t, const char *name, uint32_t *idx) {
  for (size_t i = 0; i < t->nfields; i++)
    if (t->fields[i].name && !strcmp(t->fields[i].name, name)) {
      *idx = (uint32_t)i;
      return &t->fields[i];
    }
  return NULL;
}

/* Builds the value of type t that `j` ({"type":..., "value":...} or a bare value) encodes;
 * false when it does not fit the type. */
static bool to_val(json_t *j, const zh_wit_type *t, zh_val *out) {
  *out = zh_val_bool(false);
  t = zh_wit_type_unalias(t);
  if (!t)
    return false;
  json_t *v = json_is_object(j) && json_object_get(j, "type") ? json_object_get(j, "value") : j;
  const char *str = json_string_value(v);
  switch (t->kind) {
  case ZH_WIT_BOOL:
    *out = zh_val_bool(json_is_true(v));
    return json_is_boolean(v);
  case ZH_WIT_S8:
  case ZH_WIT_S16:
  case ZH_WIT_S32:
  case ZH_WIT_S64:
    if (!str)
      return false;
    out->kind = t->kind;
    out->of.s = strtoll(str, NULL, 10);
    return true;
  case ZH_WIT_U8:
  case ZH_WIT_U16:
  case ZH_WIT_U32:
  case ZH_WIT_U64:
    if (!str)
      return false;
    out->kind = t->kind;
    out->of.u = strtoull(str, NULL, 10);
    return true;
  case ZH_WIT_F32: {
    if (!str)
      return false;
    uint32_t bits = (uint32_t)strtoul(str, NULL, 10);
    float f;
    memcpy(&f, &bits, 4);
    *out = zh_val_f32(f);
    return true;
  }
  case ZH_WIT_F64: {
    if (!str)
      return false;
    uint64_t bits = strtoull(str, NULL, 10);
    double d;
    memcpy(&d, &bits, 8);
    *out = zh_val_f64(d);
    return true;
  }
  case ZH_WIT_CHAR: {
    uint32_t c;
    if (!str || !utf8_scalar(str, &c))
      return false;
    *out = zh_val_char(c);
    return true;
  }
  case ZH_WIT_STRING:
    return str && !zh_val_string(out, str, json_string_length(v));
  case ZH_WIT_LIST: {
    size_t n = json_array_size(v);
    if (!json_is_array(v) || zh_val_list(out, n))
      return false;
    zh_val *items = zh_val_list_items(out);
    for (size_t i = 0; i < n; i++)
      if (!to_val(json_array_get(v, i), t->elem, &items[i]))
        return false;
    return true;
  }
  case ZH_WIT_TUPLE:
  case ZH_WIT_RECORD: {
    size_t n = json_array_size(v);
    if (!json_is_array(v) || n != t->nfields ||
        (t->kind == ZH_WIT_TUPLE ? zh_val_tuple(out, n) : zh_val_record(out, n)))
      return false;
    zh_val *f = zh_val_fields(out);
    for (size_t i = 0; i < n; i++) {
      json_t *e = json_array_get(v, i);
      if (t->kind == ZH_WIT_RECORD)
        e = json_array_get(e, 1);
      if (!to_val(e, t->fields[i].type, &f[i]))
        return false;
    }
    return true;
  }
  case ZH_WIT_VARIANT: {
    uint32_t idx;
    const char *cname = json_string_value(json_object_get(v, "case"));
    const zh_wit_field *c = cname ? field_named(t, cname, &idx) : NULL;
    if (!c)
      return false;
    zh_val pl, *pp = NULL;
    if (c->type) {
      if (!to_val(json_object_get(v, "payload"), c->type, &pl)) {
        zh_val_drop(&pl);
        return false;
      }
      pp = &pl;
    }
    return !zh_val_variant(out, idx, pp);
  }
  case ZH_WIT_ENUM: {
    uint32_t idx;
    if (!str || !field_named(t, str, &idx))
      return false;
    *out = zh_val_enum(idx);
    return true;
  }
  case ZH_WIT_OPTION: {
    if (json_is_null(v)) {
      *out = zh_val_none();
      return true;
    }
    zh_val pl;
    if (!to_val(v, t->elem, &pl)) {
      zh_val_drop(&pl);
      return false;
    }
    return !zh_val_some(out, &pl);
  }
  case ZH_WIT_RESULT: {
    json_t *ok = json_object_get(v, "Ok"), *er = json_object_get(v, "Err");
    const zh_wit_type *pt = ok ? t->elem : t->err;
    json_t *pj = ok ? ok : er;
    if (!pj)
      return false;
    zh_val pl, *pp = NULL;
    if (pt && !json_is_null(pj)) {
      if (!to_val(pj, pt, &pl)) {
        zh_val_drop(&pl);
        return false;
      }
      pp = &pl;
    }
    return ok ? !zh_val_ok(out, pp) : !zh_val_err(out, pp);
  }
  case ZH_WIT_FLAGS: {
    if (!json_is_array(v) || zh_val_flags(out, t->nfields))
      return false;
    for (size_t i = 0; i < json_array_size(v); i++) {
      uint32_t idx;
      const char *fname = json_string_value(json_array_get(v, i));
      if (!fname || !field_named(t, fname, &idx))
        return false;
      zh_val_flag_set(out, idx, true);
    }
    return true;
  }
  default:
    return false;
  }
}

static zh_cm_instance *target(script *s, json_t *action, bool *skipped) {
  const char *mod = json_string_value(json_object_get(action, "module"));
  *skipped = s->cur_skipped;
  if (!mod)
    return s->cur;
  binding *b = find_def(s, mod);
  *skipped = b && b->skipped;
  return b ? b->inst : NULL;
}

/* Runs an invoke action; *result is set on success. */
static zh_error *invoke(script *s, zh_cm_instance *inst, json_t *action, const zh_wit_func **ft,
                        zh_val *result) {
  *result = zh_val_bool(false);
  const char *field = json_string_value(json_object_get(action, "field"));
  zh_cm_func *f = inst && field ? zh_cm_instance_func(inst, NULL, field) : NULL;
  if (!f)
    return zh_error_new(ZH_ERR_USAGE, "no exported function `%s`", field ? field : "?");
  *ft = zh_cm_func_type(f);
  json_t *jargs = json_object_get(action, "args");
  size_t n = json_array_size(jargs);
  zh_val *args = calloc(n + 1, sizeof *args);
  if (!args)
    return zh_error_new(ZH_ERR_RESOURCE, "out of memory");
  zh_error *err = NULL;
  if (n != (*ft)->nparams)
    err = zh_error_new(ZH_ERR_USAGE, "%zu arguments for %zu parameters", n, (*ft)->nparams);
  for (size_t i = 0; i < n && !err; i++)
    if (!to_val(json_array_get(jargs, i), (*ft)->params[i].type, &args[i]))
      err = zh_error_new(ZH_ERR_USAGE, "argument %zu does not fit its type", i);
  if (!err) {
    zh_store_set_timeout(s->store, 10000000000ull); /* a hung test must not hang the run */
    err = zh_cm_func_call(inst, f, args, n, result);
  }
  for (size_t i = 0; i < n; i++)
    zh_val_drop(&args[i]);
  free(args);
  return err;
}

static zh_cm_instance *instantiate_def(script *s, zh_cm_component *c, long line, const char *what) {
  zh_cm_instance *inst = NULL;
  zh_error *err = zh_cm_instantiate(c, s->store, &inst);
  if (err) {
    fail_msg(s, line, "%s: %s", what, zh_error_message(err));
    zh_error_free(err);
    return NULL;
  }
  s->r->passed++;
  return inst;
}

static void run_command(script *s, json_t *cmd) {
  runner *r = s->r;
  const char *type = json_string_value(json_object_get(cmd, "type"));
  long line = (long)json_integer_value(json_object_get(cmd, "line"));
  const char *name = json_string_value(json_object_get(cmd, "name"));
  if (!type)
    return;
  if (!strcmp(type, "component") || !strcmp(type, "component_definition")) {
    bool def = !strcmp(type, "component_definition");
    binding b = {.name = name};
    if (gated(cmd) || is_text(cmd)) {
      r->skipped++;
      b.skipped = true;
    } else {
      zh_error *err;
      b.comp = load(s, cmd, &err);
      char why[256];
      if (!b.comp && known_gap(s, line, why, sizeof why)) {
        printf("skip (known gap, %s): %s/%s:%ld: %s\n", why, s->group, strrchr(s->file, '/') + 1,
               line, zh_error_message(err));
        zh_error_free(err);
        r->skipped++;
        b.skipped = true;
      } else if (!b.comp) {
        fail_msg(s, line, "%s failed: %s", type, zh_error_message(err));
        zh_error_free(err);
        b.broken = true;
      } else {
        /* A stale entry would hide a regression later: the list must shrink with the gaps. */
        if (known_gap(s, line, why, sizeof why))
          fail_msg(s, line, "listed as a known gap (%s) but loads: remove it from the list", why);
        if (def) {
          r->passed++;
        } else {
          b.inst = instantiate_def(s, b.comp, line, type);
          b.broken = !b.inst;
        }
      }
    }
    if (!def) {
      s->have_cur = true;
      s->cur_skipped = b.skipped;
      s->cur_broken = b.broken;
      s->cur = b.inst;
    }
    add_def(s, b);
    return;
  }
  if (!strcmp(type, "component_instance")) {
    const char *cname = json_string_value(json_object_get(cmd, "component"));
    binding *d = cname ? find_def(s, cname) : NULL;
    s->have_cur = true;
    if (!d || d->skipped) {
      r->skipped++;
      s->cur_skipped = true;
      s->cur_broken = false;
    } else if (!d->comp) {
      fail_msg(s, line, "component_instance: the definition did not load");
      s->cur_skipped = false;
      s->cur_broken = true;
      s->cur = NULL;
    } else {
      s->cur = instantiate_def(s, d->comp, line, type);
      s->cur_skipped = false;
      s->cur_broken = !s->cur;
    }
    const char *iname = json_string_value(json_object_get(cmd, "instance"));
    binding b = {.name = iname, .skipped = s->cur_skipped, .broken = s->cur_broken, .inst = s->cur};
    add_def(s, b);
    return;
  }
  if (!strcmp(type, "assert_return") || !strcmp(type, "assert_trap") || !strcmp(type, "action")) {
    json_t *action = json_object_get(cmd, "action");
    bool skipped;
    zh_cm_instance *inst = target(s, action, &skipped);
    if (skipped) {
      r->skipped++;
      return;
    }
    if (!inst) {
      fail_msg(s, line, "%s: no instance", type);
      return;
    }
    const zh_wit_func *ft = NULL;
    zh_val res;
    zh_error *err = invoke(s, inst, action, &ft, &res);
    if (!strcmp(type, "assert_trap")) {
      if (err && zh_error_status(err) != ZH_ERR_USAGE)
        r->passed++;
      else
        fail_msg(s, line, "assert_trap: %s, expected a trap \"%s\"",
                 err ? zh_error_message(err) : "returned",
                 json_string_value(json_object_get(cmd, "text")));
    } else if (err) {
      fail_msg(s, line, "%s: %s", type, zh_error_message(err));
    } else if (!strcmp(type, "action")) {
      r->passed++;
    } else if (!ft) {
      fail_msg(s, line, "assert_return: no function type");
    } else {
      json_t *exp = json_object_get(cmd, "expected");
      size_t ne = json_array_size(exp);
      zh_val want;
      if (ne != (ft->result ? 1u : 0u)) {
        fail_msg(s, line, "assert_return: %zu results expected, the function has %d", ne,
                 ft->result ? 1 : 0);
      } else if (!ne) {
        r->passed++;
      } else if (!to_val(json_array_get(exp, 0), ft->result, &want)) {
        fail_msg(s, line, "assert_return: expected value does not fit the result type");
        zh_val_drop(&want);
      } else {
        if (zh_val_equal(&want, &res))
          r->passed++;
        else
          fail_msg(s, line, "assert_return: result differs from the expected value");
        zh_val_drop(&want);
      }
    }
    zh_val_drop(&res);
    zh_error_free(err);
    return;
  }
  if (!strcmp(type, "assert_invalid") || !strcmp(type, "assert_malformed") ||
      !strcmp(type, "assert_uninstantiable")) {
    if (gated(cmd) || is_text(cmd)) {
      r->skipped++;
      return;
    }
    zh_error *err;
    zh_cm_component *c = load(s, cmd, &err);
    if (c) {
      zh_cm_component_free(c);
      if (!strcmp(type, "assert_uninstantiable")) {
        fail_msg(s, line, "%s: instantiation not implemented", type);
        return;
      }
      fail_msg(s, line, "%s: loaded, expected \"%s\"", type,
               json_string_value(json_object_get(cmd, "text")));
      return;
    }
    zh_status st = zh_error_status(err);
    const char *text = json_string_value(json_object_get(cmd, "text"));
    if (st == ZH_ERR_IO || st == ZH_ERR_RESOURCE) {
      fail_msg(s, line, "%s: %s", type, zh_error_message(err));
    } else {
      r->passed++;
      if (r->verbose && text && *text && !strstr(zh_error_message(err), text))
        fprintf(stderr, "%s:%ld: note: expected \"%s\", got \"%s\"\n", s->file, line, text,
                zh_error_message(err));
    }
    zh_error_free(err);
    return;
  }
  fail_msg(s, line, "unknown command type %s", type);
}

static void run_script(runner *r, const char *group, const char *file) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s/%s", r->dir, group, file);
  json_error_t jerr;
  json_t *doc = json_load_file(path, 0, &jerr);
  if (!doc) {
    fprintf(stderr, "%s: %s\n", path, jerr.text);
    r->failed++;
    return;
  }
  script s = {.r = r, .file = path, .group = group};
  zh_error *serr = zh_store_new(r->engine, &s.store);
  if (serr) {
    fprintf(stderr, "%s: %s\n", path, zh_error_message(serr));
    zh_error_free(serr);
    r->failed++;
    json_decref(doc);
    return;
  }
  json_t *cmds = json_object_get(doc, "commands");
  size_t i;
  json_t *cmd;
  json_array_foreach(cmds, i, cmd) run_command(&s, cmd);
  for (size_t k = 0; k < s.ndefs; k++)
    zh_cm_instance_free(s.defs[k].inst);
  for (size_t k = 0; k < s.ndefs; k++)
    zh_cm_component_free(s.defs[k].comp);
  zh_store_free(s.store);
  free(s.defs);
  json_decref(doc);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_group(runner *r, const char *group) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", r->dir, group);
  DIR *d = opendir(path);
  if (!d) {
    fprintf(stderr, "%s: cannot open\n", path);
    r->failed++;
    return;
  }
  char *names[256];
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 256) {
    size_t len = strlen(e->d_name);
    if (len > 5 && !strcmp(e->d_name + len - 5, ".json"))
      names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp_str);
  for (size_t i = 0; i < n; i++) {
    if (names[i])
      run_script(r, group, names[i]);
    free(names[i]);
  }
}

/* The async group needs WASI 0.3 async: every command there is skipped (counted). */
static void skip_group(runner *r, const char *group) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", r->dir, group);
  DIR *d = opendir(path);
  if (!d)
    return;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len <= 5 || strcmp(e->d_name + len - 5, ".json") != 0)
      continue;
    char file[4600];
    snprintf(file, sizeof file, "%s/%s", path, e->d_name);
    json_t *doc = json_load_file(file, 0, NULL);
    r->skipped += (long)json_array_size(json_object_get(doc, "commands"));
    json_decref(doc);
  }
  closedir(d);
}

int main(int argc, char **argv) {
  runner r = {0};
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (!strcmp(argv[i], "-v"))
      r.verbose = true;
  }
  if (i >= argc) {
    fprintf(stderr, "usage: %s [-v] DIR [GROUP/NAME.json...]\n", argv[0]);
    return 2;
  }
  r.dir = argv[i++];
  /* The known gaps: $ZH_SPEC_GAPS, or the list beside this runner's source. */
  const char *gaps = getenv("ZH_SPEC_GAPS");
  size_t glen;
  r.gaps = (char *)read_file(gaps && *gaps ? gaps : "tests/component/spec-known-gaps.txt", &glen);
  if (r.gaps) {
    char *g = realloc(r.gaps, glen + 1);
    if (g)
      g[glen] = 0;
    else
      free(r.gaps);
    r.gaps = g;
  }
  zh_error *err = zh_engine_new(NULL, &r.engine);
  if (err) {
    fprintf(stderr, "%s\n", zh_error_message(err));
    return 1;
  }
  if (i < argc) {
    for (; i < argc; i++) {
      char group[256];
      const char *slash = strchr(argv[i], '/');
      if (!slash || (size_t)(slash - argv[i]) >= sizeof group)
        continue;
      memcpy(group, argv[i], (size_t)(slash - argv[i]));
      group[slash - argv[i]] = 0;
      run_script(&r, group, slash + 1);
    }
  } else {
    static const char *const groups[] = {"binary", "linking", "resources", "validation", "values"};
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
      run_group(&r, groups[g]);
    skip_group(&r, "async");
  }
  zh_engine_free(r.engine);
  free(r.gaps);
  printf("component-spec: %ld passed, %ld failed, %ld skipped\n", r.passed, r.failed, r.skipped);
  return r.failed ? 1 : 0;
}
