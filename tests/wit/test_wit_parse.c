/* WIT parser and resolver: the model of valid packages (tests/wit/valid), every invalid case
 * of tests/wit/invalid (status, exact line:col and message), directory loading with deps/,
 * and hostile input (deep nesting, long chains, truncations, garbage) that must fail cleanly.
 * Data is found under $ZH_SRC (default "."): run from the repository root. */
#include "testlib.h"
#include "zerohop/wit.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *src_dir(void) {
  const char *s = getenv("ZH_SRC");
  return s && *s ? s : ".";
}

static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  size_t got;
  while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += got;
    if (cap - n < 2) {
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
  }
  fclose(f);
  if (buf)
    buf[n] = 0;
  return buf;
}

static zh_wit *parse_file(const char *rel) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", src_dir(), rel);
  char *text = read_text(path);
  if (!text) {
    fprintf(stderr, "cannot read %s\n", path);
    return NULL;
  }
  zh_wit *wit = NULL;
  zh_error *err = zh_wit_parse_string(rel, text, &wit);
  free(text);
  if (err) {
    fprintf(stderr, "%s: %s\n", rel, zh_error_message(err));
    zh_error_free(err);
  }
  return wit;
}

static const zh_wit_type *itype(const zh_wit_interface *i, const char *name) {
  const zh_wit_type *t = zh_wit_interface_type(i, name);
  if (!t)
    fprintf(stderr, "no type %s\n", name);
  return t;
}

static zh_wit_type_kind alias_kind(const zh_wit_interface *i, const char *name) {
  const zh_wit_type *t = itype(i, name);
  return t && t->kind == ZH_WIT_ALIAS && t->elem ? t->elem->kind : (zh_wit_type_kind)-1;
}

/* ---- every type kind ---- */

