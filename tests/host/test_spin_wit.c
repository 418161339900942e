/* The Spin WIT that zerohop hosts (wit/spin/, built in as zh_host_wit) against Spin's own
 * definitions (../shared/reference/spin-wit, copied from Spin's repository): every interface
 * of every hosted package must exist in the reference, with the same named types (same names,
 * order and structure) and the same functions (ABI names, kinds, parameters, results).
 * A mismatch names the interface, the item and both types. A doctored copy of one interface
 * shows that the comparison does catch a difference. Run from the repository root. */
#include "host/spin_wit.h"
#include "testlib.h"
#include "testutil.h"

#include <dirent.h>
#include <stdarg.h>

#define REF_DIR "../shared/reference/spin-wit"

/* ---- WIT type text, for messages ---- */

static void put(char *buf, size_t cap, const char *fmt, ...) {
  size_t n = strlen(buf);
  if (n + 1 >= cap)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf + n, cap - n, fmt, ap);
  va_end(ap);
}

static void type_text(char *buf, size_t cap, const zh_wit_type *t, int depth) {
  if (!t) {
    put(buf, cap, "_");
    return;
  }
  if (depth > 0 && t->name && t->kind != ZH_WIT_OWN && t->kind != ZH_WIT_BORROW) {
    put(buf, cap, "%s", t->name); /* a named type inside another: its name is enough */
    return;
  }
  put(buf, cap, "%s", zh_wit_type_kind_name(t->kind));
  switch (t->kind) {
  case ZH_WIT_LIST:
  case ZH_WIT_OPTION:
  case ZH_WIT_OWN:
  case ZH_WIT_BORROW:
  case ZH_WIT_ALIAS:
    put(buf, cap, "<");
    type_text(buf, cap, t->elem, depth + 1);
    put(buf, cap, ">");
    break;
  case ZH_WIT_RESULT:
    put(buf, cap, "<");
    type_text(buf, cap, t->elem, depth + 1);
    put(buf, cap, ", ");
    type_text(buf, cap, t->err, depth + 1);
    put(buf, cap, ">");
    break;
  case ZH_WIT_TUPLE:
  case ZH_WIT_RECORD:
  case ZH_WIT_VARIANT:
  case ZH_WIT_ENUM:
  case ZH_WIT_FLAGS:
    put(buf, cap, " { ");
    for (size_t i = 0; i < t->nfields; i++) {
      put(buf, cap, "%s%s", i ? ", " : "", t->fields[i].name ? t->fields[i].name : "");
      if (t->fields[i].type) {
        put(buf, cap, t->fields[i].name ? ": " : "");
        type_text(buf, cap, t->fields[i].type, depth + 1);
      }
    }
    put(buf, cap, " }");
    break;
  case ZH_WIT_RESOURCE:
    put(buf, cap, " %s", t->name ? t->name : "?");
    break;
  default:
    break;
  }
}

static void func_text(char *buf, size_t cap, const zh_wit_func *f) {
  buf[0] = 0;
  put(buf, cap, "%sfunc(", f->kind == ZH_WIT_FUNC_STATIC ? "static " : "");
  for (size_t i = 0; i < f->nparams; i++) {
    put(buf, cap, "%s%s: ", i ? ", " : "", f->params[i].name);
    type_text(buf, cap, f->params[i].type, 1);
  }
  put(buf, cap, ")");
  if (f->result) {
    put(buf, cap, " -> ");
    type_text(buf, cap, f->result, 1);
  }
}

/* ---- comparison ---- */

/* Resources from two parses are different objects: they are the same when their names and
 * defining interfaces' names are. */
static bool same_resource(const zh_wit_type *a, const zh_wit_type *b, void *env) {
  (void)env;
  if (!a->name || !b->name || strcmp(a->name, b->name) != 0)
    return false;
  if (!a->interface || !b->interface)
    return a->interface == b->interface;
  return a->interface->qualified && b->interface->qualified &&
         strcmp(a->interface->qualified, b->interface->qualified) == 0;
}

static bool types_equal(const zh_wit_type *a, const zh_wit_type *b) {
  return zh_wit_type_equal(a, b, same_resource, NULL);
}

/* A named type: same kind as written (an alias stays an alias, a resource a resource) and
 * the same structure. */
static bool named_type_equal(const zh_wit_type *a, const zh_wit_type *b) {
  if (a->kind != b->kind || a->from_use != b->from_use)
    return false;
  if (a->kind == ZH_WIT_RESOURCE)
    return same_resource(a, b, NULL);
  return types_equal(a, b);
}

