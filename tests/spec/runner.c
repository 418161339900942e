/* The official WebAssembly spec-suite runner: executes the wast2json command scripts
 * (DIR/NAME.json plus the .wasm files they name) against the public zerohop API.
 *
 *   spec_runner [-v] [-x] DIR [NAME...]
 *
 * -v logs every failure (not just the first 20 per file) and warns when an error message
 * does not contain the text the script expects; -x stops at the first failure. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zerohop/engine.h"

#define MAX_LOGGED 20                    /* failures printed per file without -v */
#define ACTION_TIMEOUT_NS 10000000000ull /* 10 s: a hung test must not hang the run */

typedef enum result { R_PASS, R_FAIL, R_SKIP } result;

/* How an expected value matches an actual one. */
typedef enum match_kind { M_EXACT, M_NAN_CANONICAL, M_NAN_ARITHMETIC, M_NON_NULL } match_kind;

/* How a v128 is compared: lane by lane, each lane exactly or as a NaN class. */
typedef struct lanes {
  unsigned bytes; /* lane width: 1, 2, 4 or 8; 0 for values that are not v128 */
  bool is_float;
  match_kind kind[16];
} lanes;

/* Command types, for the failure breakdown printed at the end. */
static const char *const kCommandTypes[] = {
    "module",
    "register",
    "action",
    "assert_return",
    "assert_trap",
    "assert_exhaustion",
    "assert_invalid",
    "assert_malformed",
    "assert_unlinkable",
    "assert_uninstantiable",
};
#define NTYPES (sizeof kCommandTypes / sizeof kCommandTypes[0])

typedef struct runner {
  const char *dir;
  bool verbose;
  bool stop_first;
  bool stop; /* -x and a failure happened */
  zh_engine *engine;
  long passed, failed, skipped;
  long failed_by_type[NTYPES + 1]; /* last slot: unknown types and file-level errors */
} runner;

/* A name bound to an instance: a module's "$name", or a registered import namespace.
 * The strings point into the script's JSON document, which outlives the script run. */
typedef struct binding {
  const char *name;
  zh_instance *inst; /* NULL when the module failed or was skipped */
  bool skipped;
} binding;

typedef struct binding_list {
  binding *items;
  size_t len, cap;
} binding_list;

/* The "spectest" host module, created lazily once per store. */
typedef struct spectest {
  bool made;
  zh_func *print, *print_i32, *print_i64, *print_f32, *print_f64, *print_i32_f32, *print_f64_f64;
  zh_global *global_i32, *global_i64, *global_f32, *global_f64;
  zh_table *table;
  zh_memory *memory;
} spectest;

/* State for one command script. */
typedef struct script {
  runner *r;
  const char *file;   /* "i32.json": for the per-file summary */
  const char *source; /* "i32.wast": log lines name the .wast since line numbers refer to it */
  zh_store *store;
  zh_instance *current; /* the most recent module's instance */
  bool current_skipped; /* the most recent module was skipped (text format) */
  binding_list named, registered;
  zh_module **modules; /* every compiled module, freed after the store (instances use them) */
  size_t nmodules, cap_modules;
  spectest st;
  long passed, failed, skipped, nul_skipped;
  long logged;
  char desc[512]; /* description of the current action, for messages */
} script;

/* ---- small helpers ---------------------------------------------------------------- */

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n);
  if (!q) {
    fprintf(stderr, "spec_runner: out of memory\n");
    exit(2);
  }
  return q;
}

