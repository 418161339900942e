/* Instantiation of component binaries and calls into them.
 *
 * One function, instantiate(), walks a component's definitions in order and builds the
 * runtime index spaces (core functions, tables, memories, globals, modules, core instances,
 * functions, components, instances); nested components are instantiated by the same walk,
 * with their arguments as imports. Types have no runtime form, except that a resource
 * definition records its destructor.
 *
 * Each component instance (`env`) owns a handle table and the reentrance flags of the
 * Canonical ABI: `may_enter` is cleared while one of its lifted functions runs, so a call
 * back into it traps; `may_leave` (kept as `no_leave`) is cleared while the host runs its
 * cabi_realloc or post-return, so an import called from them traps; a trap poisons it, so
 * every later call into it fails. Values cross
 * between instances as zh_val: canon lower lifts the caller's arguments, the callee's canon
 * lift lowers them into the callee, and the result goes back the same way.
 *
 * Memory: runtime objects live in the instance's arena; core instances and host functions
 * belong to the store; handle tables and the environment list are freed with the instance.
 */
#include "component/cb_internal.h"
#include "component/cm_runtime.h"

#include "wasm/error.h"
#include "wasm/runtime.h"
#include "wit/abi.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOWER_HOST_FEW 8    /* parameters lifted into a stack array */
#define LOWER_HOST_LEND 256 /* bytes of lifted strings, lists and payloads on the stack */

/* What a canon lower or resource built-in needs at call time. */
typedef struct rt_lower {
  zh_cm_instance *top;
  const zh_wit_func *type; /* the caller's view, in its runtime resources */
  zh_cm_func *callee;
  rt_env *caller;
  zh_memory *mem;
  zh_func *realloc;
  zh_abi_string_encoding enc;
  const zh_wit_type *params_tuple;
  zh_abi_sig sig; /* the core signature, computed once */
  /* Computed once too: whether a call reads or writes the caller's memory, whether storing
   * the result may call its cabi_realloc (a template's copy looks either up only then), and
   * the result's layout for an indirect result. */
  bool needs_mem, needs_realloc;
  uint32_t result_size, result_align;
  uint32_t mem_to, realloc_to; /* in a template: mem and realloc planned (cm_plan_lowers) */
  struct rt_lower *next;       /* in top->lowers */
  /* The flat parameters' lifts, planned at link time when there are at most
   * LOWER_HOST_FEW of them (`planned`). */
  bool planned;
  zh_abi_lift_plan plan[LOWER_HOST_FEW];
  zh_abi_result_plan rplan; /* the result's store or flat lowering, planned at link time */
} rt_lower;

void cm_plan_lowers(zh_cm_instance *top, uint32_t (*index)(const void *env, const void *p),
                    const void *env) {
  for (rt_lower *L = top->lowers; L; L = L->next) {
    L->mem_to = index(env, L->mem);
    L->realloc_to = index(env, L->realloc);
  }
}

typedef struct rt_resfn {
  zh_cm_instance *top;
  rt_env *env;
  const zh_wit_type *rt;
  cb_canon_kind kind;
} rt_resfn;

static zh_error *oom_err(void) { return zh_error_new(ZH_ERR_RESOURCE, "out of memory"); }

static bool space_push(rt_space *s, rt_item it) {
  if (s->len == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 8;
    rt_item *n = realloc(s->items, cap * sizeof *n);
    if (!n)
      return false;
    s->items = n;
    s->cap = cap;
  }
  s->items[s->len++] = it;
  return true;
}

/* Sorts with no runtime form. Types only matter as resources, which the instance's `map`
 * tracks, so the type index space is not kept at runtime. */
static bool sort_static(cb_sort s) { return s == CB_CORE_TYPE || s == CB_VALUE; }

static zh_error *push_item(rt_env *e, rt_item it) {
  if (sort_static(it.sort) || it.sort == CB_TYPE)
    return NULL;
  return space_push(&e->space[it.sort], it) ? NULL : oom_err();
}

/* Validation guarantees the index is in range; this check only guards against a mismatch
 * between the validator's and the runtime's bookkeeping. */
static zh_error *get_item(rt_env *e, cb_sort s, uint32_t idx, rt_item *out) {
  memset(out, 0, sizeof *out);
  if (idx >= e->space[s].len)
    return zh_error_new(ZH_ERR_INVALID, "internal: %s index %u has no runtime item",
                        cb_sort_name(s), idx);
  *out = e->space[s].items[idx];
  return NULL;
}

static bool core_inst_export(const rt_core_inst *ci, const char *name, zh_extern *out) {
  if (!ci)
    return false;
  if (ci->inst)
    return zh_instance_export(ci->inst, name, out);
  for (size_t i = 0; i < ci->n; i++)
    if (!strcmp(ci->names[i], name)) {
      *out = ci->items[i];
      return true;
    }
  return false;
}

static const rt_named *inst_export(const rt_inst *in, const char *name) {
  for (size_t i = 0; i < in->n; i++)
    if (!strcmp(in->exports[i].name, name))
      return &in->exports[i];
  return NULL;
}

/* ---- runtime resource identities ---- */

static const zh_wit_type *resolve(const rt_env *e, const zh_wit_type *r) {
  r = zh_wit_type_unalias(r);
  for (size_t i = e->map.n; i-- > 0;)
    if (e->map.from[i] == r)
      return e->map.to[i];
  return r;
}

static const zh_wit_type *type_res(const rt_env *e, const cb_type *t) {
  return t && t->kind == CB_T_RESOURCE ? resolve(e, t->val) : NULL;
}

static zh_error *map_res(zh_cm_instance *top, rt_env *e, const zh_wit_type *from,
                         const zh_wit_type *to) {
  from = zh_wit_type_unalias(from);
  to = zh_wit_type_unalias(to);
  if (!from || !to || from == to)
    return NULL;
  return cb_subst_add(&top->arena, &e->map, from, to) ? NULL : oom_err();
}