static bool funcs_equal(const zh_wit_func *a, const zh_wit_func *b) {
  if (a->kind != b->kind || a->is_async != b->is_async || a->nparams != b->nparams)
    return false;
  for (size_t i = 0; i < a->nparams; i++)
    if (strcmp(a->params[i].name, b->params[i].name) != 0 ||
        !types_equal(a->params[i].type, b->params[i].type))
      return false;
  return types_equal(a->result, b->result);
}

/* Compares one interface; on the first difference writes "iface: item: ours vs theirs" to
 * msg and returns false. */
static bool compare_interface(const zh_wit_interface *ours, const zh_wit_interface *ref, char *msg,
                              size_t cap) {
  char a[1024], b[1024];
  msg[0] = 0;
  if (ours->ntypes != ref->ntypes) {
    snprintf(msg, cap, "%s: %zu named types, Spin's has %zu", ours->qualified, ours->ntypes,
             ref->ntypes);
    return false;
  }
  for (size_t i = 0; i < ours->ntypes; i++) {
    const zh_wit_type *x = ours->types[i], *y = ref->types[i];
    a[0] = b[0] = 0;
    type_text(a, sizeof a, x, 0);
    type_text(b, sizeof b, y, 0);
    if (strcmp(x->name, y->name) != 0 || !named_type_equal(x, y)) {
      snprintf(msg, cap, "%s: type %s: zerohop has `%s`, Spin has `%s` (named %s)", ours->qualified,
               x->name, a, b, y->name);
      return false;
    }
  }
  if (ours->nfuncs != ref->nfuncs) {
    snprintf(msg, cap, "%s: %zu functions, Spin's has %zu", ours->qualified, ours->nfuncs,
             ref->nfuncs);
    return false;
  }
  for (size_t i = 0; i < ours->nfuncs; i++) {
    const zh_wit_func *x = ours->funcs[i], *y = ref->funcs[i];
    func_text(a, sizeof a, x);
    func_text(b, sizeof b, y);
    if (strcmp(x->abi_name, y->abi_name) != 0 || !funcs_equal(x, y)) {
      snprintf(msg, cap, "%s: function %s: zerohop has `%s`, Spin has `%s` (as %s)",
               ours->qualified, x->abi_name, a, b, y->abi_name);
      return false;
    }
  }
  return true;
}

/* Compares every interface of one package with Spin's; returns the number of differences. */
static size_t compare_package(const zh_wit_package *pkg, const zh_wit *ref, size_t *ninterfaces) {
  size_t failures = 0;
  char msg[4096];
  {
    const zh_wit_package *rpkg = zh_wit_find_package(ref, pkg->name);
    if (!rpkg || !rpkg->version != !pkg->version ||
        (pkg->version && strcmp(pkg->version, rpkg->version) != 0)) {
      fprintf(stderr, "package %s: not in Spin's WIT\n", pkg->name);
      return 1;
    }
    for (size_t i = 0; i < pkg->ninterfaces; i++) {
      const zh_wit_interface *in = pkg->interfaces[i];
      const zh_wit_interface *rin = zh_wit_find_interface(rpkg, in->name);
      (*ninterfaces)++;
      if (!rin) {
        fprintf(stderr, "%s: no such interface in Spin's %s\n", in->qualified, rpkg->name);
        failures++;
      } else if (!compare_interface(in, rin, msg, sizeof msg)) {
        fprintf(stderr, "%s\n", msg);
        failures++;
      }
    }
  }
  return failures;
}

/* The hosted packages as built in: every package of zh_host_wit but the root (which only
 * lists them in worlds). */
static size_t compare_builtin(const zh_wit *ours, const zh_wit *ref, size_t *ninterfaces) {
  size_t failures = 0;
  for (size_t p = 0; p < zh_wit_package_count(ours); p++)
    if (zh_wit_package_at(ours, p) != zh_wit_root(ours))
      failures += compare_package(zh_wit_package_at(ours, p), ref, ninterfaces);
  return failures;
}

/* Each file of wit/spin/ parsed on its own (one package each, no dependencies). */
static size_t compare_files(const zh_wit *ref, size_t *nfiles, size_t *ninterfaces) {
  size_t failures = 0;
  DIR *d = opendir("wit/spin");
  if (!d) {
    perror("wit/spin");
    return 1;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    size_t len = strlen(e->d_name);
    if (len < 5 || strcmp(e->d_name + len - 4, ".wit") != 0)
      continue;
    char path[512];
    snprintf(path, sizeof path, "wit/spin/%s", e->d_name);
    uint8_t *text;
    size_t tlen;
    zh_wit *wit = NULL;
    zh_error *err = NULL;
    if (!zh_test_read_file(path, &text, &tlen)) {
      failures++;
      continue;
    }
    err = zh_wit_parse_string(path, (const char *)text, &wit);
    free(text);
    if (err) {
      fprintf(stderr, "%s\n", zh_error_message(err));
      zh_error_free(err);
      failures++;
      continue;
    }
    (*nfiles)++;
    failures += compare_package(zh_wit_root(wit), ref, ninterfaces);
    zh_wit_free(wit);
  }
  closedir(d);
  return failures;
}