static void test_types(void) {
  zh_wit *wit = parse_file("tests/wit/valid/types.wit");
  CHECK(wit != NULL);
  if (!wit)
    return;
  const zh_wit_package *pkg = zh_wit_root(wit);
  CHECK(strcmp(pkg->name, "zh:types@0.1.0-rc.1+build.7") == 0);
  CHECK(strcmp(pkg->ns, "zh") == 0 && strcmp(pkg->pkg, "types") == 0);
  CHECK(strcmp(pkg->version, "0.1.0-rc.1+build.7") == 0);
  CHECK_EQ_INT(zh_wit_package_count(wit), 1);
  CHECK(zh_wit_find_package(wit, "zh:types") == pkg);
  const zh_wit_interface *k = zh_wit_find_interface(pkg, "kinds");
  CHECK(k != NULL);
  if (!k)
    goto out;
  CHECK(strcmp(k->qualified, "zh:types/kinds@0.1.0-rc.1+build.7") == 0);
  CHECK(k->package == pkg);
  CHECK_EQ_INT(k->ntypes, 32);
  CHECK_EQ_INT(k->nfuncs, 5);
  CHECK_EQ_INT(k->ndeps, 0);

  static const struct {
    const char *name;
    zh_wit_type_kind kind;
  } prims[] = {
      {"t-bool", ZH_WIT_BOOL},   {"t-s8", ZH_WIT_S8},      {"t-s16", ZH_WIT_S16},
      {"t-s32", ZH_WIT_S32},     {"t-s64", ZH_WIT_S64},    {"t-u8", ZH_WIT_U8},
      {"t-u16", ZH_WIT_U16},     {"t-u32", ZH_WIT_U32},    {"t-u64", ZH_WIT_U64},
      {"t-f32", ZH_WIT_F32},     {"t-f64", ZH_WIT_F64},    {"t-float32", ZH_WIT_F32},
      {"t-float64", ZH_WIT_F64}, {"t-char", ZH_WIT_CHAR},  {"t-string", ZH_WIT_STRING},
      {"bytes", ZH_WIT_LIST},    {"maybe", ZH_WIT_OPTION}, {"r0", ZH_WIT_RESULT},
      {"pair", ZH_WIT_TUPLE},    {"fut", ZH_WIT_FUTURE},   {"strm", ZH_WIT_STREAM},
  };
  for (size_t i = 0; i < sizeof prims / sizeof prims[0]; i++)
    CHECK_EQ_INT(alias_kind(k, prims[i].name), prims[i].kind);
  CHECK(strcmp(zh_wit_type_kind_name(ZH_WIT_U16), "u16") == 0);
  CHECK(strcmp(zh_wit_type_kind_name(ZH_WIT_VARIANT), "variant") == 0);

  const zh_wit_type *errno_t = itype(k, "errno"), *point = itype(k, "point");
  const zh_wit_type *shape = itype(k, "shape"), *perms = itype(k, "perms");
  CHECK(errno_t && errno_t->kind == ZH_WIT_ENUM && errno_t->nfields == 3);
  CHECK(errno_t && errno_t->interface == k && strcmp(errno_t->name, "errno") == 0);
  CHECK(errno_t && strcmp(errno_t->fields[1].name, "too-big") == 0);
  CHECK(errno_t && strcmp(errno_t->fields[2].name, "type") == 0); /* `%type` */
  CHECK(errno_t && errno_t->fields[0].type == NULL);

  const zh_wit_type *r0 = itype(k, "r0")->elem, *r1 = itype(k, "r1")->elem;
  const zh_wit_type *r2 = itype(k, "r2")->elem, *r3 = itype(k, "r3")->elem;
  CHECK(!r0->elem && !r0->err);
  CHECK(r1->elem && r1->elem->kind == ZH_WIT_U32 && !r1->err);
  CHECK(!r2->elem && r2->err == errno_t);
  CHECK(r3->elem == point && r3->err == errno_t);
  CHECK(itype(k, "fut0")->elem->elem == NULL);
  CHECK(itype(k, "strm")->elem->elem->kind == ZH_WIT_U8);

  const zh_wit_type *pair = itype(k, "pair")->elem;
  CHECK_EQ_INT(pair->nfields, 2);
  CHECK(pair->fields[0].name == NULL && pair->fields[0].type->kind == ZH_WIT_U32);
  CHECK(pair->fields[1].type->kind == ZH_WIT_STRING);

  /* list<option<result<tuple<s8, list<list<u8>>>, string>>> */
  const zh_wit_type *t = itype(k, "nested")->elem;
  CHECK(t->kind == ZH_WIT_LIST && (t = t->elem)->kind == ZH_WIT_OPTION);
  CHECK((t = t->elem)->kind == ZH_WIT_RESULT && t->err->kind == ZH_WIT_STRING);
  CHECK((t = t->elem)->kind == ZH_WIT_TUPLE && t->nfields == 2);
  CHECK(t->fields[0].type->kind == ZH_WIT_S8);
  t = t->fields[1].type;
  CHECK(t->kind == ZH_WIT_LIST && t->elem->kind == ZH_WIT_LIST && t->elem->elem->kind == ZH_WIT_U8);

  const zh_wit_type *later = itype(k, "later");
  CHECK(later->kind == ZH_WIT_ALIAS && later->elem == errno_t && !later->from_use);
  CHECK(zh_wit_type_unalias(later) == errno_t);

  CHECK(point->kind == ZH_WIT_RECORD && point->nfields == 3);
  const zh_wit_field *label = zh_wit_type_field(point, "label");
  CHECK(label && label->type->kind == ZH_WIT_OPTION && label->type->elem->kind == ZH_WIT_STRING);
  CHECK(zh_wit_type_field(point, "z") == NULL);

  CHECK(shape->kind == ZH_WIT_VARIANT && shape->nfields == 3);
  CHECK(shape->fields[0].type == NULL);
  CHECK(shape->fields[1].type->kind == ZH_WIT_F64);
  CHECK(shape->fields[2].type->kind == ZH_WIT_LIST && shape->fields[2].type->elem == point);

  CHECK(perms->kind == ZH_WIT_FLAGS && perms->nfields == 3);
  CHECK(strcmp(perms->fields[2].name, "exec") == 0);
  const zh_wit_type *rec = itype(k, "record");
  CHECK(rec && rec->kind == ZH_WIT_RECORD && zh_wit_type_field(rec, "list") != NULL);

  const zh_wit_func *area = zh_wit_interface_func(k, "area");
  CHECK(area && area->kind == ZH_WIT_FUNC_FREESTANDING && area->nparams == 1);
  CHECK(area && area->params[0].type == shape && area->result->kind == ZH_WIT_F64);
  const zh_wit_func *noop = zh_wit_interface_func(k, "noop");
  CHECK(noop && noop->nparams == 0 && noop->result == NULL);
  const zh_wit_func *classify = zh_wit_interface_func(k, "classify");
  CHECK(classify && classify->nparams == 2 && classify->result->kind == ZH_WIT_RESULT);
  CHECK(classify && classify->result->elem == shape);
  CHECK(classify && strcmp(classify->params[1].name, "scale") == 0);
  const zh_wit_func *spawn = zh_wit_interface_func(k, "spawn");
  CHECK(spawn && spawn->is_async && spawn->result->kind == ZH_WIT_STREAM);
  CHECK(zh_wit_interface_func(k, "RESET") != NULL);
  CHECK(zh_wit_interface_func(k, "reset") == NULL);
out:
  zh_wit_free(wit);
}