/* Binds the resources a statically typed instance exports to the runtime instance's. */
static zh_error *map_instance(zh_cm_instance *top, rt_env *e, const cb_type *t, const rt_inst *in,
                              int depth) {
  if (!t || !in || depth > CB_MAX_DEPTH)
    return NULL;
  for (size_t i = 0; i < t->nexports; i++) {
    const cb_named *x = &t->exports[i];
    const rt_named *r = inst_export(in, x->name);
    if (!r || !x->ext.type)
      continue;
    zh_error *err = NULL;
    if (x->ext.sort == CB_TYPE && x->ext.type->kind == CB_T_RESOURCE && r->item.sort == CB_TYPE)
      err = map_res(top, e, x->ext.type->val, r->item.u.res);
    else if (x->ext.sort == CB_INSTANCE && r->item.sort == CB_INSTANCE)
      err = map_instance(top, e, x->ext.type, r->item.u.inst, depth + 1);
    if (err)
      return err;
  }
  return NULL;
}

/* ---- calls ---- */

static uint32_t align_to(uint32_t x, uint32_t a) { return (x + a - 1) & ~(a - 1); }

static void cx_for(zh_abi_cx *cx, zh_store *store, zh_memory *mem, zh_func *realloc_fn,
                   zh_abi_string_encoding enc, rt_env *env, const char *what) {
  memset(cx, 0, sizeof *cx);
  cx->enc = enc;
  cx->store = store;
  cx->mem = mem;
  cx->realloc = realloc_fn;
  cx->table = &env->table;
  cx->what = what;
}

/* Ends the borrows lent to the callee for one call; returns how many it had not dropped. */
static uint32_t end_borrows(rt_env *env, zh_abi_cx *cx) {
  zh_abi_table *t = &env->table;
  uint32_t left = 0;
  for (uint32_t k = 0; k < cx->nborrows; k++) {
    uint32_t i = cx->borrows[k];
    if (i < t->len && t->h[i].rt && !t->h[i].own) {
      left++;
      t->h[i].rt = NULL;
      t->h[i].next_free = t->free_head;
      t->free_head = i;
    }
  }
  free(cx->borrows);
  cx->borrows = NULL;
  cx->nborrows = cx->borrows_cap = 0;
  return left;
}

/* canon lift: lowers `args` into the callee, runs it, lifts the result, runs post-return. */
static zh_error *call_lifted(zh_store *store, zh_cm_func *f, const zh_val *args, zh_val *result) {
  rt_env *env = f->env;
  *result = zh_val_bool(false);
  if (env->poisoned)
    return zh_error_trap_new(ZH_TRAP_HOST,
                             "%s: cannot enter component instance (it trapped "
                             "before)",
                             f->name);
  if (!env->may_enter)
    return zh_error_trap_new(ZH_TRAP_HOST, "%s: cannot enter component instance (reentrance)",
                             f->name);
  const zh_wit_func *ft = f->type;
  const zh_abi_sig sig = f->sig;
  zh_abi_cx cx;
  cx_for(&cx, store, f->mem, f->realloc, f->enc, env, f->name);
  cx.self_types = env->self;
  cx.nself_types = env->nself;
  zh_value core_args[ZH_ABI_MAX_FLAT_PARAMS + 1], core_res[ZH_ABI_MAX_FLAT_RESULTS];
  zh_error *err = NULL;
  env->may_enter = false;
  env->no_leave = true; /* lowering the arguments may run its cabi_realloc */
  if (!sig.params_indirect) {
    size_t k = 0;
    for (size_t i = 0; i < ft->nparams && !err; i++)
      err = zh_abi_lower_flat(&cx, ft->params[i].type, &args[i], core_args, &k);
  } else {
    uint32_t ptr, off = 0;
    err = zh_abi_alloc(&cx, zh_abi_align(f->params_tuple), zh_abi_size(f->params_tuple), &ptr);
    for (size_t i = 0; i < ft->nparams && !err; i++) {
      off = align_to(off, zh_abi_align(ft->params[i].type));
      err = zh_abi_store(&cx, ft->params[i].type, &args[i], ptr + off);
      off += zh_abi_size(ft->params[i].type);
    }
    core_args[0] = zh_i32((int32_t)ptr);
  }
  env->no_leave = false;
  if (!err)
    err = zh_func_call(store, f->core, core_args, sig.nparams, core_res, sig.nresults);
  /* CanonicalABI.md: a callee must drop the borrow handles it was given before it returns. */
  uint32_t left = end_borrows(env, &cx);
  if (!err && left)
    err = zh_error_trap_new(
        ZH_TRAP_HOST, "%s: borrow handles still remain at the end of the call (%u)", f->name, left);
  if (!err && ft->result) {
    if (!sig.results_indirect) {
      size_t k = 0;
      err = zh_abi_lift_flat(&cx, ft->result, core_res, sig.nresults, &k, result);
    } else {
      err = zh_abi_load(&cx, ft->result, (uint32_t)core_res[0].of.i32, result);
    }
  }
  if (!err && f->post_return) {
    env->no_leave = true;
    err = zh_func_call(store, f->post_return, core_res, sig.nresults, NULL, 0);
    env->no_leave = false;
  }
  if (err) {
    zh_val_drop(result);
    /* The guest stopped midway (or broke the ABI): it must not run again. */
    env->poisoned = true;
  }
  env->may_enter = true;
  return err;
}

static inline void drop_result(zh_val *res, zh_val *slot);

/* A host function: the adapter owns `args` and drops them afterwards; `slot` (or NULL) is
 * offered for the result's payload (zh_cm_call_payload_slot). */
static zh_error *call_host(zh_cm_instance *top, zh_cm_func *f, zh_val *args, zh_val *result,
                           zh_val *slot) {
  zh_cm_call call = {top, slot};
  *result = (zh_val){.kind = ZH_WIT_BOOL}; /* zh_val_bool(false), without a call per call */
  zh_error *err = f->host(&call, f->host_env, args, f->type->nparams, result);
  if (err) {
    drop_result(result, slot);
    return zh_error_prefix(err, "host function %s", f->name);
  }
  return NULL;
}

static bool owns_memory(const zh_val *v);

/* zh_val_drop for a host call's result, whose payload may be the adapter's `slot` (its
 * contents dropped, itself not freed). Most results are a case with nothing or a handle:
 * done without the walk. */