/* A package of wit/spin/ with one edit, parsed alone. */
static zh_wit *doctored(const char *file, const char *from, const char *to) {
  uint8_t *text;
  size_t len;
  if (!zh_test_read_file(file, &text, &len))
    return NULL;
  char *at = strstr((char *)text, from);
  zh_wit *wit = NULL;
  if (at) {
    size_t pre = (size_t)(at - (char *)text), cap = len + strlen(to) + 1;
    char *edited = malloc(cap);
    if (edited) {
      snprintf(edited, cap, "%.*s%s%s", (int)pre, (char *)text, to, at + strlen(from));
      zh_error *err = zh_wit_parse_string(file, edited, &wit);
      if (err) {
        fprintf(stderr, "%s\n", zh_error_message(err));
        zh_error_free(err);
      }
      free(edited);
    }
  }
  free(text);
  return wit;
}

int main(void) {
  const zh_wit *ours;
  zh_error *err = zh_host_wit(&ours);
  CHECK(err == NULL);
  zh_wit *ref = NULL;
  zh_error *rerr = zh_wit_load_dir(REF_DIR, &ref);
  if (rerr)
    fprintf(stderr, "%s\n", zh_error_message(rerr));
  CHECK(rerr == NULL);
  if (err || rerr) {
    zh_error_free(err);
    zh_error_free(rerr);
    zh_wit_free(ref);
    TEST_SUMMARY();
  }

  /* Every hosted interface, compared: as built in, and file by file. fermyon:spin has 4,
   * fermyon:spin@2.0.0 4, wasi:keyvalue 3 and wasi:config 1. */
  size_t n = 0, nfile_ifaces = 0, nfiles = 0;
  CHECK_EQ_INT(compare_builtin(ours, ref, &n), 0);
  CHECK_EQ_INT(compare_files(ref, &nfiles, &nfile_ifaces), 0);
  CHECK_EQ_INT(nfiles, 4);
  CHECK_EQ_INT(n, 12);
  CHECK_EQ_INT(nfile_ifaces, n);
  const char *must[] = {
      "fermyon:spin/key-value@2.0.0",       "wasi:keyvalue/store@0.2.0-draft2",
      "wasi:keyvalue/atomics@0.2.0-draft2", "wasi:keyvalue/batch@0.2.0-draft2",
      "fermyon:spin/sqlite@2.0.0",          "fermyon:spin/variables@2.0.0",
      "fermyon:spin/redis@2.0.0",           "wasi:config/store@0.2.0-draft-2024-09-27",
      "fermyon:spin/inbound-http",          "fermyon:spin/inbound-redis"};
  for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
    CHECK(zh_host_interface(must[i]) != NULL);

  /* The comparison sees a changed result type, a renamed case and a missing function. */
  struct {
    const char *from, *to, *iface, *item, *ours, *theirs;
  } edits[] = {
      {"get-keys: func() -> result<list<string>, error>;",
       "get-keys: func() -> result<list<u8>, error>;", "fermyon:spin/key-value@2.0.0",
       "[method]store.get-keys", "result<list<u8>, error>", "result<list<string>, error>"},
      {"store-table-full,", "store-table-is-full,", "fermyon:spin/key-value@2.0.0", "type error",
       "store-table-is-full", "store-table-full"},
      {"get-keys: func() -> result<list<string>, error>;", "", "fermyon:spin/key-value@2.0.0",
       "functions", "5 functions", "has 6"},
  };
  for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
    zh_wit *bad = doctored("wit/spin/fermyon-spin@2.0.0.wit", edits[i].from, edits[i].to);
    CHECK(bad != NULL);
    if (!bad)
      continue;
    const zh_wit_interface *in =
        zh_wit_find_interface(zh_wit_find_package(bad, "fermyon:spin@2.0.0"), "key-value");
    const zh_wit_interface *rin =
        zh_wit_find_interface(zh_wit_find_package(ref, "fermyon:spin@2.0.0"), "key-value");
    char msg[4096];
    CHECK(in && rin && !compare_interface(in, rin, msg, sizeof msg));
    CHECK(strstr(msg, edits[i].iface) != NULL);
    CHECK(strstr(msg, edits[i].item) != NULL);
    CHECK(strstr(msg, edits[i].ours) != NULL && strstr(msg, edits[i].theirs) != NULL);
    if (getenv("ZH_TEST_VERBOSE"))
      fprintf(stderr, "doctored: %s\n", msg);
    zh_wit_free(bad);
  }
  zh_wit_free(ref);
  TEST_SUMMARY();
}
