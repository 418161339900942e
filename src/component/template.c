/* Component templates: a component instantiated once, its core instances snapshotted as one
 * group, and copies stamped from it.
 *
 * A copy shares every structure of the template's instance that has no per-instance state
 * (the environment tree, types, export lists, trampolines) and owns only what does: one
 * rt_env per environment (handle table, may_enter, poisoned), one zh_cm_func per lifted
 * function (pointing at the copy's core functions and memories), and the core objects the
 * component refers to (`reloc`). Everything a stamp needs is planned at template time, so
 * a stamp is the snapshot's copy plus a few memcpys and index lookups.
 *
 * The trampolines (canon lower, resource built-ins) are host functions in the template's
 * private store, shared by all copies: at call time they find the calling copy through
 * zh_instance_data of the calling core instance, which every stamped core instance has.
 */
#include "component/cb_internal.h"
#include "component/cm_runtime.h"

#include "wasm/error.h"
#include "wasm/snapshot.h"

#include <stdatomic.h>

#include <stdlib.h>
#include <string.h>

#define TPL_SPARE 8 /* freed copy blocks kept per template: about one per worker */

/* A core object the component refers to, exported by a snapshot member. */
typedef struct tpl_reloc {
  void *from;    /* the template's object */
  int64_t owner; /* the snapshot member whose block holds it (zh_snapshot_locate), or -1 */
  size_t offset; /* where in that block: a copy's object is at the same offset in its copy */
} tpl_reloc;

struct zh_cm_template {
  zh_cm_instance *inst; /* frozen */
  zh_snapshot *snap;
  zh_store *store; /* the private store when there is no core instance to snapshot */
  size_t ncores;
  size_t nenvs;
  rt_env **envs; /* by tidx */
  size_t nfuncs;
  zh_cm_func **funcs; /* by tidx - 1 */
  size_t nreloc;
  tpl_reloc *reloc; /* sorted by `from` */
  /* Per lifted function, its core, mem, realloc and post_return as 1 + their index in
   * `reloc`, or 0 to keep the template's: a stamp moves them without searching. */
  uint32_t (*fto)[4];
  /* A copy's block (instance, environments, functions, cores, relocations) is a few KiB:
   * big enough that glibc serves it from its slow path, consolidating its fast bins on the
   * way. So freed blocks wait here for the next copy, taken and given with one atomic
   * exchange each, from any thread; a block given when every slot is full is freed. */
  size_t block_size;
  _Atomic(void *) spare[TPL_SPARE];
};

zh_cm_instance *cm_stamp_of(zh_caller *caller) {
  zh_instance *ci = zh_caller_instance(caller);
  return ci ? zh_instance_data(ci) : NULL;
}

zh_cm_func *cm_func_of(const zh_cm_instance *s, zh_cm_func *f) {
  return s && s->tpl && f && f->tidx ? &s->fcopy[f->tidx - 1] : f;
}

static size_t reloc_find(const zh_cm_template *t, const void *p, bool *found) {
  size_t lo = 0, hi = t->nreloc;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if ((uintptr_t)t->reloc[mid].from < (uintptr_t)p)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = lo < t->nreloc && t->reloc[lo].from == p;
  return lo;
}

void *cm_reloc(const zh_cm_instance *s, void *p) {
  if (!s || !s->tpl || !p)
    return p;
  bool found;
  size_t i = reloc_find(s->tpl, p, &found);
  return found ? s->reloc_to[i] : p;
}

static void *extern_ptr(const zh_extern *x) {
  switch (x->kind) {
  case ZH_EXTERN_FUNC:
    return x->of.func;
  case ZH_EXTERN_MEMORY:
    return x->of.memory;
  default:
    return NULL;
  }
}

static int reloc_cmp(const void *a, const void *b) {
  uintptr_t x = (uintptr_t)((const tpl_reloc *)a)->from;
  uintptr_t y = (uintptr_t)((const tpl_reloc *)b)->from;
  return x < y ? -1 : x > y;
}