static inline void drop_result(zh_val *res, zh_val *slot) {
  if (res->kind != ZH_WIT_RESULT && res->kind != ZH_WIT_OPTION && res->kind != ZH_WIT_VARIANT) {
    if (owns_memory(res))
      zh_val_drop(res);
    return;
  }
  zh_val *p = res->of.var.payload;
  if (!p)
    return;
  if (owns_memory(p))
    zh_val_drop(p);
  if (p != slot)
    free(p);
  res->of.var.payload = NULL;
}

/* False for a value zh_val_drop has nothing to free of (scalars and handles: most of a host
 * call's parameters), which then need not be dropped. */
static bool owns_memory(const zh_val *v) {
  switch (v->kind) {
  case ZH_WIT_STRING:
  case ZH_WIT_LIST:
  case ZH_WIT_RECORD:
  case ZH_WIT_TUPLE:
  case ZH_WIT_VARIANT:
  case ZH_WIT_OPTION:
  case ZH_WIT_RESULT:
  case ZH_WIT_FLAGS:
    return true;
  default:
    return false;
  }
}

/* canon lower: the guest calls a component function through a core function. */
static zh_error *lower_host(zh_caller *caller, void *envp, const zh_value *args,
                            zh_value *results) {
  const rt_lower *L0 = envp;
  /* What differs per call: a template's trampoline works on the calling copy's (the rest is
   * read from L0; copying the whole rt_lower per call cost more than the lookups). */
  struct {
    zh_cm_instance *top;
    rt_env *caller;
    zh_cm_func *callee;
    zh_memory *mem;
    zh_func *realloc;
  } Lc = {L0->top, L0->caller, L0->callee, L0->mem, L0->realloc}, *L = &Lc;
  if (L0->top->frozen) { /* a template's trampoline: work on the calling copy */
    if (!(L->top = cm_stamp_of(caller)))
      return zh_error_trap_new(ZH_TRAP_HOST, "template trampoline called outside its copies");
    L->caller = &L->top->ecopy[L0->caller->tidx];
    L->callee = cm_func_of(L->top, L0->callee);
    /* an adapter working memory to memory (below) needs both */
    bool core = L->callee->host_core && L0->enc == ZH_ABI_UTF8;
    L->mem = core || L0->needs_mem ? cm_reloc_to(L->top, L0->mem_to, L0->mem) : NULL;
    L->realloc =
        core || L0->needs_realloc ? cm_reloc_to(L->top, L0->realloc_to, L0->realloc) : NULL;
  }
  if (L->caller->no_leave)
    return zh_error_trap_new(ZH_TRAP_HOST,
                             "%s: cannot leave component instance from its cabi_realloc or "
                             "post-return (may_leave)",
                             L->callee->name);
  zh_store *store = zh_caller_store(caller);
  if (L->callee->host_core && L0->enc == ZH_ABI_UTF8) {
    /* memory to memory, no component values (an adapter such as zh_link_plan_call) */
    zh_cm_call call = {L->top, NULL};
    zh_cm_core_side side = {store, L->mem, L->realloc, &L->caller->no_leave};
    bool declined = false;
    zh_error *err =
        L->callee->host_core(&call, L->callee->host_env, &side, args, results, &declined);
    if (err) {
      L->caller->poisoned = true;
      return zh_error_prefix(err, "host function %s", L->callee->name);
    }
    if (!declined)
      return NULL;
  }
  const zh_wit_func *ft = L0->type;
  const zh_abi_sig *sig = &L0->sig;
  zh_abi_cx cx;
  cx_for(&cx, store, L->mem, L->realloc, L0->enc, L->caller, L->callee->name);
  cx.track_lends = true;
  /* A callee that cannot move its arguments out (a lifted function, or a host function
   * defined as reading them) gets its strings, byte lists and payloads lifted into this
   * per-call buffer rather than one heap block each. */
  _Alignas(8) uint8_t lend_buf[LOWER_HOST_LEND];
  if (!L->callee->host || L->callee->reads_args) {
    cx.lend_buf = lend_buf;
    cx.lend_cap = sizeof lend_buf;
  }
  /* Host functions take few parameters: theirs live on the stack, which spares a calloc
   * and a free on every call from the guest. */
  zh_val vals_few[LOWER_HOST_FEW];
  zh_val *vals = ft->nparams <= LOWER_HOST_FEW ? vals_few : malloc(ft->nparams * sizeof *vals);
  if (!vals)
    return oom_err();
  /* Only the values lifted so far are dropped, so only they are initialised: each as an
   * empty bool first, which a failed lift may leave as it is. */
  size_t nvals = 0;
  zh_error *err = NULL;
  if (!sig->params_indirect) {
    size_t k = 0;
    for (; nvals < ft->nparams && !err; nvals++) {
      vals[nvals].kind = ZH_WIT_BOOL;
      err = L0->planned ? zh_abi_lift_planned(&cx, &L0->plan[nvals], args, sig->nflat_params, &k,
                                              &vals[nvals])
                        : zh_abi_lift_flat(&cx, ft->params[nvals].type, args, sig->nflat_params, &k,
                                           &vals[nvals]);
    }
  } else {
    uint32_t ptr = (uint32_t)args[0].of.i32, off = 0;
    err = zh_abi_check_range(&cx, "parameters", ptr, zh_abi_size(L0->params_tuple),
                             zh_abi_align(L0->params_tuple));
    for (; nvals < ft->nparams && !err; nvals++) {
      vals[nvals].kind = ZH_WIT_BOOL;
      off = align_to(off, zh_abi_align(ft->params[nvals].type));
      err = zh_abi_load(&cx, ft->params[nvals].type, ptr + off, &vals[nvals]);
      off += zh_abi_size(ft->params[nvals].type);
    }
  }
  zh_val res = {.kind = ZH_WIT_BOOL}; /* zh_val_bool(false) */
  zh_val slot;                        /* written by the callee before it is pointed at */
  if (!err)
    err = L->callee->host ? call_host(L->top, L->callee, vals, &res, &slot)
                          : call_lifted(store, L->callee, vals, &res);
  L->caller->no_leave = true; /* storing the result may run its cabi_realloc */
  if (!err && ft->result) {
    if (sig->results_indirect) {
      uint32_t retptr = (uint32_t)args[sig->nparams - 1].of.i32;
      err = zh_abi_check_range(&cx, "result pointer", retptr, L0->result_size, L0->result_align);
      if (!err)
        err = zh_abi_store_planned(&cx, &L0->rplan, &res, retptr);
    } else {
      size_t k = 0;
      err = zh_abi_lower_flat_planned(&cx, &L0->rplan, &res, results, &k);
    }
  }
  L->caller->no_leave = false;
  drop_result(&res, &slot);
  for (size_t i = 0; i < nvals; i++)
    if (owns_memory(&vals[i]))
      zh_abi_lent_drop(&cx, &vals[i]);
  if (vals != vals_few)
    free(vals);
  if (cx.borrows) /* most calls lend nothing */
    free(cx.borrows);
  /* The call is over: the caller's handles lent for it are its own again. */
  zh_abi_table *t = &L->caller->table;
  for (uint32_t k = 0; k < cx.nlent; k++)
    if (cx.lent[k] < t->len && t->h[cx.lent[k]].rt && t->h[cx.lent[k]].lends)
      t->h[cx.lent[k]].lends--;
  if (cx.lent && cx.lent != cx.lent_few) /* most calls lend nothing: no free(NULL) */
    free(cx.lent);
  if (err)
    L->caller->poisoned = true;
  return err;
}