static const char *jstr(const json_t *obj, const char *key) {
  const json_t *v = json_object_get(obj, key);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

/* A JSON string that cannot pass through the C API's NUL-terminated names. */
static bool has_nul(const json_t *v) {
  return json_is_string(v) && strlen(json_string_value(v)) != json_string_length(v);
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static int type_slot(const char *type) {
  for (size_t i = 0; type && i < NTYPES; i++)
    if (strcmp(type, kCommandTypes[i]) == 0)
      return (int)i;
  return (int)NTYPES;
}

/* Appends printf-style text to buf[*len..n), never overflowing. */
static void appendf(char *buf, size_t n, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void appendf(char *buf, size_t n, size_t *len, const char *fmt, ...) {
  if (*len >= n)
    return;
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(buf + *len, n - *len, fmt, ap);
  va_end(ap);
  if (k > 0)
    *len = (size_t)k >= n - *len ? n - 1 : *len + (size_t)k;
}

/* Quotes an export name with control characters escaped (names.wast has plenty). */
static void append_name(char *buf, size_t n, size_t *len, const char *name) {
  appendf(buf, n, len, "\"");
  for (const unsigned char *p = (const unsigned char *)name; *p && *len + 8 < n; p++) {
    if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
      appendf(buf, n, len, "\\x%02x", *p);
    else
      appendf(buf, n, len, "%c", *p);
  }
  appendf(buf, n, len, "\"");
}

static void append_value(char *buf, size_t n, size_t *len, const zh_value *v) {
  float f;
  double d;
  switch (v->type) {
  case ZH_I32:
    appendf(buf, n, len, "i32:%" PRId32, v->of.i32);
    break;
  case ZH_I64:
    appendf(buf, n, len, "i64:%" PRId64, v->of.i64);
    break;
  case ZH_F32:
    memcpy(&f, &v->of.f32_bits, sizeof f);
    appendf(buf, n, len, "f32:%.9g(0x%08" PRIx32 ")", (double)f, v->of.f32_bits);
    break;
  case ZH_F64:
    memcpy(&d, &v->of.f64_bits, sizeof d);
    appendf(buf, n, len, "f64:%.17g(0x%016" PRIx64 ")", d, v->of.f64_bits);
    break;
  case ZH_FUNCREF:
    if (v->of.funcref)
      appendf(buf, n, len, "funcref:%p", (void *)v->of.funcref);
    else
      appendf(buf, n, len, "funcref:null");
    break;
  case ZH_EXTERNREF:
    /* Undo the N -> N + 1 mapping so messages show the script's numbers. */
    if (v->of.externref)
      appendf(buf, n, len, "externref:%" PRIuPTR, (uintptr_t)v->of.externref - 1);
    else
      appendf(buf, n, len, "externref:null");
    break;
  case ZH_V128:
    appendf(buf, n, len, "v128:0x");
    for (int i = 15; i >= 0; i--)
      appendf(buf, n, len, "%02x", v->of.v128[i]);
    break;
  default:
    appendf(buf, n, len, "type 0x%02x", (unsigned)v->type);
    break;
  }
}

/* ---- failure logging ------------------------------------------------------------------ */

static long cmd_line(const json_t *cmd) {
  return (long)json_integer_value(json_object_get(cmd, "line"));
}

/* Logs "FILE:LINE: TYPE: message" (first MAX_LOGGED per file unless -v); returns R_FAIL. */
static result failf(script *s, const json_t *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static result failf(script *s, const json_t *cmd, const char *fmt, ...) {
  s->logged++;
  if (!s->r->verbose && s->logged > MAX_LOGGED)
    return R_FAIL;
  const char *type = jstr(cmd, "type");
  fprintf(stderr, "%s:%ld: %s: ", s->source, cmd_line(cmd), type ? type : "?");
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return R_FAIL;
}

/* Warns (in -v mode) when the engine's message lacks the text the script expects. The
 * trap code's fixed text counts too, since messages may add detail around it. */
static void check_text(script *s, const json_t *cmd, const zh_error *err) {
  const char *want = jstr(cmd, "text");
  if (!s->r->verbose || !want || !err)
    return;
  const char *msg = zh_error_message(err);
  if (msg && strstr(msg, want))
    return;
  zh_trap_code code = zh_error_trap(err);
  const char *trap = code != ZH_TRAP_NONE ? zh_trap_text(code) : NULL;
  if (trap && strstr(trap, want))
    return;
  const char *type = jstr(cmd, "type");
  fprintf(stderr, "%s:%ld: %s: warning: message \"%s\" does not contain \"%s\"\n", s->source,
          cmd_line(cmd), type ? type : "?", msg ? msg : "", want);
}

static const char *err_message(const zh_error *err) {
  const char *msg = zh_error_message(err);
  return msg ? msg : "";
}

/* ---- values ----------------------------------------------------------------------------- */

/* A v128 {"type": "v128", "lane_type": "i32", "value": ["1", ...]}: each lane is the decimal
 * of its bits (negative tolerated), or a NaN class for float lanes. */
static bool parse_v128(const json_t *j, zh_value *out, lanes *ln, char *why, size_t n) {
  static const struct {
    const char *name;
    unsigned bytes;
    bool is_float;
  } kinds[] = {{"i8", 1, false},  {"i16", 2, false}, {"i32", 4, false},
               {"i64", 8, false}, {"f32", 4, true},  {"f64", 8, true}};
  const char *lt = jstr(j, "lane_type");
  const json_t *vals = json_object_get(j, "value");
  out->type = ZH_V128;
  for (size_t k = 0; lt && k < sizeof kinds / sizeof kinds[0]; k++)
    if (strcmp(lt, kinds[k].name) == 0)
      ln->bytes = kinds[k].bytes, ln->is_float = kinds[k].is_float;
  if (!ln->bytes || !json_is_array(vals) || json_array_size(vals) != 16 / ln->bytes) {
    snprintf(why, n, "bad v128 value (lane type %s)", lt ? lt : "missing");
    return false;
  }
  for (unsigned i = 0; i < 16 / ln->bytes; i++) {
    const char *text = json_string_value(json_array_get(vals, i));
    if (!text) {
      snprintf(why, n, "v128 lane %u is not a string", i);
      return false;
    }
    if (ln->is_float && strncmp(text, "nan:", 4) == 0) {
      ln->kind[i] = strcmp(text, "nan:canonical") == 0    ? M_NAN_CANONICAL
                    : strcmp(text, "nan:arithmetic") == 0 ? M_NAN_ARITHMETIC
                                                          : M_NON_NULL;
      if (ln->kind[i] == M_NON_NULL) {
        snprintf(why, n, "unknown NaN class %s", text);
        return false;
      }
      continue;
    }
    errno = 0;
    char *end;
    uint64_t bits = text[0] == '-' ? (uint64_t)strtoll(text, &end, 10) : strtoull(text, &end, 10);
    if (errno || end == text || *end) {
      snprintf(why, n, "bad v128 lane \"%s\"", text);
      return false;
    }
    memcpy(out->of.v128 + i * ln->bytes, &bits, ln->bytes); /* little-endian host */
  }
  return true;
}

/* Lane i of a v128 as bits. */
static uint64_t lane_bits(const zh_value *v, unsigned bytes, unsigned i) {
  uint64_t x = 0;
  memcpy(&x, v->of.v128 + i * bytes, bytes);
  return x;
}

static bool nan_matches(uint64_t bits, unsigned bytes, match_kind kind) {
  if (bytes == 4)
    return kind == M_NAN_CANONICAL ? (bits & 0x7fffffffu) == 0x7fc00000u
                                   : (bits & 0x7fc00000u) == 0x7fc00000u;
  return kind == M_NAN_CANONICAL ? (bits & 0x7fffffffffffffffull) == 0x7ff8000000000000ull
                                 : (bits & 0x7ff8000000000000ull) == 0x7ff8000000000000ull;
}

/* Parses a script value {"type": T, "value": V}. Returns false with `why` set when the
 * value cannot be represented; *is_v128 tells the caller to skip rather than fail. */
static bool parse_value(const json_t *j, zh_value *out, match_kind *kind, lanes *ln, char *why,
                        size_t n) {
  const char *type = jstr(j, "type");
  const char *text = jstr(j, "value");
  memset(out, 0, sizeof *out);
  memset(ln, 0, sizeof *ln);
  *kind = M_EXACT;
  if (!type) {
    snprintf(why, n, "value without a type");
    return false;
  }
  if (strcmp(type, "v128") == 0)
    return parse_v128(j, out, ln, why, n);
  bool is_ref = strcmp(type, "funcref") == 0 || strcmp(type, "externref") == 0;
  if (is_ref) {
    out->type = type[0] == 'f' ? ZH_FUNCREF : ZH_EXTERNREF;
    if (text && strcmp(text, "null") == 0)
      return true; /* the union is already NULL */
    if (!text || out->type == ZH_FUNCREF) {
      *kind = M_NON_NULL; /* ref.func (or a bare ref.extern): any non-null reference */
      return true;
    }
  }
  if (!text) {
    snprintf(why, n, "%s value missing", type);
    return false;
  }
  bool is_f32 = strcmp(type, "f32") == 0, is_f64 = strcmp(type, "f64") == 0;
  if ((is_f32 || is_f64) && strncmp(text, "nan:", 4) == 0) {
    out->type = is_f32 ? ZH_F32 : ZH_F64;
    if (strcmp(text, "nan:canonical") == 0) {
      *kind = M_NAN_CANONICAL;
    } else if (strcmp(text, "nan:arithmetic") == 0) {
      *kind = M_NAN_ARITHMETIC;
    } else {
      snprintf(why, n, "unknown NaN class %s", text);
      return false;
    }
    return true;
  }
  /* Everything else is the decimal of a bit pattern (negative decimals tolerated). */
  errno = 0;
  char *end;
  uint64_t bits = text[0] == '-' ? (uint64_t)strtoll(text, &end, 10) : strtoull(text, &end, 10);
  if (errno || end == text || *end) {
    snprintf(why, n, "bad %s value \"%s\"", type, text);
    return false;
  }
  if (strcmp(type, "i32") == 0 || is_f32) {
    if (bits > UINT32_MAX && text[0] != '-') {
      snprintf(why, n, "%s value %s out of range", type, text);
      return false;
    }
    out->type = is_f32 ? ZH_F32 : ZH_I32;
    if (is_f32)
      out->of.f32_bits = (uint32_t)bits;
    else
      out->of.i32 = (int32_t)(uint32_t)bits;
  } else if (strcmp(type, "i64") == 0) {
    out->type = ZH_I64;
    out->of.i64 = (int64_t)bits;
  } else if (is_f64) {
    out->type = ZH_F64;
    out->of.f64_bits = bits;
  } else if (is_ref) {
    /* ref.extern N: a stable non-NULL host pointer, N + 1, so that N = 0 is not null. */
    out->of.externref = (void *)(uintptr_t)(bits + 1);
  } else {
    snprintf(why, n, "unsupported value type %s", type);
    return false;
  }
  return true;
}

static bool value_matches(const zh_value *got, const zh_value *want, match_kind kind,
                          const lanes *ln) {
  if (got->type != want->type)
    return false;
  if (got->type == ZH_V128) {
    for (unsigned i = 0; i < 16 / ln->bytes; i++) {
      uint64_t g = lane_bits(got, ln->bytes, i);
      if (ln->kind[i] == M_EXACT ? g != lane_bits(want, ln->bytes, i)
                                 : !nan_matches(g, ln->bytes, ln->kind[i]))
        return false;
    }
    return true;
  }
  switch (kind) {
  case M_NAN_CANONICAL:
    /* Canonical NaN: quiet bit only, either sign. */
    return got->type == ZH_F32
               ? (got->of.f32_bits & 0x7fffffffu) == 0x7fc00000u
               : (got->of.f64_bits & 0x7fffffffffffffffull) == 0x7ff8000000000000ull;
  case M_NAN_ARITHMETIC:
    /* Arithmetic NaN: exponent all ones and the quiet bit set, any payload. */
    return got->type == ZH_F32
               ? (got->of.f32_bits & 0x7fc00000u) == 0x7fc00000u
               : (got->of.f64_bits & 0x7ff8000000000000ull) == 0x7ff8000000000000ull;
  case M_NON_NULL:
    return got->type == ZH_FUNCREF ? got->of.funcref != NULL : got->of.externref != NULL;
  case M_EXACT:
    break;
  }
  switch (got->type) {
  case ZH_I32:
    return got->of.i32 == want->of.i32;
  case ZH_I64:
    return got->of.i64 == want->of.i64;
  case ZH_F32:
    return got->of.f32_bits == want->of.f32_bits;
  case ZH_F64:
    return got->of.f64_bits == want->of.f64_bits;
  case ZH_FUNCREF:
    return got->of.funcref == want->of.funcref;
  case ZH_EXTERNREF:
    return got->of.externref == want->of.externref;
  default:
    return false;
  }
}

/* A v128 as its lanes of the expected lane type (i32 lanes when there is none). */
static void append_v128(char *buf, size_t n, size_t *len, const zh_value *v, const lanes *ln) {
  unsigned bytes = ln && ln->bytes ? ln->bytes : 4;
  appendf(buf, n, len, "v128:i%u[", bytes * 8);
  for (unsigned i = 0; i < 16 / bytes; i++) {
    appendf(buf, n, len, "%s", i ? " " : "");
    if (ln && ln->bytes && ln->kind[i] != M_EXACT)
      appendf(buf, n, len, "%s",
              ln->kind[i] == M_NAN_CANONICAL ? "nan:canonical" : "nan:arithmetic");
    else
      appendf(buf, n, len, "0x%" PRIx64, lane_bits(v, bytes, i));
  }
  appendf(buf, n, len, "]");
}

static void append_expected(char *buf, size_t n, size_t *len, const zh_value *v, match_kind kind,
                            const lanes *ln) {
  if (v->type == ZH_V128) {
    append_v128(buf, n, len, v, ln);
    return;
  }
  const char *t = v->type == ZH_F32 ? "f32" : v->type == ZH_F64 ? "f64" : "";
  switch (kind) {
  case M_NAN_CANONICAL:
    appendf(buf, n, len, "%s:nan:canonical", t);
    break;
  case M_NAN_ARITHMETIC:
    appendf(buf, n, len, "%s:nan:arithmetic", t);
    break;
  case M_NON_NULL:
    appendf(buf, n, len, "%s:non-null", v->type == ZH_FUNCREF ? "funcref" : "externref");
    break;
  case M_EXACT:
    append_value(buf, n, len, v);
    break;
  }
}

/* ---- bindings and modules ------------------------------------------------------------------ */

static void bind(binding_list *l, const char *name, zh_instance *inst, bool skipped) {
  if (l->len == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 16;
    l->items = xrealloc(l->items, l->cap * sizeof *l->items);
  }
  l->items[l->len++] = (binding){name, inst, skipped};
}

/* The latest binding of `name`, since a later module or registration shadows earlier ones. */
static const binding *lookup(const binding_list *l, const char *name) {
  for (size_t i = l->len; i-- > 0;)
    if (strcmp(l->items[i].name, name) == 0)
      return &l->items[i];
  return NULL;
}

static void keep_module(script *s, zh_module *m) {
  if (s->nmodules == s->cap_modules) {
    s->cap_modules = s->cap_modules ? 2 * s->cap_modules : 32;
    s->modules = xrealloc(s->modules, s->cap_modules * sizeof *s->modules);
  }
  s->modules[s->nmodules++] = m;
}

/* Reads DIR/filename and compiles it. The module is kept until the store is gone: even a
 * failed instantiation may leave its functions in imported tables (linking.wast). */
static zh_error *compile(script *s, const char *filename, zh_module **out) {
  *out = NULL;
  size_t plen = strlen(s->r->dir) + strlen(filename) + 2;
  char *path = xrealloc(NULL, plen);
  snprintf(path, plen, "%s/%s", s->r->dir, filename);
  FILE *f = fopen(path, "rb");
  if (!f) {
    zh_error *err = zh_error_new(ZH_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    free(path);
    return err;
  }
  uint8_t *bytes = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      cap = cap ? 2 * cap : 4096;
      bytes = xrealloc(bytes, cap);
    }
    size_t k = fread(bytes + len, 1, cap - len, f);
    len += k;
    if (k == 0)
      break;
  }
  bool bad = ferror(f);
  fclose(f);
  zh_error *err = NULL;
  if (bad) {
    err = zh_error_new(ZH_ERR_IO, "cannot read %s", path);
  } else {
    err = zh_module_new(s->r->engine, bytes, len, filename, out);
    if (!err && *out)
      keep_module(s, *out);
  }
  free(bytes);
  free(path);
  return err;
}

/* ---- the spectest host module -------------------------------------------------------------- */

static zh_error *spectest_print(zh_caller *caller, void *env, const zh_value *args,
                                zh_value *results) {
  (void)caller, (void)env, (void)args, (void)results;
  return NULL; /* the suite only needs these to exist with the right types */
}

static const zh_valtype kI32[] = {ZH_I32}, kI64[] = {ZH_I64}, kF32[] = {ZH_F32}, kF64[] = {ZH_F64},
                        kI32F32[] = {ZH_I32, ZH_F32}, kF64F64[] = {ZH_F64, ZH_F64};

static zh_func *spectest_func(zh_store *store, uint32_t n, const zh_valtype *params) {
  zh_functype t = {n, 0, params, NULL};
  return zh_func_new_host(store, &t, spectest_print, NULL);
}

static zh_error *spectest_global(zh_store *store, zh_value v, zh_global **out) {
  return zh_global_new(store, &v, false, out);
}

static zh_error *make_spectest(script *s) {
  spectest *t = &s->st;
  if (t->made)
    return NULL;
  zh_store *st = s->store;
  t->print = spectest_func(st, 0, NULL);
  t->print_i32 = spectest_func(st, 1, kI32);
  t->print_i64 = spectest_func(st, 1, kI64);
  t->print_f32 = spectest_func(st, 1, kF32);
  t->print_f64 = spectest_func(st, 1, kF64);
  t->print_i32_f32 = spectest_func(st, 2, kI32F32);
  t->print_f64_f64 = spectest_func(st, 2, kF64F64);
  zh_limits tl = {10, 20, true}, ml = {1, 2, true};
  zh_error *err = NULL;
  if (!err)
    err = spectest_global(st, zh_i32(666), &t->global_i32);
  if (!err)
    err = spectest_global(st, zh_i64(666), &t->global_i64);
  if (!err)
    err = spectest_global(st, zh_f32(666.6f), &t->global_f32);
  if (!err)
    err = spectest_global(st, zh_f64(666.6), &t->global_f64);
  if (!err)
    err = zh_table_new(st, ZH_FUNCREF, &tl, &t->table);
  if (!err)
    err = zh_memory_new(st, &ml, &t->memory);
  if (!err && !(t->print && t->print_i32 && t->print_i64 && t->print_f32 && t->print_f64 &&
                t->print_i32_f32 && t->print_f64_f64))
    err = zh_error_new(ZH_ERR_RESOURCE, "spectest: cannot create host functions");
  if (err)
    return err;
  t->made = true;
  return NULL;
}

static bool spectest_export(const spectest *t, const char *name, zh_extern *out) {
  static const struct {
    const char *name;
    size_t offset;
  } funcs[] = {
      {"print", offsetof(spectest, print)},
      {"print_i32", offsetof(spectest, print_i32)},
      {"print_i64", offsetof(spectest, print_i64)},
      {"print_f32", offsetof(spectest, print_f32)},
      {"print_f64", offsetof(spectest, print_f64)},
      {"print_i32_f32", offsetof(spectest, print_i32_f32)},
      {"print_f64_f64", offsetof(spectest, print_f64_f64)},
  };
  for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++) {
    if (strcmp(name, funcs[i].name) == 0) {
      out->kind = ZH_EXTERN_FUNC;
      memcpy(&out->of.func, (const char *)t + funcs[i].offset, sizeof out->of.func);
      return true;
    }
  }
  zh_global *g = strcmp(name, "global_i32") == 0   ? t->global_i32
                 : strcmp(name, "global_i64") == 0 ? t->global_i64
                 : strcmp(name, "global_f32") == 0 ? t->global_f32
                 : strcmp(name, "global_f64") == 0 ? t->global_f64
                                                   : NULL;
  if (g) {
    out->kind = ZH_EXTERN_GLOBAL;
    out->of.global = g;
    return true;
  }
  if (strcmp(name, "table") == 0) {
    out->kind = ZH_EXTERN_TABLE;
    out->of.table = t->table;
    return true;
  }
  if (strcmp(name, "memory") == 0) {
    out->kind = ZH_EXTERN_MEMORY;
    out->of.memory = t->memory;
    return true;
  }
  return false;
}

/* ---- instantiation ------------------------------------------------------------------------- */

/* Resolves the module's imports from registered instances and spectest, then instantiates.
 * Type checking of the resolved externs is left to the engine: that is what it tests. */
static zh_error *instantiate(script *s, const zh_module *m, zh_instance **out) {
  *out = NULL;
  size_t n = zh_module_import_count(m);
  zh_extern *imports = n ? xrealloc(NULL, n * sizeof *imports) : NULL;
  zh_error *err = NULL;
  for (size_t i = 0; i < n && !err; i++) {
    zh_import_info info;
    zh_module_import(m, i, &info);
    const binding *b = lookup(&s->registered, info.module);
    bool found = false;
    if (b && b->inst) {
      found = zh_instance_export(b->inst, info.name, &imports[i]);
    } else if (!b && strcmp(info.module, "spectest") == 0) {
      err = make_spectest(s);
      found = !err && spectest_export(&s->st, info.name, &imports[i]);
    }
    if (!found && !err)
      err = zh_error_new(ZH_ERR_UNLINKABLE, "unknown import \"%s\" \"%s\"", info.module, info.name);
  }
  if (!err) {
    zh_store_set_timeout(s->store, ACTION_TIMEOUT_NS); /* start functions run code too */
    err = zh_instance_new(s->store, m, imports, n, out);
    zh_store_set_timeout(s->store, 0);
  }
  free(imports);
  return err;
}

/* ---- actions ------------------------------------------------------------------------------- */

/* The instance an action or register names: action.module / register.name, or the current. */
static result target_instance(script *s, const json_t *cmd, const char *name, zh_instance **out) {
  *out = NULL;
  if (name) {
    const binding *b = lookup(&s->named, name);
    if (!b)
      return failf(s, cmd, "unknown module %s", name);
    if (b->skipped)
      return R_SKIP;
    if (!b->inst)
      return failf(s, cmd, "module %s failed to load", name);
    *out = b->inst;
    return R_PASS;
  }
  if (s->current_skipped)
    return R_SKIP;
  if (!s->current)
    return failf(s, cmd, "no module instantiated");
  *out = s->current;
  return R_PASS;
}

/* Performs cmd.action. R_PASS means it ran: *err holds the engine's outcome and
 * *results and *nresults the values (caller frees). R_FAIL/R_SKIP: nothing ran. */
static result run_action(script *s, const json_t *cmd, zh_error **err, zh_value **results,
                         size_t *nresults) {
  *err = NULL;
  *results = NULL;
  *nresults = 0;
  const json_t *action = json_object_get(cmd, "action");
  const char *type = jstr(action, "type");
  const json_t *jfield = json_object_get(action, "field");
  const char *field = jstr(action, "field");
  const json_t *jargs = json_object_get(action, "args");
  if (!type || !field)
    return failf(s, cmd, "malformed action");
  size_t field_len = json_string_length(jfield);
  if (has_nul(json_object_get(action, "module"))) {
    s->nul_skipped++; /* not expressible through the NUL-terminated C API */
    return R_SKIP;
  }
  zh_instance *inst;
  result r = target_instance(s, cmd, jstr(action, "module"), &inst);
  if (r != R_PASS)
    return r;

  size_t len = 0, n = sizeof s->desc;
  s->desc[0] = '\0';
  appendf(s->desc, n, &len, "%s ", type);
  append_name(s->desc, n, &len, field);

  if (strcmp(type, "get") == 0) {
    zh_extern ext;
    if (!zh_instance_export_n(inst, field, field_len, &ext) || ext.kind != ZH_EXTERN_GLOBAL)
      return failf(s, cmd, "%s: no such global export", s->desc);
    *results = xrealloc(NULL, sizeof **results);
    (*results)[0] = zh_global_get(ext.of.global);
    *nresults = 1;
    return R_PASS;
  }
  if (strcmp(type, "invoke") != 0)
    return failf(s, cmd, "unknown action type %s", type);

  zh_extern fx;
  zh_func *f = zh_instance_export_n(inst, field, field_len, &fx) && fx.kind == ZH_EXTERN_FUNC
                   ? fx.of.func
                   : NULL;
  if (!f)
    return failf(s, cmd, "%s: no such function export", s->desc);
  size_t nargs = json_array_size(jargs);
  zh_value *args = nargs ? xrealloc(NULL, nargs * sizeof *args) : NULL;
  appendf(s->desc, n, &len, "(");
  for (size_t i = 0; i < nargs; i++) {
    match_kind kind;
    lanes ln;
    char why[128];
    if (!parse_value(json_array_get(jargs, i), &args[i], &kind, &ln, why, sizeof why) ||
        kind != M_EXACT) {
      free(args);
      return failf(s, cmd, "%s: argument %zu: %s", s->desc, i,
                   kind != M_EXACT ? "not a constant" : why);
    }
    appendf(s->desc, n, &len, "%s", i ? ", " : "");
    append_value(s->desc, n, &len, &args[i]);
  }
  appendf(s->desc, n, &len, ")");

  zh_functype ft;
  zh_func_type(f, &ft);
  /* Size the results by the function's own type; the expected count is checked later. */
  *nresults = ft.nresults;
  *results = xrealloc(NULL, (ft.nresults ? ft.nresults : 1) * sizeof **results);
  memset(*results, 0, (ft.nresults ? ft.nresults : 1) * sizeof **results);
  zh_store_set_timeout(s->store, ACTION_TIMEOUT_NS);
  *err = zh_func_call(s->store, f, args, nargs, *results, ft.nresults);
  zh_store_set_timeout(s->store, 0);
  free(args);
  return R_PASS;
}

/* ---- commands ------------------------------------------------------------------------------ */

static bool is_text_module(const json_t *cmd) {
  const char *mt = jstr(cmd, "module_type");
  const char *fn = jstr(cmd, "filename");
  return (mt && strcmp(mt, "text") == 0) || (fn && !ends_with(fn, ".wasm"));
}

static result cmd_module(script *s, const json_t *cmd) {
  const char *name = jstr(cmd, "name");
  const char *filename = jstr(cmd, "filename");
  s->current = NULL;
  s->current_skipped = false;
  if (!filename)
    return failf(s, cmd, "no filename");
  if (is_text_module(cmd)) {
    s->current_skipped = true; /* commands on it are skipped, not run against a stale one */
    if (name)
      bind(&s->named, name, NULL, true);
    return R_SKIP;
  }
  zh_module *m;
  zh_error *err = compile(s, filename, &m);
  zh_instance *inst = NULL;
  result r = R_PASS;
  if (err) {
    r = failf(s, cmd, "%s: %s: %s", filename, zh_status_text(zh_error_status(err)),
              err_message(err));
  } else {
    err = instantiate(s, m, &inst);
    if (err)
      r = failf(s, cmd, "%s: instantiation: %s: %s", filename, zh_status_text(zh_error_status(err)),
                err_message(err));
  }
  zh_error_free(err);
  s->current = inst;
  if (name)
    bind(&s->named, name, inst, false);
  return r;
}

static result cmd_register(script *s, const json_t *cmd) {
  const char *as = jstr(cmd, "as");
  if (!as)
    return failf(s, cmd, "no \"as\" name");
  zh_instance *inst;
  result r = target_instance(s, cmd, jstr(cmd, "name"), &inst);
  if (r == R_SKIP)
    bind(&s->registered, as, NULL, true);
  if (r != R_PASS)
    return r;
  bind(&s->registered, as, inst, false);
  return R_PASS;
}

static result cmd_action(script *s, const json_t *cmd) {
  zh_error *err;
  zh_value *results;
  size_t n;
  result r = run_action(s, cmd, &err, &results, &n);
  if (r == R_PASS && err)
    r = failf(s, cmd, "%s: %s: %s", s->desc, zh_status_text(zh_error_status(err)),
              err_message(err));
  zh_error_free(err);
  free(results);
  return r;
}

static result cmd_assert_return(script *s, const json_t *cmd) {
  zh_error *err;
  zh_value *results;
  size_t n;
  result r = run_action(s, cmd, &err, &results, &n);
  if (r != R_PASS)
    return r;
  const json_t *expected = json_object_get(cmd, "expected");
  if (err) {
    r = failf(s, cmd, "%s: %s: %s", s->desc, zh_status_text(zh_error_status(err)),
              err_message(err));
  } else if (n != json_array_size(expected)) {
    r = failf(s, cmd, "%s: %zu results, expected %zu", s->desc, n, json_array_size(expected));
  } else {
    for (size_t i = 0; i < n && r == R_PASS; i++) {
      zh_value want;
      match_kind kind;
      lanes ln;
      char why[128];
      if (!parse_value(json_array_get(expected, i), &want, &kind, &ln, why, sizeof why)) {
        r = failf(s, cmd, "%s: expected result %zu: %s", s->desc, i, why);
      } else if (!value_matches(&results[i], &want, kind, &ln)) {
        char msg[512];
        size_t len = 0;
        appendf(msg, sizeof msg, &len, "got ");
        if (results[i].type == ZH_V128)
          append_v128(msg, sizeof msg, &len, &results[i], &ln);
        else
          append_value(msg, sizeof msg, &len, &results[i]);
        appendf(msg, sizeof msg, &len, ", expected ");
        append_expected(msg, sizeof msg, &len, &want, kind, &ln);
        r = failf(s, cmd, "%s: result %zu: %s", s->desc, i, msg);
      }
    }
  }
  zh_error_free(err);
  free(results);
  return r;
}

/* An expected failure: `err` (owned, may be NULL) must have status `want`. */
static result expect_status(script *s, const json_t *cmd, zh_error *err, zh_status want,
                            const char *what) {
  result r = R_PASS;
  if (!err) {
    r = failf(s, cmd, "%s succeeded, expected %s", what, zh_status_text(want));
  } else if (zh_error_status(err) != want) {
    r = failf(s, cmd, "%s failed with %s (%s), expected %s", what,
              zh_status_text(zh_error_status(err)), err_message(err), zh_status_text(want));
  } else {
    check_text(s, cmd, err);
  }
  zh_error_free(err);
  return r;
}

/* assert_trap / assert_exhaustion on an action. */
static result cmd_assert_action_fails(script *s, const json_t *cmd, zh_status want) {
  zh_error *err;
  zh_value *results;
  size_t n;
  result r = run_action(s, cmd, &err, &results, &n);
  free(results);
  if (r != R_PASS)
    return r;
  return expect_status(s, cmd, err, want, s->desc);
}

/* Module assertions: `want_compile` is the expected zh_module_new status (ZH_OK when the
 * module must compile), `want_inst` the expected zh_instance_new status after that. */
static result cmd_assert_module(script *s, const json_t *cmd, zh_status want_compile,
                                zh_status want_inst) {
  const char *filename = jstr(cmd, "filename");
  if (!filename)
    return failf(s, cmd, "no filename");
  if (is_text_module(cmd))
    return R_SKIP;
  zh_module *m;
  zh_error *err = compile(s, filename, &m);
  if (want_compile != ZH_OK)
    return expect_status(s, cmd, err, want_compile, filename);
  if (err) {
    result r = failf(s, cmd, "%s: %s: %s, expected it to compile", filename,
                     zh_status_text(zh_error_status(err)), err_message(err));
    zh_error_free(err);
    return r;
  }
  zh_instance *inst;
  char what[300];
  snprintf(what, sizeof what, "%s: instantiation", filename);
  return expect_status(s, cmd, instantiate(s, m, &inst), want_inst, what);
}

static result run_command(script *s, const json_t *cmd) {
  const char *type = jstr(cmd, "type");
  if (!type)
    return failf(s, cmd, "command without a type");
  if (strcmp(type, "module") == 0)
    return cmd_module(s, cmd);
  if (strcmp(type, "register") == 0)
    return cmd_register(s, cmd);
  if (strcmp(type, "action") == 0)
    return cmd_action(s, cmd);
  if (strcmp(type, "assert_return") == 0)
    return cmd_assert_return(s, cmd);
  if (strcmp(type, "assert_trap") == 0) {
    if (json_object_get(cmd, "action"))
      return cmd_assert_action_fails(s, cmd, ZH_ERR_TRAP);
    return cmd_assert_module(s, cmd, ZH_OK, ZH_ERR_TRAP); /* a start function that traps */
  }
  if (strcmp(type, "assert_exhaustion") == 0)
    return cmd_assert_action_fails(s, cmd, ZH_ERR_EXHAUSTION);
  if (strcmp(type, "assert_invalid") == 0)
    return cmd_assert_module(s, cmd, ZH_ERR_INVALID, 0);
  if (strcmp(type, "assert_malformed") == 0)
    return cmd_assert_module(s, cmd, ZH_ERR_MALFORMED, 0);
  if (strcmp(type, "assert_unlinkable") == 0)
    return cmd_assert_module(s, cmd, ZH_OK, ZH_ERR_UNLINKABLE);
  if (strcmp(type, "assert_uninstantiable") == 0)
    return cmd_assert_module(s, cmd, ZH_OK, ZH_ERR_TRAP);
  return failf(s, cmd, "unknown command type");
}

/* ---- files ----------------------------------------------------------------------------------- */

/* A failure that concerns the whole file, not a command. */
static void file_failure(runner *r, const char *file, const char *what) {
  fprintf(stderr, "%s: %s\n", file, what);
  printf("  %s: 1 failed of 1\n", file);
  r->failed++;
  r->failed_by_type[NTYPES]++;
  if (r->stop_first)
    r->stop = true;
}

static void run_file(runner *r, const char *file) {
  size_t plen = strlen(r->dir) + strlen(file) + 2;
  char *path = xrealloc(NULL, plen);
  snprintf(path, plen, "%s/%s", r->dir, file);
  json_error_t jerr;
  /* names.wast exports names with U+0000; without the flag the whole file is rejected. */
  json_t *doc = json_load_file(path, JSON_ALLOW_NUL, &jerr);
  free(path);
  if (!doc) {
    char msg[400];
    snprintf(msg, sizeof msg, "cannot load: line %d: %s", jerr.line, jerr.text);
    file_failure(r, file, msg);
    return;
  }
  const json_t *commands = json_object_get(doc, "commands");
  if (!json_is_array(commands)) {
    file_failure(r, file, "no \"commands\" array");
    json_decref(doc);
    return;
  }

  script s;
  memset(&s, 0, sizeof s);
  s.r = r;
  s.file = file;
  s.source = jstr(doc, "source_filename") ? jstr(doc, "source_filename") : file;
  zh_error *err = zh_store_new(r->engine, &s.store);
  if (err) {
    char msg[400];
    snprintf(msg, sizeof msg, "zh_store_new: %s", err_message(err));
    zh_error_free(err);
    file_failure(r, file, msg);
    json_decref(doc);
    return;
  }

  size_t i;
  const json_t *cmd;
  json_array_foreach(commands, i, cmd) {
    switch (run_command(&s, cmd)) {
    case R_PASS:
      s.passed++;
      break;
    case R_SKIP:
      s.skipped++;
      break;
    case R_FAIL:
      s.failed++;
      r->failed_by_type[type_slot(jstr(cmd, "type"))]++;
      if (r->stop_first)
        r->stop = true;
      break;
    }
    if (r->stop)
      break;
  }

  zh_store_free(s.store); /* instances go first; the modules they use after */
  for (size_t k = 0; k < s.nmodules; k++)
    zh_module_free(s.modules[k]);
  free(s.modules);
  free(s.named.items);
  free(s.registered.items);

  if (!r->verbose && s.logged > MAX_LOGGED)
    fprintf(stderr, "%s: %ld more failures not shown (use -v)\n", s.source, s.logged - MAX_LOGGED);
  if (s.failed || r->verbose) {
    printf("  %s: %ld failed of %ld", file, s.failed, s.passed + s.failed);
    if (s.skipped)
      printf(" (%ld skipped)", s.skipped);
    printf("\n");
  }
  if (s.nul_skipped)
    fprintf(stderr, "%s: %ld command(s) skipped: export name contains NUL\n", file, s.nul_skipped);
  r->passed += s.passed;
  r->failed += s.failed;
  r->skipped += s.skipped;
  json_decref(doc);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every *.json in dir, sorted; NULL (with a message) if the directory cannot be read. */
static char **list_dir(const char *dir, size_t *count) {
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "spec_runner: cannot open %s: %s\n", dir, strerror(errno));
    return NULL;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!ends_with(e->d_name, ".json"))
      continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 256;
      names = xrealloc(names, cap * sizeof *names);
    }
    size_t len = strlen(e->d_name) + 1;
    names[n] = xrealloc(NULL, len);
    memcpy(names[n++], e->d_name, len);
  }
  closedir(d);
  if (n)
    qsort(names, n, sizeof *names, cmp_str);
  *count = n;
  return names ? names : xrealloc(NULL, 1);
}