/* ---- resources ---- */

static void test_resources(void) {
  zh_wit *wit = parse_file("tests/wit/valid/resources.wit");
  CHECK(wit != NULL);
  if (!wit)
    return;
  const zh_wit_package *pkg = zh_wit_root(wit);
  CHECK(strcmp(pkg->name, "zh:res") == 0 && pkg->version == NULL);
  const zh_wit_interface *b = zh_wit_find_interface(pkg, "blobs");
  const zh_wit_interface *u = zh_wit_find_interface(pkg, "users");
  CHECK(b && u);
  if (!b || !u)
    goto out;
  const zh_wit_type *blob = itype(b, "blob"), *plain = itype(b, "plain");
  CHECK(blob->kind == ZH_WIT_RESOURCE && blob->nfuncs == 5);
  CHECK(plain->kind == ZH_WIT_RESOURCE && plain->nfuncs == 0);
  CHECK_EQ_INT(b->nfuncs, 8); /* 5 of blob, 1 of fallible, open, inspect */

  const zh_wit_func *ctor = zh_wit_interface_func(b, "[constructor]blob");
  CHECK(ctor && ctor == blob->funcs[0] && ctor->kind == ZH_WIT_FUNC_CONSTRUCTOR);
  CHECK(ctor && ctor->resource == blob && ctor->nparams == 1);
  CHECK(ctor && ctor->result->kind == ZH_WIT_OWN && ctor->result->elem == blob);
  const zh_wit_func *read = zh_wit_interface_func(b, "[method]blob.read");
  CHECK(read && read->kind == ZH_WIT_FUNC_METHOD && strcmp(read->name, "read") == 0);
  CHECK(read && read->nparams == 2 && strcmp(read->params[0].name, "self") == 0);
  CHECK(read && read->params[0].type->kind == ZH_WIT_BORROW && read->params[0].type->elem == blob);
  CHECK(read && read->result->kind == ZH_WIT_LIST);
  CHECK(zh_wit_interface_func(b, "read") == NULL); /* resource functions go by ABI name */
  const zh_wit_func *merge = zh_wit_interface_func(b, "[static]blob.merge");
  CHECK(merge && merge->kind == ZH_WIT_FUNC_STATIC && merge->nparams == 2);
  CHECK(merge && merge->params[0].type->kind == ZH_WIT_BORROW);
  CHECK(merge && merge->result->kind == ZH_WIT_OWN && merge->result->elem == blob);
  CHECK(zh_wit_interface_func(b, "[method]blob.size") == blob->funcs[4]);

  const zh_wit_func *fctor = zh_wit_interface_func(b, "[constructor]fallible");
  CHECK(fctor && fctor->result->kind == ZH_WIT_RESULT);
  CHECK(fctor && fctor->result->elem->kind == ZH_WIT_OWN);
  CHECK(fctor && fctor->result->err->kind == ZH_WIT_STRING);

  const zh_wit_type *alias = itype(b, "blob-alias");
  CHECK(alias->kind == ZH_WIT_ALIAS && alias->elem == blob); /* the resource, not own<> */
  const zh_wit_type *holder = itype(b, "holder");
  CHECK(holder->fields[0].type->kind == ZH_WIT_OWN && holder->fields[0].type->elem == blob);
  CHECK(holder->fields[1].type->kind == ZH_WIT_OWN && holder->fields[1].type->elem == plain);
  const zh_wit_func *inspect = zh_wit_interface_func(b, "inspect");
  CHECK(inspect && inspect->params[1].type->kind == ZH_WIT_OWN);
  CHECK(inspect && inspect->params[1].type->elem == alias);
  CHECK(inspect && zh_wit_type_unalias(inspect->params[1].type->elem) == blob);

  CHECK_EQ_INT(u->ndeps, 1);
  CHECK(u->deps[0] == b);
  const zh_wit_type *ublob = itype(u, "blob"), *other = itype(u, "other");
  CHECK(ublob->kind == ZH_WIT_ALIAS && ublob->from_use && ublob->elem == blob);
  CHECK(ublob->interface == u);
  CHECK(other->elem == blob && zh_wit_type_unalias(other) == blob);
  const zh_wit_func *take = zh_wit_interface_func(u, "take");
  CHECK(take && take->params[0].type->kind == ZH_WIT_OWN && take->params[0].type->elem == other);
  CHECK(take && take->result == itype(u, "holder"));
  CHECK(zh_wit_type_unalias(take->result) == holder);

  const zh_wit_world *host = zh_wit_find_world(pkg, "host");
  CHECK(host && host->nimports == 2 && host->nexports == 2);
  if (host) {
    CHECK(strcmp(host->qualified, "zh:res/host") == 0);
    CHECK(host->imports[0].iface == b && host->imports[0].implicit);
    CHECK(host->imports[1].iface == u && !host->imports[1].implicit);
    CHECK(host->imports[1].interface_name && strcmp(host->imports[1].name, "zh:res/users") == 0);
    const zh_wit_world_item *run = zh_wit_world_export(host, "run");
    CHECK(run && run->kind == ZH_WIT_ITEM_FUNC && !run->interface_name);
    CHECK(run && run->func->result->kind == ZH_WIT_RESULT && run->func->result->elem == NULL);
    CHECK(zh_wit_world_export(host, "zh:res/blobs") != NULL);
  }
out:
  zh_wit_free(wit);
}