static rt_res *find_res(zh_cm_instance *top, const zh_wit_type *rt) {
  for (rt_res *r = top->resources; r; r = r->next)
    if (r->rt == rt)
      return r;
  return NULL;
}

/* canon resource.new / resource.drop / resource.rep. */
static zh_error *res_host(zh_caller *caller, void *envp, const zh_value *args, zh_value *results) {
  const rt_resfn *R0 = envp;
  rt_resfn Rc = *R0, *R = &Rc;
  if (R0->top->frozen) {
    if (!(R->top = cm_stamp_of(caller)))
      return zh_error_trap_new(ZH_TRAP_HOST, "template trampoline called outside its copies");
    R->env = &R->top->ecopy[R0->env->tidx];
  }
  /* CanonicalABI.md: resource.new and resource.drop also need may_leave (a destructor may
   * run); resource.rep only reads the table. */
  if (R->env->no_leave && R->kind != CB_CANON_RESOURCE_REP)
    return zh_error_trap_new(ZH_TRAP_HOST,
                             "resource.%s: cannot leave component instance from its cabi_realloc "
                             "or post-return (may_leave)",
                             R->kind == CB_CANON_RESOURCE_NEW ? "new" : "drop");
  zh_abi_table *t = &R->env->table;
  uint32_t i = (uint32_t)args[0].of.i32;
  if (R->kind == CB_CANON_RESOURCE_NEW) {
    zh_abi_cx cx; /* only new needs one: drop and rep work on the table directly */
    cx_for(&cx, zh_caller_store(caller), NULL, NULL, ZH_ABI_UTF8, R->env, "resource built-in");
    uint32_t h;
    zh_error *err = zh_abi_handle_new(&cx, R->rt, (uint32_t)args[0].of.i32, true, &h);
    if (err)
      return err;
    results[0] = zh_i32((int32_t)h);
    return NULL;
  }
  /* Named as the guest imports it, so a log line says which call broke the rules. */
  const char *op = R->kind == CB_CANON_RESOURCE_REP ? "[resource-rep]" : "[resource-drop]";
  const char *rn = R->rt && R->rt->name ? R->rt->name : "resource";
  if (i == 0 || i >= t->len || !t->h[i].rt)
    return zh_error_trap_new(ZH_TRAP_HOST, "%s%s: unknown handle index %u", op, rn, i);
  if (t->h[i].rt != R->rt)
    return zh_error_trap_new(ZH_TRAP_HOST, "%s%s: handle index %u used with the wrong type", op, rn,
                             i);
  if (R->kind == CB_CANON_RESOURCE_REP) {
    results[0] = zh_i32((int32_t)t->h[i].rep);
    return NULL;
  }
  zh_abi_handle h = t->h[i];
  if (h.lends)
    return zh_error_trap_new(ZH_TRAP_HOST, "cannot remove owned resource while borrowed");
  t->h[i].rt = NULL;
  t->h[i].next_free = t->free_head;
  t->free_head = i;
  if (h.own) {
    rt_res *r = find_res(R->top, R->rt);
    if (r && r->host_dtor)
      r->host_dtor(r->host_env, R->top->data, h.rep);
    if (r && r->dtor) {
      zh_value a = zh_i32((int32_t)h.rep);
      return zh_func_call(zh_caller_store(caller), cm_reloc(R->top, r->dtor), &a, 1, NULL, 0);
    }
  }
  return NULL;
}

/* ---- instantiation ---- */

static zh_error *count_instance(zh_cm_instance *top) {
  if (++top->ninstances > CB_MAX_INSTANCES)
    return zh_error_new(ZH_ERR_RESOURCE,
                        "more than %d component and core instances in one instantiation",
                        CB_MAX_INSTANCES);
  return NULL;
}

/* True when a value of t lives partly in guest memory (a string or a list somewhere in it):
 * lifting it reads that memory, lowering it calls cabi_realloc. Kinds it cannot tell count
 * as yes. */
static bool lowering_allocates(const zh_wit_type *t) {
  if (!t)
    return false;
  t = zh_abi_unalias(t);
  switch (t->kind) {
  case ZH_WIT_STRING:
  case ZH_WIT_LIST:
    return true;
  case ZH_WIT_OPTION:
    return lowering_allocates(t->elem);
  case ZH_WIT_RESULT:
    return lowering_allocates(t->elem) || lowering_allocates(t->err);
  case ZH_WIT_TUPLE:
  case ZH_WIT_RECORD:
  case ZH_WIT_VARIANT:
    for (size_t i = 0; i < t->nfields; i++)
      if (lowering_allocates(t->fields[i].type))
        return true;
    return false;
  case ZH_WIT_BOOL:
  case ZH_WIT_S8:
  case ZH_WIT_S16:
  case ZH_WIT_S32:
  case ZH_WIT_S64:
  case ZH_WIT_U8:
  case ZH_WIT_U16:
  case ZH_WIT_U32:
  case ZH_WIT_U64:
  case ZH_WIT_F32:
  case ZH_WIT_F64:
  case ZH_WIT_CHAR:
  case ZH_WIT_ENUM:
  case ZH_WIT_FLAGS:
  case ZH_WIT_OWN:
  case ZH_WIT_BORROW:
    return false;
  default:
    return true;
  }
}