static int usage(void) {
  fprintf(stderr, "usage: spec_runner [-v] [-x] DIR [NAME...]\n");
  return 2;
}

int main(int argc, char **argv) {
  runner r;
  memset(&r, 0, sizeof r);
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (strcmp(argv[i], "-v") == 0)
      r.verbose = true;
    else if (strcmp(argv[i], "-x") == 0)
      r.stop_first = true;
    else
      return usage();
  }
  if (i >= argc)
    return usage();
  r.dir = argv[i++];

  /* The suite is Wasm 2.0's: one memory per module, memory indices are zero bytes. */
  zh_engine_config cfg = {.single_memory = true};
  zh_error *err = zh_engine_new(&cfg, &r.engine);
  if (err) {
    fprintf(stderr, "spec_runner: zh_engine_new: %s\n", err_message(err));
    zh_error_free(err);
    return 2;
  }

  if (i < argc) {
    /* Named files run in the order given; "i32" and "i32.json" both work. */
    for (; i < argc && !r.stop; i++) {
      size_t len = strlen(argv[i]) + 6;
      char *file = xrealloc(NULL, len);
      snprintf(file, len, "%s%s", argv[i], ends_with(argv[i], ".json") ? "" : ".json");
      run_file(&r, file);
      free(file);
    }
  } else {
    size_t n;
    char **names = list_dir(r.dir, &n);
    if (!names) {
      zh_engine_free(r.engine);
      return 2;
    }
    for (size_t k = 0; k < n; k++) {
      if (!r.stop)
        run_file(&r, names[k]);
      free(names[k]);
    }
    free(names);
  }
  zh_engine_free(r.engine);

  if (r.failed) {
    fprintf(stderr, "failures by command type:");
    for (size_t k = 0; k <= NTYPES; k++)
      if (r.failed_by_type[k])
        fprintf(stderr, " %s %ld", k < NTYPES ? kCommandTypes[k] : "file", r.failed_by_type[k]);
    fprintf(stderr, "\n");
  }
  printf("spec: %ld passed, %ld failed, %ld skipped\n", r.passed, r.failed, r.skipped);
  return r.failed ? 1 : 0;
}
