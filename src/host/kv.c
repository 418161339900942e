/* Key-value state of the app host (kv.h): the app's labelled stores, each instance's
 * handles, and the linker definitions of both interfaces. The app's part is immutable after
 * zh_host_kv_stores_new (the backends do their own locking), so instances on every thread
 * read it without a lock; an instance's part belongs to the one thread running it. */
#include "host/kv_internal.h"
#include "host/spin_wit.h"
#include "wasm/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define KV_DEFAULT_FILE "sqlite_key_value.db"

/* ---- the app's stores ---- */

void zh_host_kv_stores_free(zh_host_kv_stores *s) {
  if (!s)
    return;
  for (size_t i = 0; i < s->nlabels; i++)
    free(s->labels[i].label);
  for (size_t i = 0; i < s->nbackends; i++)
    zh_host_kv_backend_close(s->backends[i]);
  free(s->labels);
  free(s->backends);
  free(s);
}

/* The SQLite backend of `path`, opened once per file whatever the labels on it: the
 * backend owns its file (one connection per file, kv_sqlite.c), so two spellings of one path
 * must share it too, which the file's device and inode tell. */
typedef struct opened_file {
  char *path;
  dev_t dev;
  ino_t ino;
  zh_host_kv_backend *backend;
} opened_file;

static zh_error *sqlite_backend_for(zh_host_kv_stores *s, opened_file **files, size_t *nfiles,
                                    const char *path, zh_host_kv_backend **out) {
  struct stat st;
  bool exists = stat(path, &st) == 0;
  for (size_t i = 0; i < *nfiles; i++)
    if (strcmp((*files)[i].path, path) == 0 ||
        (exists && (*files)[i].ino && (*files)[i].dev == st.st_dev &&
         (*files)[i].ino == st.st_ino)) {
      *out = (*files)[i].backend;
      return NULL;
    }
  opened_file *grown = realloc(*files, (*nfiles + 1) * sizeof *grown);
  if (!grown)
    return zh_error_new(ZH_ERR_RESOURCE, "key-value: out of memory");
  *files = grown;
  zh_error *err = zh_host_kv_sqlite_open(path, out);
  if (err)
    return err;
  s->backends[s->nbackends++] = *out;
  if (!(grown[*nfiles].path = strdup(path)))
    return zh_error_new(ZH_ERR_RESOURCE, "key-value: out of memory");
  bool known = stat(path, &st) == 0; /* created by the open if it was not there */
  grown[*nfiles].dev = known ? st.st_dev : 0;
  grown[*nfiles].ino = known ? st.st_ino : 0;
  grown[(*nfiles)++].backend = *out;
  return NULL;
}

static zh_error *default_path(const char *state_dir, char **out) {
  const char *dir = state_dir && *state_dir ? state_dir : ".zerohop";
  if (mkdir(dir, 0777) != 0 && errno != EEXIST)
    return zh_error_new(ZH_ERR_IO, "key-value: state directory %s: %s", dir, strerror(errno));
  size_t n = strlen(dir) + sizeof KV_DEFAULT_FILE + 1;
  if (!(*out = malloc(n)))
    return zh_error_new(ZH_ERR_RESOURCE, "key-value: out of memory");
  snprintf(*out, n, "%s/%s", dir, KV_DEFAULT_FILE);
  return NULL;
}