static const zh_wit_type *params_tuple(zh_cm_instance *top, const zh_wit_func *f) {
  zh_wit_type *t = wit_alloc(&top->arena, sizeof *t);
  zh_wit_field *fl = wit_alloc(&top->arena, (f->nparams + 1) * sizeof *fl);
  if (!t || !fl)
    return NULL;
  for (size_t i = 0; i < f->nparams; i++)
    fl[i].type = f->params[i].type;
  t->kind = ZH_WIT_TUPLE;
  t->nfields = f->nparams;
  t->fields = fl;
  return t;
}

static zh_error *instantiate(zh_cm_instance *top, const cb_component *def, rt_env *parent,
                             const rt_named *args, size_t nargs, rt_env **out);

static zh_error *def_core_instantiate(zh_cm_instance *top, rt_env *e, const cb_def *d) {
  rt_item m = {0};
  zh_error *err = get_item(e, CB_CORE_MODULE, d->index, &m);
  if (err)
    return err;
  size_t n = zh_module_import_count(m.u.module);
  zh_extern *imports = calloc(n + 1, sizeof *imports);
  if (!imports)
    return oom_err();
  for (size_t i = 0; i < n && !err; i++) {
    zh_import_info info;
    zh_module_import(m.u.module, i, &info);
    const cb_arg *a = NULL;
    for (size_t j = 0; j < d->nargs; j++)
      if (!strcmp(d->args[j].name, info.module))
        a = &d->args[j];
    rt_item ci = {0};
    if (!a)
      err = zh_error_new(ZH_ERR_UNLINKABLE, "missing module instantiation argument `%s`",
                         info.module);
    else if (!(err = get_item(e, CB_CORE_INSTANCE, a->item.idx, &ci)) &&
             !core_inst_export(ci.u.ci, info.name, &imports[i]))
      err = zh_error_new(ZH_ERR_UNLINKABLE, "instance `%s` does not export `%s`", info.module,
                         info.name);
  }
  zh_instance *inst = NULL;
  if (!err)
    err = count_instance(top);
  if (!err)
    err = zh_instance_new(top->store, m.u.module, imports, n, &inst);
  free(imports);
  if (err)
    return err;
  size_t idx = e->space[CB_CORE_INSTANCE].len; /* the index this instance gets */
  if (idx < e->def->ncore_inst_names && e->def->core_inst_names[idx])
    inst->name = e->def->core_inst_names[idx];
  if (top->ncores == top->cores_cap) {
    size_t cap = top->cores_cap ? top->cores_cap * 2 : 8;
    zh_instance **c = realloc(top->cores, cap * sizeof(zh_instance *));
    if (!c)
      return oom_err();
    top->cores = c;
    top->cores_cap = cap;
  }
  top->cores[top->ncores++] = inst;
  rt_core_inst *ci = wit_alloc(&top->arena, sizeof *ci);
  if (!ci)
    return oom_err();
  ci->inst = inst;
  return push_item(e, (rt_item){.sort = CB_CORE_INSTANCE, .u.ci = ci});
}

static zh_error *def_core_inline(zh_cm_instance *top, rt_env *e, const cb_def *d) {
  rt_core_inst *ci = wit_alloc(&top->arena, sizeof *ci);
  const char **names = wit_alloc(&top->arena, (d->nargs + 1) * sizeof *names);
  zh_extern *items = wit_alloc(&top->arena, (d->nargs + 1) * sizeof *items);
  if (!ci || !names || !items)
    return oom_err();
  for (size_t i = 0; i < d->nargs; i++) {
    rt_item it;
    zh_error *err = get_item(e, d->args[i].item.sort, d->args[i].item.idx, &it);
    if (err)
      return err;
    names[i] = d->args[i].name;
    items[i] = it.u.core;
  }
  ci->n = d->nargs;
  ci->names = names;
  ci->items = items;
  return push_item(e, (rt_item){.sort = CB_CORE_INSTANCE, .u.ci = ci});
}

static zh_error *collect_args(zh_cm_instance *top, rt_env *e, const cb_def *d, rt_named **out,
                              size_t *n) {
  rt_named *v = wit_alloc(&top->arena, (d->nargs + 1) * sizeof *v);
  if (!v)
    return oom_err();
  size_t k = 0;
  for (size_t i = 0; i < d->nargs; i++) {
    if (sort_static(d->args[i].item.sort))
      continue;
    if (d->args[i].item.sort == CB_TYPE) {
      v[k].item = (rt_item){.sort = CB_TYPE, .u.res = type_res(e, d->args[i].type)};
      v[k++].name = d->args[i].name;
      continue;
    }
    zh_error *err = get_item(e, d->args[i].item.sort, d->args[i].item.idx, &v[k].item);
    if (err)
      return err;
    v[k++].name = d->args[i].name;
  }
  *out = v;
  *n = k;
  return NULL;
}