/* ---- a multi-file package with deps/ ---- */

static void test_app_dir(void) {
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/tests/wit/valid/app", src_dir());
  zh_wit *wit = NULL;
  zh_error *err = zh_wit_load_dir(dir, &wit);
  if (err)
    fprintf(stderr, "app: %s\n", zh_error_message(err));
  CHECK(err == NULL);
  zh_error_free(err);
  if (!wit)
    return;
  CHECK_EQ_INT(zh_wit_package_count(wit), 3);
  const zh_wit_package *io = zh_wit_package_at(wit, 0), *clocks = zh_wit_package_at(wit, 1);
  const zh_wit_package *app = zh_wit_package_at(wit, 2);
  CHECK(app == zh_wit_root(wit));
  CHECK(strcmp(io->name, "wasi:io@0.2.0") == 0 && strcmp(clocks->name, "wasi:clocks@0.2.0") == 0);
  CHECK(strcmp(app->name, "zh:app@1.2.0") == 0);
  CHECK(zh_wit_find_package(wit, "wasi:io") == io);
  CHECK(zh_wit_find_package(wit, "wasi:io@0.2.0") == io);
  CHECK(zh_wit_find_package(wit, "wasi:io@0.3.0") == NULL);
  CHECK_EQ_INT(app->ninterfaces, 2);
  CHECK_EQ_INT(app->nworlds, 2);
  CHECK_EQ_INT(clocks->nworlds, 1);

  const zh_wit_interface *types = zh_wit_find_interface(app, "types");
  const zh_wit_interface *store = zh_wit_find_interface(app, "store");
  const zh_wit_interface *wall = zh_wit_find_interface(clocks, "wall");
  const zh_wit_interface *streams = zh_wit_find_interface(io, "streams");
  CHECK(types && store && wall && streams);
  if (!types || !store || !wall || !streams)
    goto out;
  CHECK_EQ_INT(types->ndeps, 2);
  CHECK(types->deps[0] == wall && types->deps[1] == streams);
  const zh_wit_type *entry = itype(types, "entry");
  const zh_wit_type *stamp = zh_wit_type_field(entry, "stamp")->type;
  CHECK(stamp == itype(types, "datetime") && stamp->from_use);
  CHECK(zh_wit_type_unalias(stamp) == itype(wall, "datetime"));
  CHECK(zh_wit_type_unalias(stamp)->interface == wall);
  const zh_wit_func *read = zh_wit_interface_func(types, "read");
  const zh_wit_type *input = read->params[0].type;
  CHECK(input->kind == ZH_WIT_BORROW && input->elem == itype(types, "input"));
  CHECK(zh_wit_type_unalias(input->elem) == itype(streams, "input-stream"));

  /* `watch` uses a name brought in by a later `use`, through a top-level `use ... as`. */
  const zh_wit_func *watch = zh_wit_interface_func(store, "watch");
  CHECK(watch && watch->result->kind == ZH_WIT_OWN);
  CHECK(watch && zh_wit_type_unalias(watch->result->elem) == itype(streams, "output-stream"));
  CHECK(store->ndeps == 2 && store->deps[0] == types && store->deps[1] == streams);

  const zh_wit_world *base = zh_wit_find_world(app, "base");
  CHECK(base && base->nimports == 4 && base->nexports == 1);
  if (base) {
    CHECK(base->imports[0].implicit && strcmp(base->imports[0].name, "wasi:io/error@0.2.0") == 0);
    CHECK(base->imports[2].iface == wall && !base->imports[2].implicit);
  }
  const zh_wit_world *w = zh_wit_find_world(app, "app");
  CHECK(w && w->nimports == 11 && w->nexports == 3);
  if (!w)
    goto out;
  CHECK(strcmp(w->qualified, "zh:app/app@1.2.0") == 0 && w->package == app);
  const zh_wit_world_item *it = zh_wit_world_import(w, "base-log");
  CHECK(it && it->kind == ZH_WIT_ITEM_FUNC && !it->interface_name);
  CHECK(zh_wit_world_import(w, "wasi:clocks/wall@0.2.0") != NULL);
  it = zh_wit_world_import(w, "log");
  CHECK(it && it->kind == ZH_WIT_ITEM_INTERFACE && it->iface->name == NULL);
  CHECK(it && it->iface->world == w && it->iface->nfuncs == 1 && it->iface->deps[0] == types);
  it = zh_wit_world_import(w, "backup");
  CHECK(it && it->kind == ZH_WIT_ITEM_INTERFACE && it->iface == store && !it->interface_name);
  it = zh_wit_world_import(w, "zh:app/store@1.2.0");
  CHECK(it && it->interface_name && !it->implicit);
  it = zh_wit_world_import(w, "zh:app/types@1.2.0");
  CHECK(it && it->implicit);
  it = zh_wit_world_import(w, "entry");
  CHECK(it && it->kind == ZH_WIT_ITEM_TYPE && it->type->from_use);
  CHECK(it && zh_wit_type_unalias(it->type) == entry && it->type->world == w);
  const zh_wit_world_item *key = zh_wit_world_import(w, "key");
  CHECK(key && key->kind == ZH_WIT_ITEM_TYPE && key->type->elem->kind == ZH_WIT_STRING);
  it = zh_wit_world_import(w, "lookup");
  CHECK(it && it->func->params[0].type == key->type);
  CHECK(it && it->func->result->elem == zh_wit_world_import(w, "entry")->type);
  CHECK(zh_wit_world_export(w, "run") != NULL);
  CHECK(zh_wit_world_export(w, "zh:app/store@1.2.0") != NULL);
  CHECK(zh_wit_world_export(w, "handler") != NULL);
  CHECK(zh_wit_world_export(w, "log") == NULL);
out:
  zh_wit_free(wit);
}