static zh_error *add_label(zh_host_kv_stores *s, const zh_host_kv_store_config *c,
                           const char *default_file, opened_file **files, size_t *nfiles,
                           unsigned timeout_ms) {
  if (!c->label)
    return zh_error_new(ZH_ERR_USAGE, "key-value store without a label");
  for (size_t i = 0; i < s->nlabels; i++)
    if (strcmp(s->labels[i].label, c->label) == 0)
      return zh_error_new(ZH_ERR_USAGE, "key-value store `%s` is defined twice", c->label);
  zh_host_kv_backend *b = NULL;
  zh_error *err;
  if (c->type == ZH_HOST_KV_REDIS) {
    if (!c->url)
      return zh_error_new(ZH_ERR_USAGE, "key-value store `%s`: type redis needs a url", c->label);
    err = zh_host_kv_redis_open(c->url, timeout_ms, &b);
    if (!err)
      s->backends[s->nbackends++] = b;
  } else if (c->type == ZH_HOST_KV_SQLITE) {
    const char *path = c->path ? c->path : default_file;
    err = path ? sqlite_backend_for(s, files, nfiles, path, &b)
               : zh_error_new(ZH_ERR_USAGE, "no SQLite file"); /* default_file is set first */
  } else {
    err = zh_error_new(ZH_ERR_USAGE, "key-value store `%s`: unknown type %d", c->label, c->type);
  }
  if (err)
    return zh_error_prefix(err, "key-value store `%s`", c->label);
  kv_label *l = &s->labels[s->nlabels];
  if (!(l->label = strdup(c->label)))
    return zh_error_new(ZH_ERR_RESOURCE, "key-value: out of memory");
  l->backend = b;
  s->nlabels++;
  return NULL;
}

zh_error *zh_host_kv_stores_new(const zh_host_kv_config *config, zh_host_kv_stores **out) {
  *out = NULL;
  zh_host_kv_stores *s = calloc(1, sizeof *s);
  size_t max = config->nstores + 1; /* every configured label and `default` */
  if (!s || !(s->labels = calloc(max, sizeof *s->labels)) ||
      !(s->backends = calloc(max, sizeof(zh_host_kv_backend *)))) {
    zh_host_kv_stores_free(s);
    return zh_error_new(ZH_ERR_RESOURCE, "key-value: out of memory");
  }
  s->list_keys_page = config->list_keys_page ? config->list_keys_page : 1000;
  opened_file *files = NULL;
  size_t nfiles = 0;
  char *default_file = NULL;
  zh_error *err = NULL;
  bool has_default = false;
  for (size_t i = 0; i < config->nstores; i++) {
    if (!config->stores[i].label) {
      err = zh_error_new(ZH_ERR_USAGE, "key-value store %zu has no label", i);
      break;
    }
    has_default |= strcmp(config->stores[i].label, "default") == 0;
    /* The default file is needed by any SQLite store without a path. */
    if (!default_file && config->stores[i].type == ZH_HOST_KV_SQLITE && !config->stores[i].path)
      err = default_path(config->state_dir, &default_file);
  }
  bool add_default = !has_default && !config->no_default;
  if (!err && add_default && !default_file)
    err = default_path(config->state_dir, &default_file);
  for (size_t i = 0; i < config->nstores && !err; i++)
    err = add_label(s, &config->stores[i], default_file, &files, &nfiles, config->redis_timeout_ms);
  if (!err && add_default) {
    zh_host_kv_store_config def = {.label = "default", .type = ZH_HOST_KV_SQLITE};
    err = add_label(s, &def, default_file, &files, &nfiles, config->redis_timeout_ms);
  }
  for (size_t i = 0; i < nfiles; i++)
    free(files[i].path);
  free(files);
  free(default_file);
  if (err) {
    zh_host_kv_stores_free(s);
    return err;
  }
  *out = s;
  return NULL;
}

zh_error *zh_host_kv_stores_set(zh_host_kv_stores *s, const char *label, const char *key,
                                const uint8_t *value, size_t len) {
  for (size_t i = 0; i < s->nlabels; i++)
    if (strcmp(s->labels[i].label, label) == 0) {
      zh_host_kv_backend *b = s->labels[i].backend;
      return b->ops->set(b, label, key, strlen(key), value, len);
    }
  return zh_error_new(ZH_ERR_USAGE, "key-value: the app has no store `%s`", label);
}

/* ---- an instance's handles ---- */