/* Every core function and memory exported by a snapshot member (the first export wins). */
static zh_error *plan_relocs(zh_cm_template *t) {
  const zh_cm_instance *in = t->inst;
  size_t cap = 0;
  for (size_t k = 0; k < in->ncores; k++)
    cap += zh_module_export_count(zh_instance_module(in->cores[k]));
  t->reloc = calloc(cap + 1, sizeof *t->reloc);
  if (!t->reloc)
    return zh_error_oom();
  for (size_t k = 0; k < in->ncores; k++) {
    const zh_module *m = zh_instance_module(in->cores[k]);
    for (size_t i = 0, n = zh_module_export_count(m); i < n; i++) {
      zh_export_info info;
      zh_module_export(m, i, &info);
      zh_extern x;
      if (!zh_instance_export_n(in->cores[k], info.name, strlen(info.name), &x) || !extern_ptr(&x))
        continue;
      t->reloc[t->nreloc++] = (tpl_reloc){extern_ptr(&x), -1, 0};
    }
  }
  qsort(t->reloc, t->nreloc, sizeof *t->reloc, reloc_cmp);
  size_t w = 0; /* one entry per object: a re-export resolves like the first */
  for (size_t i = 0; i < t->nreloc; i++)
    if (!w || t->reloc[w - 1].from != t->reloc[i].from)
      t->reloc[w++] = t->reloc[i];
  t->nreloc = w;
  return NULL;
}

static bool relocatable(const zh_cm_template *t, const void *p) {
  bool found;
  reloc_find(t, p, &found);
  return !p || found;
}

static uint32_t reloc_index(const void *env, const void *p) {
  const zh_cm_template *t = env;
  bool found;
  size_t i = reloc_find(t, p, &found);
  return p && found ? (uint32_t)i + 1 : 0;
}

/* t->fto, once the functions are numbered (plan). */
static zh_error *plan_func_relocs(zh_cm_template *t) {
  t->fto = calloc(t->nfuncs + 1, sizeof *t->fto);
  if (!t->fto)
    return zh_error_oom();
  for (size_t i = 0; i < t->nfuncs; i++) {
    const zh_cm_func *f = t->funcs[i];
    if (!f) /* plan numbered them all; the analyzer cannot tell */
      continue;
    t->fto[i][0] = reloc_index(t, f->core);
    t->fto[i][1] = reloc_index(t, f->mem);
    t->fto[i][2] = reloc_index(t, f->realloc);
    t->fto[i][3] = reloc_index(t, f->post_return);
  }
  return NULL;
}

static bool host_resource(const zh_cm_instance *in, const zh_wit_type *rt) {
  for (const rt_res *r = in->resources; r; r = r->next)
    if (r->rt == rt)
      return r->origin != NULL || r->host_dtor != NULL;
  return true; /* not one the instance knows: treat it as foreign */
}