/* ---- invalid documents ---- */

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Each file's first line: `// expect: LINE:COL: substring of the message`. */
static int run_invalid_case(const char *dir, const char *name) {
  char path[2048];
  int pl = snprintf(path, sizeof path, "%s/%s", dir, name);
  char *text = pl > 0 && (size_t)pl < sizeof path ? read_text(path) : NULL;
  if (!text) {
    fprintf(stderr, "%s: cannot read\n", path);
    return 0;
  }
  const char *tag = "// expect: ";
  unsigned line = 0, col = 0;
  int used = 0;
  int ok = strncmp(text, tag, strlen(tag)) == 0 &&
           sscanf(text + strlen(tag), "%u:%u: %n", &line, &col, &used) == 2 && used > 0;
  if (!ok) {
    fprintf(stderr, "%s: no `// expect: LINE:COL: message` line\n", name);
    free(text);
    return 0;
  }
  const char *want = text + strlen(tag) + used;
  size_t want_len = strcspn(want, "\n");
  zh_wit *wit = NULL;
  zh_error *err = zh_wit_parse_string(name, text, &wit);
  char prefix[1200];
  int pn = snprintf(prefix, sizeof prefix, "%s:%u:%u: ", name, line, col);
  if (pn < 0 || (size_t)pn >= sizeof prefix)
    prefix[0] = 0;
  const char *msg = err ? zh_error_message(err) : "";
  int good = err && zh_error_status(err) == ZH_ERR_INVALID &&
             strncmp(msg, prefix, strlen(prefix)) == 0 &&
             memmem(msg, strlen(msg), want, want_len) != NULL;
  if (!good)
    fprintf(stderr, "%s: expected %s%.*s\n  got %s\n", name, prefix, (int)want_len, want,
            err ? msg : "success");
  zh_error_free(err);
  zh_wit_free(wit);
  free(text);
  return good;
}