static zh_error *def_canon(zh_cm_instance *top, rt_env *e, const cb_def *d) {
  zh_error *err;
  rt_item it;
  zh_memory *mem = NULL;
  zh_func *realloc_fn = NULL, *post = NULL;
  if (d->opts.has_memory) {
    if ((err = get_item(e, CB_CORE_MEMORY, d->opts.memory, &it)))
      return err;
    mem = it.u.core.of.memory;
  }
  if (d->opts.has_realloc) {
    if ((err = get_item(e, CB_CORE_FUNC, d->opts.realloc, &it)))
      return err;
    realloc_fn = it.u.core.of.func;
  }
  if (d->opts.has_post_return) {
    if ((err = get_item(e, CB_CORE_FUNC, d->opts.post_return, &it)))
      return err;
    post = it.u.core.of.func;
  }
  switch (d->canon) {
  case CB_CANON_LIFT: {
    if ((err = get_item(e, CB_CORE_FUNC, d->index, &it)))
      return err;
    zh_cm_func *f = wit_alloc(&top->arena, sizeof *f);
    if (!f)
      return oom_err();
    f->type = cb_subst_func(&top->arena, &e->map, d->type->func);
    if (!f->type)
      return oom_err();
    f->params_tuple = params_tuple(top, f->type);
    zh_abi_signature(f->type, false, &f->sig);
    f->core = it.u.core.of.func;
    f->mem = mem;
    f->realloc = realloc_fn;
    f->post_return = post;
    f->enc = (zh_abi_string_encoding)d->opts.enc;
    f->env = e;
    f->name = "lifted function";
    if (!f->params_tuple)
      return oom_err();
    return push_item(e, (rt_item){.sort = CB_FUNC, .u.func = f});
  }
  case CB_CANON_LOWER: {
    if ((err = get_item(e, CB_FUNC, d->index, &it)))
      return err;
    rt_lower *L = wit_alloc(&top->arena, sizeof *L);
    if (!L)
      return oom_err();
    L->top = top;
    L->next = top->lowers;
    top->lowers = L;
    L->type = cb_subst_func(&top->arena, &e->map, d->type->func);
    L->callee = it.u.func;
    L->caller = e;
    L->mem = mem;
    L->realloc = realloc_fn;
    L->enc = (zh_abi_string_encoding)d->opts.enc;
    L->params_tuple = L->type ? params_tuple(top, L->type) : NULL;
    if (!L->params_tuple)
      return oom_err();
    zh_abi_signature(L->type, true, &L->sig);
    const zh_wit_type *res = L->type->result;
    L->needs_realloc = lowering_allocates(res);
    L->needs_mem = L->sig.params_indirect || L->sig.results_indirect || L->needs_realloc;
    for (size_t i = 0; i < L->type->nparams; i++)
      L->needs_mem = L->needs_mem || lowering_allocates(L->type->params[i].type);
    L->planned = !L->sig.params_indirect && L->type->nparams <= LOWER_HOST_FEW;
    for (size_t i = 0; L->planned && i < L->type->nparams; i++)
      zh_abi_lift_plan_of(L->type->params[i].type, &L->plan[i]);
    if (res)
      zh_abi_result_plan_of(res, &L->rplan);
    L->result_size = res ? zh_abi_size(res) : 0;
    L->result_align = res ? zh_abi_align(res) : 1;
    zh_functype ft = {L->sig.nparams, L->sig.nresults, L->sig.params, L->sig.results};
    zh_func *hf = zh_func_new_host(top->store, &ft, lower_host, L);
    if (!hf)
      return oom_err();
    return push_item(
        e, (rt_item){.sort = CB_CORE_FUNC, .u.core = {.kind = ZH_EXTERN_FUNC, .of.func = hf}});
  }
  default: {
    rt_resfn *R = wit_alloc(&top->arena, sizeof *R);
    if (!R)
      return oom_err();
    R->top = top;
    R->env = e;
    R->rt = resolve(e, d->type->val);
    R->kind = d->canon;
    static const zh_valtype i32[1] = {ZH_I32};
    zh_functype ft = {1, d->canon == CB_CANON_RESOURCE_DROP ? 0 : 1, i32, i32};
    zh_func *hf = zh_func_new_host(top->store, &ft, res_host, R);
    if (!hf)
      return oom_err();
    return push_item(
        e, (rt_item){.sort = CB_CORE_FUNC, .u.core = {.kind = ZH_EXTERN_FUNC, .of.func = hf}});
  }
  }
}