/* Numbers the environments and lifted functions, and checks the copies can be faithful. */
static zh_error *plan(zh_cm_template *t) {
  zh_cm_instance *in = t->inst;
  for (rt_env *e = in->envs; e; e = e->next_all)
    t->nenvs++;
  t->envs = calloc(t->nenvs + 1, sizeof(rt_env *));
  if (!t->envs)
    return zh_error_oom();
  size_t i = 0, cap = 0;
  for (rt_env *e = in->envs; e; e = e->next_all) {
    e->tidx = (uint32_t)i;
    t->envs[i++] = e;
    cap += e->space[CB_FUNC].len;
    /* Handles of guest resources left by initialisation are copied into every copy (their
     * reps live in guest memory, which the copies have); a host resource's rep belongs to
     * the host state of initialisation, which no copy has. */
    for (uint32_t h = 1; h < e->table.len; h++)
      if (e->table.h[h].rt && host_resource(in, e->table.h[h].rt))
        return zh_error_new(ZH_ERR_USAGE, "initialisation left host resource handle %u", h);
  }
  t->funcs = calloc(cap + 1, sizeof(zh_cm_func *));
  if (!t->funcs)
    return zh_error_oom();
  for (rt_env *e = in->envs; e; e = e->next_all)
    for (size_t k = 0; k < e->space[CB_FUNC].len; k++) {
      zh_cm_func *f = e->space[CB_FUNC].items[k].u.func;
      if (!f || f->host || f->tidx)
        continue;
      if (!f->env || !relocatable(t, f->core) || !relocatable(t, f->mem) ||
          !relocatable(t, f->realloc) || !relocatable(t, f->post_return))
        return zh_error_new(ZH_ERR_USAGE,
                            "function `%s` lifts a core function that no core instance exports",
                            f->name);
      f->tidx = (uint32_t)++t->nfuncs;
      t->funcs[f->tidx - 1] = f;
    }
  for (const rt_res *r = in->resources; r; r = r->next)
    if (!relocatable(t, r->dtor))
      return zh_error_new(ZH_ERR_USAGE, "a resource destructor is not a core instance's export");
  return NULL;
}

void zh_cm_template_free(zh_cm_template *t) {
  if (!t)
    return;
  zh_cm_instance_free(t->inst);
  zh_snapshot_free(t->snap);
  zh_store_free(t->store);
  free(t->envs);
  free(t->funcs);
  free(t->reloc);
  free(t->fto);
  for (size_t i = 0; i < TPL_SPARE; i++)
    free(atomic_load_explicit(&t->spare[i], memory_order_relaxed));
  free(t);
}

/* A spare block of t->block_size bytes, or NULL. */
static void *block_take(zh_cm_template *t) {
  for (size_t i = 0; i < TPL_SPARE; i++)
    if (atomic_load_explicit(&t->spare[i], memory_order_relaxed)) {
      void *b = atomic_exchange_explicit(&t->spare[i], NULL, memory_order_acquire);
      if (b)
        return b;
    }
  return NULL;
}

void cm_template_block_give(const zh_cm_template *tc, void *blk) {
  zh_cm_template *t = (zh_cm_template *)(uintptr_t)tc; /* the slots are the one mutable part */
  for (size_t i = 0; i < TPL_SPARE; i++) {
    void *none = NULL;
    if (!atomic_load_explicit(&t->spare[i], memory_order_relaxed) &&
        atomic_compare_exchange_strong_explicit(&t->spare[i], &none, blk, memory_order_release,
                                                memory_order_relaxed))
      return;
  }
  free(blk);
}

zh_error *zh_cm_template_new(zh_cm_linker *linker, const zh_cm_component *comp,
                             zh_cm_template **out) {
  *out = NULL;
  zh_cm_template *t = calloc(1, sizeof *t);
  zh_store *store = NULL;
  if (!t)
    return zh_error_oom();
  zh_error *err = zh_store_new(comp->engine, &store);
  if (!err)
    err = zh_cm_linker_instantiate(linker, comp, store, NULL, &t->inst);
  if (!err)
    err = plan_relocs(t);
  if (!err)
    err = plan(t);
  if (!err)
    err = plan_func_relocs(t);
  if (!err)
    cm_plan_lowers(t->inst, reloc_index, t);
  if (!err && t->inst->ncores)
    err = zh_snapshot_new(store, t->inst->cores, t->inst->ncores, &t->snap);
  else if (!err)
    t->store = store;
  if (err) {
    zh_cm_template_free(t); /* the instance's bookkeeping before its store */
    zh_store_free(store);
    return zh_error_prefix(err, "%s: template", comp->file ? comp->file : "component");
  }
  t->ncores = t->inst->ncores;
  for (size_t r = 0; t->snap && r < t->nreloc; r++)
    t->reloc[r].owner = zh_snapshot_locate(t->snap, t->reloc[r].from, &t->reloc[r].offset);
  t->block_size = sizeof(zh_cm_instance) + t->nenvs * sizeof(rt_env) +
                  t->nfuncs * sizeof(zh_cm_func) + (t->ncores + t->nreloc + 1) * sizeof(void *);
  t->inst->frozen = true;
  *out = t;
  return NULL;
}