static void test_invalid(void) {
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/tests/wit/invalid", src_dir());
  DIR *d = opendir(dir);
  CHECK(d != NULL);
  if (!d)
    return;
  char *names[512];
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && n < 512) {
    size_t len = strlen(e->d_name);
    if (len > 4 && strcmp(e->d_name + len - 4, ".wit") == 0)
      names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof names[0], cmp_str);
  size_t passed = 0;
  for (size_t i = 0; i < n; i++) {
    passed += (size_t)run_invalid_case(dir, names[i]);
    free(names[i]);
  }
  printf("invalid cases: %zu of %zu as expected\n", passed, n);
  CHECK(n >= 40);
  CHECK_EQ_INT(passed, n);
}

/* ---- directories ---- */

static void write_file(const char *dir, const char *name, const char *text) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (f) {
    fputs(text, f);
    fclose(f);
  }
}

static void remove_tree(const char *dir) {
  DIR *d = opendir(dir);
  if (!d)
    return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
      remove_tree(path);
    else
      unlink(path);
  }
  closedir(d);
  rmdir(dir);
}

/* Loads a temporary directory made of (relative path, text) pairs. */
static zh_error *load_tree(const char *const *files, size_t n) {
  char dir[] = "/tmp/zh-wit-XXXXXX";
  if (!mkdtemp(dir))
    return zh_error_new(ZH_ERR_IO, "mkdtemp failed");
  char sub[1024];
  snprintf(sub, sizeof sub, "%s/deps", dir);
  mkdir(sub, 0700);
  snprintf(sub, sizeof sub, "%s/deps/dir", dir);
  mkdir(sub, 0700);
  for (size_t i = 0; i + 1 < n; i += 2)
    write_file(dir, files[i], files[i + 1]);
  zh_wit *wit = NULL;
  zh_error *err = zh_wit_load_dir(dir, &wit);
  zh_wit_free(wit);
  remove_tree(dir);
  return err;
}