zh_error *zh_host_kv_inst_new(zh_host_kv_stores *stores, const char *const *labels, size_t nlabels,
                              zh_host_kv_inst **out) {
  *out = NULL;
  zh_host_kv_inst *in = calloc(1, sizeof *in);
  if (!in || (nlabels && !(in->allowed = calloc(nlabels, sizeof *in->allowed)))) {
    free(in);
    return zh_error_new(ZH_ERR_RESOURCE, "key-value: out of memory");
  }
  in->app = stores;
  for (size_t i = 0; i < nlabels; i++) {
    if (!(in->allowed[i] = strdup(labels[i]))) {
      zh_host_kv_inst_free(in);
      return zh_error_new(ZH_ERR_RESOURCE, "key-value: out of memory");
    }
    in->nallowed++;
  }
  *out = in;
  return NULL;
}

static void clear_slot(kv_handle *h) {
  free(h->key);
  free(h->value);
  memset(h, 0, sizeof *h);
}

void zh_host_kv_inst_free(zh_host_kv_inst *in) {
  if (!in)
    return;
  for (size_t i = 0; i < in->nslots; i++)
    clear_slot(&in->slots[i]);
  for (size_t i = 0; i < in->nallowed; i++)
    free(in->allowed[i]);
  free(in->allowed);
  free(in->slots);
  free(in);
}

size_t zh_host_kv_inst_open_count(const zh_host_kv_inst *in) { return in ? in->open : 0; }

zh_host_kv_inst *kv_inst_of(const zh_cm_call *call) {
  zh_host_instance *hi = zh_host_instance_state(zh_host_instance_of(call));
  return hi ? hi->kv : NULL;
}

kv_open_result kv_open(zh_host_kv_inst *in, const char *label, size_t len, kv_kind kind,
                       uint64_t *rep) {
  bool allowed = false;
  for (size_t i = 0; i < in->nallowed && !allowed; i++)
    allowed = strlen(in->allowed[i]) == len && memcmp(in->allowed[i], label, len) == 0;
  if (!allowed)
    return KV_OPEN_DENIED;
  const kv_label *store = NULL;
  for (size_t i = 0; i < in->app->nlabels && !store; i++)
    if (strlen(in->app->labels[i].label) == len &&
        memcmp(in->app->labels[i].label, label, len) == 0)
      store = &in->app->labels[i];
  if (!store)
    return KV_OPEN_NO_STORE;
  size_t slot = 0;
  while (slot < in->nslots && in->slots[slot].kind != KV_FREE)
    slot++;
  if (slot == in->nslots) {
    if (in->nslots >= ZH_HOST_KV_MAX_OPEN)
      return KV_OPEN_FULL;
    size_t ncap = in->nslots ? in->nslots * 2 : 4;
    if (ncap > ZH_HOST_KV_MAX_OPEN)
      ncap = ZH_HOST_KV_MAX_OPEN;
    kv_handle *grown = realloc(in->slots, ncap * sizeof *grown);
    if (!grown)
      return KV_OPEN_FULL;
    memset(grown + in->nslots, 0, (ncap - in->nslots) * sizeof *grown);
    in->slots = grown;
    in->nslots = ncap;
  }
  in->slots[slot].kind = kind;
  in->slots[slot].store = store;
  in->open++;
  *rep = slot + 1;
  return KV_OPEN_OK;
}

kv_handle *kv_handle_at(zh_host_kv_inst *in, uint64_t rep, kv_kind kind) {
  if (!in || rep == 0 || rep > in->nslots || in->slots[rep - 1].kind != kind)
    return NULL;
  return &in->slots[rep - 1];
}

void kv_close(zh_host_kv_inst *in, uint64_t rep) {
  if (!in || rep == 0 || rep > in->nslots || in->slots[rep - 1].kind == KV_FREE)
    return;
  clear_slot(&in->slots[rep - 1]);
  in->open--;
}

zh_error *kv_bad_handle(const char *func, uint64_t rep) {
  return zh_error_new(ZH_ERR_TRAP, "key-value %s: handle %llu is not open", func,
                      (unsigned long long)rep);
}

/* ---- values ---- */