zh_error *zh_cm_template_instantiate(const zh_cm_template *t, zh_store *store, void *data,
                                     zh_cm_instance **out) {
  *out = NULL;
  /* One block: the instance, its environments, functions, core instances and relocations.
   * Everything past the instance's own fields is written below, so a spare block needs
   * only those cleared. */
  char *blk = block_take((zh_cm_template *)(uintptr_t)t);
  if (blk)
    memset(blk, 0, sizeof(zh_cm_instance));
  else if (!(blk = calloc(1, t->block_size)))
    return zh_error_oom();
  zh_cm_instance *s = (zh_cm_instance *)blk;
  rt_env *envs = (rt_env *)(blk + sizeof *s);
  zh_cm_func *funcs = (zh_cm_func *)(envs + t->nenvs);
  zh_instance **cores = (zh_instance **)(funcs + t->nfuncs);
  void **to = (void **)(cores + t->ncores);
  /* Tables first: after the snapshot's copy, nothing may fail. */
  for (size_t i = 0; i < t->nenvs; i++) {
    const zh_abi_table *tt = &t->envs[i]->table;
    envs[i].table = (zh_abi_table){0};
    if (!tt->len)
      continue;
    envs[i].table.h = malloc(tt->cap * sizeof *tt->h);
    if (!envs[i].table.h) {
      for (size_t k = 0; k < i; k++)
        zh_abi_table_free(&envs[k].table);
      free(blk);
      return zh_error_oom();
    }
    memcpy(envs[i].table.h, tt->h, tt->cap * sizeof *tt->h);
    envs[i].table.len = tt->len;
    envs[i].table.cap = tt->cap;
    envs[i].table.free_head = tt->free_head;
  }
  zh_error *err = t->snap ? zh_snapshot_instantiate(t->snap, store, cores) : NULL;
  if (err) {
    for (size_t k = 0; k < t->nenvs; k++)
      zh_abi_table_free(&envs[k].table);
    free(blk);
    return err;
  }
  for (size_t k = 0; k < t->ncores; k++)
    zh_instance_set_data(cores[k], s);
  /* The copies' exports are the originals' relocated (planned in zh_cm_template_new): no
   * lookup by name. */
  for (size_t r = 0; r < t->nreloc; r++) {
    const tpl_reloc *rl = &t->reloc[r];
    to[r] = rl->owner < 0 ? rl->from : (char *)cores[rl->owner] + rl->offset;
  }
  const zh_cm_instance *ti = t->inst;
  s->comp = ti->comp;
  s->store = store;
  s->data = data;
  s->root = ti->root;
  s->resources = ti->resources;
  s->tpl = t;
  s->ecopy = envs;
  s->fcopy = funcs;
  s->reloc_to = to;
  for (size_t i = 0; i < t->nenvs; i++) {
    zh_abi_table table = envs[i].table;
    envs[i] = *t->envs[i];
    envs[i].table = table;
    envs[i].may_enter = true;
    envs[i].no_leave = false;
    envs[i].poisoned = false;
    envs[i].next_all = i + 1 < t->nenvs ? &envs[i + 1] : NULL;
  }
  s->envs = t->nenvs ? envs : NULL;
  for (size_t i = 0; i < t->nfuncs; i++) {
    zh_cm_func *f = &funcs[i];
    *f = *t->funcs[i];
    f->env = &envs[f->env->tidx];
    const uint32_t *x = t->fto[i];
    if (x[0])
      f->core = to[x[0] - 1];
    if (x[1])
      f->mem = to[x[1] - 1];
    if (x[2])
      f->realloc = to[x[2] - 1];
    if (x[3])
      f->post_return = to[x[3] - 1];
  }
  *out = s;
  return NULL;
}