static void expect_dir_error(const char *const *files, size_t n, zh_status status,
                             const char *substring) {
  zh_error *err = load_tree(files, n);
  int ok = err && zh_error_status(err) == status && strstr(zh_error_message(err), substring);
  if (!ok)
    fprintf(stderr, "dir: expected \"%s\", got %s\n", substring,
            err ? zh_error_message(err) : "success");
  CHECK(ok);
  zh_error_free(err);
}

static void test_dirs(void) {
  const char *ok[] = {"a.wit",           "package a:x;\ninterface i { use b:y/j.{t}; }\n",
                      "b.wit",           "interface k { use i.{t}; f: func(x: t); }\n",
                      "deps/dir/j.wit",  "package b:y;\ninterface j { type t = u8; }\n",
                      "deps/readme.txt", "not WIT"};
  zh_error *err = load_tree(ok, 8);
  if (err)
    fprintf(stderr, "dir: %s\n", zh_error_message(err));
  CHECK(err == NULL);
  zh_error_free(err);

  const char *no_pkg[] = {"a.wit", "interface i {}\n"};
  expect_dir_error(no_pkg, 2, ZH_ERR_INVALID, "no `package` declaration");
  const char *mismatch[] = {"a.wit", "package a:x;\n", "b.wit", "package a:y;\n"};
  expect_dir_error(mismatch, 4, ZH_ERR_INVALID, "b.wit:1:9: package `a:y` does not match");
  const char *missing[] = {"a.wit", "package a:x;\ninterface i { use c:d/j.{t}; }\n"};
  expect_dir_error(missing, 2, ZH_ERR_INVALID, "a.wit:2:19: package `c:d` is not defined");
  const char *cyc[] = {
      "a.wit",          "package a:x;\ninterface i { use b:y/j.{t}; type u = u8; }\n",
      "deps/b.wit",     "package b:y;\ninterface j { use c:z/k.{v}; type t = u8; }\n",
      "deps/dir/c.wit", "package c:z;\ninterface k { use b:y/j.{t}; type v = u8; }\n"};
  expect_dir_error(cyc, 6, ZH_ERR_INVALID, "deps cycle: b:y -> c:z -> b:y");
  const char *bad_dep[] = {"a.wit", "package a:x;\n", "deps/b.wit", "package b:y;\ninterface {}\n"};
  expect_dir_error(bad_dep, 4, ZH_ERR_INVALID, "deps/b.wit:2:11: expected an identifier");
  const char *empty[] = {"notes.txt", "nothing"};
  expect_dir_error(empty, 2, ZH_ERR_INVALID, "no .wit files");

  zh_wit *wit = NULL;
  err = zh_wit_load_dir("/nonexistent/zh-wit", &wit);
  CHECK(err && zh_error_status(err) == ZH_ERR_IO && wit == NULL);
  zh_error_free(err);
  err = zh_wit_parse_string("x.wit", NULL, &wit);
  CHECK(err && zh_error_status(err) == ZH_ERR_USAGE);
  zh_error_free(err);
  err = zh_wit_parse_string("x.wit", "", &wit);
  CHECK(err && zh_error_status(err) == ZH_ERR_INVALID);
  zh_error_free(err);
  CHECK(zh_wit_root(NULL) == NULL && zh_wit_package_count(NULL) == 0);
  zh_wit_free(NULL);
}

/* ---- hostile input ---- */

static char *build(size_t cap, const char *head, const char *rep, size_t n, const char *mid,
                   const char *rep2, size_t n2, const char *tail) {
  char *s = malloc(cap);
  if (!s)
    return NULL;
  size_t len = (size_t)snprintf(s, cap, "%s", head);
  for (size_t i = 0; i < n; i++)
    len += (size_t)snprintf(s + len, cap - len, rep, (unsigned)i, (unsigned)i + 1);
  len += (size_t)snprintf(s + len, cap - len, "%s", mid);
  for (size_t i = 0; i < n2; i++)
    len += (size_t)snprintf(s + len, cap - len, "%s", rep2);
  snprintf(s + len, cap - len, "%s", tail);
  return s;
}