const uint8_t *kv_bytes(zh_val *v, size_t *len, uint8_t **tmp) {
  *tmp = NULL;
  *len = zh_val_list_len(v);
  const void *raw = zh_val_list_raw_data(v);
  if (raw || *len == 0)
    return raw ? raw : (const uint8_t *)"";
  zh_val *items = zh_val_list_items(v);
  if (!(*tmp = malloc(*len)))
    return NULL;
  for (size_t i = 0; i < *len; i++)
    (*tmp)[i] = (uint8_t)items[i].of.u;
  return *tmp;
}

zh_error *kv_ok(zh_val *result, zh_val *payload) { return zh_val_ok(result, payload); }

zh_error *kv_err(zh_val *result, uint32_t error_case, const char *other) {
  zh_val msg, var;
  zh_error *err = NULL;
  if (other) {
    err = zh_val_string_cstr(&msg, other);
    if (!err)
      err = zh_val_variant(&var, error_case, &msg);
  } else {
    err = zh_val_variant(&var, error_case, NULL);
  }
  return err ? err : zh_val_err(result, &var);
}

zh_error *kv_opt_bytes(zh_val *out, bool found, const uint8_t *data, size_t len) {
  if (!found) {
    *out = zh_val_none();
    return NULL;
  }
  zh_val bytes;
  zh_error *err = zh_val_list_raw(&bytes, ZH_WIT_U8, data, len);
  return err ? err : zh_val_some(out, &bytes);
}

char *kv_message(zh_error *err) {
  char *m = strdup(zh_error_message(err));
  zh_error_free(err);
  return m;
}

/* ---- the linker ---- */

static void drop_handle(void *env, void *data, uint64_t rep) {
  (void)env;
  zh_host_instance *hi = data ? (zh_host_instance *)zh_wasip2_user(data) : NULL;
  if (hi)
    kv_close(hi->kv, rep);
}

static zh_error *define_iface(zh_cm_linker *l, const char *qualified) {
  const zh_wit_interface *in = zh_host_interface(qualified);
  if (!in)
    return zh_error_new(ZH_ERR_USAGE, "key-value: %s is not in the hosted WIT", qualified);
  zh_error *err = NULL;
  for (size_t f = 0; f < in->nfuncs && !err; f++) {
    const zh_wit_func *fn = in->funcs[f];
    zh_cm_host_fn impl = NULL;
    for (size_t i = 0; i < zh_host_kv_spin_nentries && !impl; i++)
      if (strcmp(zh_host_kv_spin_entries[i].iface, qualified) == 0 &&
          strcmp(zh_host_kv_spin_entries[i].name, fn->abi_name) == 0)
        impl = zh_host_kv_spin_entries[i].fn;
    for (size_t i = 0; i < zh_host_kv_wasi_nentries && !impl; i++)
      if (strcmp(zh_host_kv_wasi_entries[i].iface, qualified) == 0 &&
          strcmp(zh_host_kv_wasi_entries[i].name, fn->abi_name) == 0)
        impl = zh_host_kv_wasi_entries[i].fn;
    if (!impl)
      return zh_error_new(ZH_ERR_USAGE, "key-value: %s#%s has no implementation", qualified,
                          fn->abi_name);
    err = zh_cm_linker_define_func(l, qualified, fn->abi_name, fn, impl, NULL);
  }
  for (size_t t = 0; t < in->ntypes && !err; t++)
    if (in->types[t]->kind == ZH_WIT_RESOURCE) /* `use`d resources are their owner's */
      err = zh_cm_linker_define_resource(l, qualified, in->types[t]->name, drop_handle, NULL);
  return err;
}

zh_error *zh_host_kv_define_linker(zh_cm_linker *linker) {
  static const char *const ifaces[] = {ZH_HOST_KV_SPIN, ZH_HOST_KV_WASI_STORE,
                                       ZH_HOST_KV_WASI_ATOMICS, ZH_HOST_KV_WASI_BATCH};
  zh_error *err = NULL;
  for (size_t i = 0; i < sizeof ifaces / sizeof ifaces[0] && !err; i++)
    err = define_iface(linker, ifaces[i]);
  return err;
}