static zh_error *run_def(zh_cm_instance *top, rt_env *e, const cb_def *d, const rt_named *args,
                         size_t nargs) {
  zh_error *err = NULL;
  rt_item it = {0};
  switch (d->kind) {
  case CB_DEF_CORE_MODULE:
    return push_item(e, (rt_item){.sort = CB_CORE_MODULE, .u.module = e->def->modules[d->index]});
  case CB_DEF_CORE_INSTANTIATE:
    return def_core_instantiate(top, e, d);
  case CB_DEF_CORE_INLINE:
    return def_core_inline(top, e, d);
  case CB_DEF_CORE_TYPE:
    return NULL;
  case CB_DEF_COMPONENT: {
    rt_comp *c = wit_alloc(&top->arena, sizeof *c);
    if (!c)
      return oom_err();
    c->def = e->def->children[d->index];
    c->env = e;
    return push_item(e, (rt_item){.sort = CB_COMPONENT, .u.comp = c});
  }
  case CB_DEF_INSTANTIATE: {
    rt_named *v = NULL;
    size_t n = 0;
    rt_env *child = NULL;
    if ((err = get_item(e, CB_COMPONENT, d->index, &it)))
      return err;
    if (!it.u.comp)
      return zh_error_new(ZH_ERR_INVALID, "internal: component %u has no definition", d->index);
    if ((err = collect_args(top, e, d, &v, &n)) ||
        (err = instantiate(top, it.u.comp->def, it.u.comp->env, v, n, &child)) ||
        (err = map_instance(top, e, d->type, &child->exports, 0)))
      return err;
    return push_item(e, (rt_item){.sort = CB_INSTANCE, .u.inst = &child->exports});
  }
  case CB_DEF_INLINE_INSTANCE: {
    rt_inst *in = wit_alloc(&top->arena, sizeof *in);
    if (!in || (err = collect_args(top, e, d, &in->exports, &in->n)))
      return err ? err : oom_err();
    return push_item(e, (rt_item){.sort = CB_INSTANCE, .u.inst = in});
  }
  case CB_DEF_ALIAS_EXPORT: {
    if (sort_static(d->sort))
      return NULL;
    if ((err = get_item(e, CB_INSTANCE, d->index, &it)))
      return err;
    const rt_named *x = inst_export(it.u.inst, d->name);
    if (!x)
      return zh_error_new(ZH_ERR_UNLINKABLE, "instance has no export `%s`", d->name);
    if (d->sort == CB_TYPE && d->type && d->type->kind == CB_T_RESOURCE)
      err = map_res(top, e, d->type->val, x->item.u.res);
    else if (d->sort == CB_INSTANCE)
      err = map_instance(top, e, d->type, x->item.u.inst, 0);
    if (err)
      return err;
    return push_item(e, x->item);
  }
  case CB_DEF_ALIAS_CORE_EXPORT: {
    if ((err = get_item(e, CB_CORE_INSTANCE, d->index, &it)))
      return err;
    rt_item x = {.sort = d->sort};
    if (!core_inst_export(it.u.ci, d->name, &x.u.core))
      return zh_error_new(ZH_ERR_UNLINKABLE, "core instance has no export `%s`", d->name);
    return push_item(e, x);
  }
  case CB_DEF_ALIAS_OUTER: {
    if (sort_static(d->sort) || d->sort == CB_TYPE)
      return NULL;
    rt_env *o = e;
    for (uint32_t i = 0; i < d->count && o; i++)
      o = o->parent;
    if (!o)
      return zh_error_new(ZH_ERR_INVALID, "internal: outer alias beyond the outermost instance");
    if ((err = get_item(o, d->sort, d->index, &it)))
      return err;
    return push_item(e, it);
  }
  case CB_DEF_TYPE: {
    rt_res *r = wit_alloc(&top->arena, sizeof *r);
    if (!r)
      return oom_err();
    /* Resource types are generative: each instance gets its own identity. */
    zh_wit_type *fresh = wit_alloc(&top->arena, sizeof *fresh);
    if (!fresh)
      return oom_err();
    *fresh = *zh_wit_type_unalias(d->type->val);
    if ((err = map_res(top, e, d->type->val, fresh)))
      return err;
    r->rt = fresh;
    r->env = e;
    if (e->nself == e->self_cap) {
      size_t cap = e->self_cap ? e->self_cap * 2 : 4;
      const zh_wit_type **n = wit_alloc(&top->arena, cap * sizeof(const zh_wit_type *));
      if (!n)
        return oom_err();
      if (e->nself)
        memcpy(n, e->self, e->nself * sizeof(const zh_wit_type *));
      e->self = n;
      e->self_cap = cap;
    }
    e->self[e->nself++] = fresh;
    if (d->index) {
      if ((err = get_item(e, CB_CORE_FUNC, d->index - 1, &it)))
        return err;
      r->dtor = it.u.core.of.func;
    }
    r->next = top->resources;
    top->resources = r;
    return NULL;
  }
  case CB_DEF_CANON:
    return def_canon(top, e, d);
  case CB_DEF_START: {
    if ((err = get_item(e, CB_FUNC, d->index, &it)))
      return err;
    zh_val res;
    err = call_lifted(top->store, it.u.func, NULL, &res);
    zh_val_drop(&res);
    return err;
  }
  case CB_DEF_IMPORT: {
    if (sort_static(d->sort))
      return NULL;
    for (size_t i = 0; i < nargs; i++) {
      if (strcmp(args[i].name, d->name) != 0)
        continue;
      if (d->sort == CB_TYPE && d->type && d->type->kind == CB_T_RESOURCE)
        err = map_res(top, e, d->type->val, args[i].item.u.res);
      else if (d->sort == CB_INSTANCE && args[i].item.sort == CB_INSTANCE)
        err = map_instance(top, e, d->type, args[i].item.u.inst, 0);
      if (err)
        return err;
      return push_item(e, args[i].item);
    }
    return zh_error_new(ZH_ERR_UNLINKABLE, "missing import `%s` (%s)", d->name,
                        cb_sort_name(d->sort));
  }
  case CB_DEF_EXPORT: {
    if (sort_static(d->sort))
      return NULL;
    if (d->sort == CB_TYPE)
      it = (rt_item){.sort = CB_TYPE, .u.res = type_res(e, d->type)};
    else if ((err = get_item(e, d->sort, d->index, &it)))
      return err;
    rt_inst *x = &e->exports;
    rt_named *n = wit_alloc(&top->arena, (x->n + 1) * sizeof *n);
    if (!n)
      return oom_err();
    if (x->n)
      memcpy(n, x->exports, x->n * sizeof *n);
    n[x->n].name = d->name;
    n[x->n].item = it;
    if (it.sort == CB_FUNC && it.u.func->name && !strcmp(it.u.func->name, "lifted function"))
      it.u.func->name = d->name;
    x->exports = n;
    x->n++;
    return push_item(e, it);
  }
  }
  return NULL;
}

static zh_error *instantiate(zh_cm_instance *top, const cb_component *def, rt_env *parent,
                             const rt_named *args, size_t nargs, rt_env **out) {
  zh_error *cerr = count_instance(top);
  if (cerr)
    return cerr;
  rt_env *e = wit_alloc(&top->arena, sizeof *e);
  if (!e)
    return oom_err();
  e->parent = parent;
  e->def = def;
  e->may_enter = true;
  e->next_all = top->envs;
  top->envs = e;
  for (size_t i = 0; i < def->ndefs; i++) {
    zh_error *err = run_def(top, e, &def->defs[i], args, nargs);
    if (err)
      return err;
  }
  *out = e;
  return NULL;
}

zh_error *cm_instance_begin(const zh_cm_component *comp, zh_store *store, void *data,
                            zh_cm_instance **out) {
  *out = calloc(1, sizeof **out);
  if (!*out)
    return zh_error_oom();
  (*out)->comp = comp;
  (*out)->store = store;
  (*out)->data = data;
  return NULL;
}

zh_error *cm_instance_finish(zh_cm_instance *top, const rt_named *args, size_t nargs) {
  return instantiate(top, top->comp->root, NULL, args, nargs, &top->root);
}

wit_arena *cm_arena(zh_cm_instance *top) { return &top->arena; }

zh_cm_func *cm_host_func(zh_cm_instance *top, const zh_wit_func *type, zh_cm_host_fn fn,
                         zh_cm_core_fn core, void *env, const char *name) {
  zh_cm_func *f = wit_alloc(&top->arena, sizeof *f);
  if (!f)
    return NULL;
  f->type = type;
  f->host = fn;
  f->host_core = core;
  f->host_env = env;
  f->name = wit_strdup(&top->arena, name); /* the linker may be freed before the instance */
  if (!f->name)
    return NULL;
  f->params_tuple = params_tuple(top, type);
  return f->params_tuple ? f : NULL;
}