static void expect_parse_error(const char *what, const char *text, const char *substring) {
  zh_wit *wit = NULL;
  zh_error *err = text ? zh_wit_parse_string(what, text, &wit) : NULL;
  int ok = err && zh_error_status(err) == ZH_ERR_INVALID &&
           strstr(zh_error_message(err), substring) && !wit;
  if (!ok)
    fprintf(stderr, "%s: expected \"%s\", got %s\n", what, substring,
            err ? zh_error_message(err) : "success");
  CHECK(ok);
  zh_error_free(err);
  zh_wit_free(wit);
}

static void test_hostile(void) {
  /* 20000 nested lists: rejected at level 101, no deep recursion. */
  char *deep = build(200000, "package a:b;\ninterface i { type t = ", "list<", 20000, "u8", ">",
                     20000, "; }\n");
  expect_parse_error("deep", deep, "types nest too deeply");
  free(deep);
  /* 5000 chained aliases (a0 = a1, ...): the chain bound stops it. */
  char *chain = build(200000, "package a:b;\ninterface i {\n", "type a%u = a%u;\n", 5000,
                      "type a5000 = u8;\n", "", 0, "}\n");
  expect_parse_error("alias-chain", chain, "nest too deeply");
  free(chain);
  /* 3000 interfaces each using the next. */
  char *ifaces = build(400000, "package a:b;\n", "interface i%u { use i%u.{t}; }\n", 3000,
                       "interface i3000 { type t = u8; }\n", "", 0, "");
  expect_parse_error("iface-chain", ifaces, "nest too deeply");
  free(ifaces);
  /* A long but legal chain passes. */
  char *ok = build(200000, "package a:b;\ninterface i {\n", "type a%u = a%u;\n", 300,
                   "type a300 = u8;\n", "", 0, "}\n");
  zh_wit *wit = NULL;
  zh_error *err = zh_wit_parse_string("ok-chain", ok, &wit);
  CHECK(err == NULL && wit && zh_wit_find_interface(zh_wit_root(wit), "i")->ntypes == 301);
  zh_error_free(err);
  zh_wit_free(wit);
  free(ok);

  /* Every prefix of a valid document fails cleanly or succeeds, never crashes. */
  char path[1024];
  snprintf(path, sizeof path, "%s/tests/wit/valid/resources.wit", src_dir());
  char *text = read_text(path);
  CHECK(text != NULL);
  size_t len = text ? strlen(text) : 0, failures = 0;
  for (size_t cut = 0; cut < len; cut++) {
    char saved = text[cut];
    text[cut] = 0;
    wit = NULL;
    err = zh_wit_parse_string("prefix", text, &wit);
    failures += err != NULL;
    if (err && zh_error_status(err) != ZH_ERR_INVALID)
      CHECK(!"prefix: status other than ZH_ERR_INVALID");
    zh_error_free(err);
    zh_wit_free(wit);
    text[cut] = saved;
  }
  CHECK(failures > len / 2);
  free(text);

  /* Pseudo-random bytes drawn from WIT's alphabet. */
  static const char alphabet[] = "abcz-%:;,.{}()<>=@/*_ \n0123456789\"'`record use interface "
                                 "world func list<u8> result<_, e> package a:b@1.0.0; ";
  uint32_t seed = 12345;
  char buf[512];
  for (int round = 0; round < 2000; round++) {
    size_t n = (size_t)(round % 400) + 1;
    for (size_t i = 0; i < n; i++) {
      seed = seed * 1103515245u + 12345u;
      buf[i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
    }
    buf[n] = 0;
    wit = NULL;
    err = zh_wit_parse_string("random", buf, &wit);
    zh_error_free(err);
    zh_wit_free(wit);
  }
  CHECK(1); /* reaching here is the test */
}

int main(void) {
  test_types();
  test_resources();
  test_app_dir();
  test_invalid();
  test_dirs();
  test_hostile();
  TEST_SUMMARY();
}