const zh_wit_type *cm_host_resource(zh_cm_instance *top, const zh_wit_type *origin,
                                    zh_cm_resource_dtor dtor, void *env) {
  for (rt_res *r = top->resources; r; r = r->next)
    if (r->origin == origin)
      return r->rt;
  rt_res *r = wit_alloc(&top->arena, sizeof *r);
  zh_wit_type *rt = wit_alloc(&top->arena, sizeof *rt);
  if (!r || !rt)
    return NULL;
  *rt = *origin;
  rt->name = origin->name ? wit_strdup(&top->arena, origin->name) : NULL;
  r->rt = rt;
  r->origin = origin;
  r->host_dtor = dtor;
  r->host_env = env;
  r->next = top->resources;
  top->resources = r;
  return rt;
}

zh_error *zh_cm_instantiate(const zh_cm_component *comp, zh_store *store, zh_cm_instance **out) {
  return zh_cm_linker_instantiate(NULL, comp, store, NULL, out);
}

void *zh_cm_call_data(const zh_cm_call *call) { return call->inst->data; }
zh_val *zh_cm_call_payload_slot(zh_cm_call *call) { return call->slot; }

void zh_cm_instance_free(zh_cm_instance *in) {
  if (!in)
    return;
  for (rt_env *e = in->envs; e; e = e->next_all) {
    /* Host resources the guest still owns die with the instance (guest ones die with the
     * store's memory: their destructors would run guest code during teardown). */
    for (uint32_t i = 1; i < e->table.len; i++) {
      const zh_abi_handle *h = &e->table.h[i];
      rt_res *r = h->rt && h->own ? find_res(in, h->rt) : NULL;
      if (r && r->host_dtor)
        r->host_dtor(r->host_env, in->data, h->rep);
    }
    for (int s = 0; s < CB_NSORTS && !in->tpl; s++) /* a copy shares the template's */
      free(e->space[s].items);
    zh_abi_table_free(&e->table);
  }
  wit_arena_free(&in->arena);
  free(in->cores);
  if (in->tpl) /* a copy's arrays share its block, which the next copy reuses */
    cm_template_block_give(in->tpl, in);
  else
    free(in);
}

/* The export named `name`, or else the one whose name differs only by a semver-compatible
 * version ("wasi:cli/run@0.2.0" finds an export "wasi:cli/run@0.2.3"; the highest wins). */
static const rt_named *compat_export(const rt_inst *in, const char *name) {
  const rt_named *best = inst_export(in, name);
  const char *at = strchr(name, '@');
  if (best || !at)
    return best;
  size_t base = (size_t)(at - name);
  for (size_t i = 0; i < in->n; i++) {
    const char *n = in->exports[i].name;
    if (strncmp(n, name, base) != 0 || n[base] != '@' ||
        !cm_versions_compatible(n + base + 1, at + 1))
      continue;
    if (!best || cm_version_less(strchr(best->name, '@') + 1, n + base + 1))
      best = &in->exports[i];
  }
  return best;
}

zh_cm_func *zh_cm_instance_func(zh_cm_instance *in, const char *iface, const char *func) {
  const rt_inst *x = &in->root->exports;
  if (iface) {
    const rt_named *i = compat_export(x, iface);
    if (!i || i->item.sort != CB_INSTANCE)
      return NULL;
    x = i->item.u.inst;
  }
  const rt_named *f = inst_export(x, func);
  return f && f->item.sort == CB_FUNC ? cm_func_of(in, f->item.u.func) : NULL;
}

const zh_wit_func *zh_cm_func_type(const zh_cm_func *f) { return f->type; }

size_t zh_cm_instance_func_count(const zh_cm_instance *in) {
  size_t n = 0;
  for (size_t i = 0; i < in->root->exports.n; i++)
    n += in->root->exports.exports[i].item.sort == CB_FUNC;
  return n;
}

zh_cm_func *zh_cm_instance_func_at(zh_cm_instance *in, size_t i, const char **name) {
  for (size_t k = 0; k < in->root->exports.n; k++) {
    const rt_named *x = &in->root->exports.exports[k];
    if (x->item.sort != CB_FUNC)
      continue;
    if (i-- == 0) {
      if (name)
        *name = x->name;
      return cm_func_of(in, x->item.u.func);
    }
  }
  return NULL;
}

zh_error *zh_cm_func_enter(zh_cm_instance *in, zh_cm_func *f, zh_cm_core_side *side, zh_func **core,
                           zh_func **post_return, bool *utf8) {
  if (f->host)
    return zh_error_new(ZH_ERR_USAGE, "%s: a host function has no core side", f->name);
  rt_env *env = f->env;
  if (env->poisoned)
    return zh_error_trap_new(ZH_TRAP_HOST,
                             "%s: cannot enter component instance (it trapped before)", f->name);
  if (!env->may_enter)
    return zh_error_trap_new(ZH_TRAP_HOST, "%s: cannot enter component instance (reentrance)",
                             f->name);
  env->may_enter = false;
  *side = (zh_cm_core_side){in->store, f->mem, f->realloc, &env->no_leave};
  *core = f->core;
  *post_return = f->post_return;
  *utf8 = f->enc == ZH_ABI_UTF8;
  return NULL;
}

void zh_cm_func_leave(zh_cm_func *f, bool fault) {
  rt_env *env = f->env;
  env->may_enter = true;
  env->no_leave = false;
  if (fault) /* the guest stopped midway or broke the ABI: it must not run again */
    env->poisoned = true;
}

zh_error *zh_cm_func_call(zh_cm_instance *in, zh_cm_func *f, const zh_val *args, size_t nargs,
                          zh_val *result) {
  *result = zh_val_bool(false);
  if (nargs != f->type->nparams)
    return zh_error_new(ZH_ERR_USAGE, "%s: %zu arguments given, %zu expected", f->name, nargs,
                        f->type->nparams);
  if (f->host) {
    /* The host function owns what it is given: hand it copies. */
    zh_val *copy = calloc(nargs + 1, sizeof *copy);
    if (!copy)
      return zh_error_oom();
    zh_error *err = NULL;
    for (size_t i = 0; i < nargs && !err; i++)
      err = zh_val_clone(&args[i], &copy[i]);
    if (!err)
      err = call_host(in, f, copy, result, NULL);
    for (size_t i = 0; i < nargs; i++)
      zh_val_drop(&copy[i]);
    free(copy);
    return err;
  }
  return call_lifted(in->store, f, args, result);
}
