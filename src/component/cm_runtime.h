/* The runtime side of component instances, shared by instance.c (instantiation, calls) and
 * linker.c (host imports). Internal to src/component. */
#ifndef ZH_CM_RUNTIME_H
#define ZH_CM_RUNTIME_H

#include "component/cb_internal.h"
#include "wit/abi.h"

typedef struct rt_env rt_env;
typedef struct rt_inst rt_inst;
typedef struct rt_core_inst rt_core_inst;

/* A component-level function: a core function lifted by some instance, or a host function. */
struct zh_cm_func {
  const zh_wit_func *type;
  zh_cm_host_fn host;      /* non-NULL for a host function (then only type, env, name count) */
  zh_cm_core_fn host_core; /* its core-level form, or NULL (zh_cm_linker_define_func_core) */
  void *host_env;
  bool reads_args; /* a host function that never moves its arguments out (see lower_host) */
  const zh_wit_type *params_tuple; /* the parameters as one tuple, when passed in memory */
  zh_abi_sig sig;                  /* lifted: its core signature, computed once */
  zh_func *core;
  zh_memory *mem;
  zh_func *realloc, *post_return;
  zh_abi_string_encoding enc;
  rt_env *env; /* the instance that lifted it */
  const char *name;
  uint32_t tidx; /* in a template: 1 + its index among the lifted functions (template.c) */
};

typedef struct rt_item {
  cb_sort sort;
  union {
    zh_extern core; /* core func, table, memory, global */
    const zh_module *module;
    rt_core_inst *ci;
    zh_cm_func *func;
    rt_inst *inst;
    struct rt_comp *comp;
    const zh_wit_type *res; /* type: the runtime resource, or NULL for other types */
  } u;
} rt_item;

typedef struct rt_named {
  const char *name;
  rt_item item;
} rt_named;

struct rt_core_inst {
  zh_instance *inst; /* instantiated module, or NULL for an inline one */
  size_t n;
  const char **names;
  zh_extern *items;
};

struct rt_inst {
  size_t n;
  rt_named *exports;
};

typedef struct rt_comp {
  const cb_component *def;
  rt_env *env; /* where it was defined: outer aliases resolve there */
} rt_comp;

typedef struct rt_space {
  rt_item *items;
  size_t len, cap;
} rt_space;

struct rt_env {
  rt_env *parent; /* lexically enclosing instance */
  rt_env *next_all;
  const cb_component *def;
  rt_space space[CB_NSORTS];
  zh_abi_table table;
  bool may_enter;
  /* may_leave cleared: the host is running this instance's cabi_realloc or post-return, which
   * must not call out of it (CanonicalABI.md, may_leave). Kept inverted so zeroed is right. */
  bool no_leave;
  bool poisoned;
  rt_inst exports;
  /* Static resource types (as validation saw them) -> this instance's runtime ones. */
  cb_subst map;
  /* The runtime resource types this instance defines (it gets their borrows as reps). */
  const zh_wit_type **self;
  size_t nself, self_cap;
  uint32_t tidx; /* in a template: its index among the environments (template.c) */
};

/* A resource type defined by some instance: its destructor. */
typedef struct rt_res {
  const zh_wit_type *rt;
  zh_func *dtor;                 /* a guest destructor, or NULL */
  zh_cm_resource_dtor host_dtor; /* a host resource's destructor, or NULL */
  void *host_env;
  const zh_wit_type *origin; /* a host resource: the linker's type this one stands for */
  rt_env *env;
  struct rt_res *next;
} rt_res;

struct zh_cm_instance {
  const zh_cm_component *comp;
  zh_store *store;
  void *data; /* the embedder's, for host functions (zh_cm_call_data) */
  wit_arena arena;
  rt_env *envs;      /* every environment, for freeing */
  size_t ninstances; /* component and core instances made, against CB_MAX_INSTANCES */
  rt_env *root;
  rt_res *resources;
  /* Core instances in instantiation order, what a template snapshots. */
  zh_instance **cores;
  size_t ncores, cores_cap;
  /* A template's own instance: its trampolines serve the stamped copies, which they find
   * through their caller's instance data (template.c). */
  bool frozen;
  /* A stamped copy: `root`, `resources` and every structure without per-instance state are
   * the template's; these hold the rest. */
  const zh_cm_template *tpl;
  rt_env *ecopy;           /* by rt_env.tidx */
  zh_cm_func *fcopy;       /* by zh_cm_func.tidx - 1 */
  void **reloc_to;         /* the copies' core functions and memories (template.c) */
  struct rt_lower *lowers; /* every canon lower made, for cm_plan_lowers */
};

/* What a host function sees of its caller. */
struct zh_cm_call {
  zh_cm_instance *inst;
  zh_val *slot; /* zh_cm_call_payload_slot, or NULL */
};

/* linker.c: semantic versions of interface names ("0.2.12"; NULL for none). Compatible:
 * equal, or the same major (for 0.x the same minor), neither a pre-release. */
bool cm_versions_compatible(const char *a, const char *b);
bool cm_version_less(const char *a, const char *b);

/* instance.c, for linker.c */
zh_error *cm_instance_begin(const zh_cm_component *comp, zh_store *store, void *data,
                            zh_cm_instance **out);
/* Runs the root component's definitions with `args` as its imports. */
zh_error *cm_instance_finish(zh_cm_instance *top, const rt_named *args, size_t nargs);
wit_arena *cm_arena(zh_cm_instance *top);
zh_cm_func *cm_host_func(zh_cm_instance *top, const zh_wit_func *type, zh_cm_host_fn fn,
                         zh_cm_core_fn core, void *env, const char *name);
/* The instance's copy of a linker's host resource type (made on first use, so the instance
 * does not depend on the linker), with its destructor. NULL when out of memory. */
const zh_wit_type *cm_host_resource(zh_cm_instance *top, const zh_wit_type *origin,
                                    zh_cm_resource_dtor dtor, void *env);

/* template.c: the stamped copy a frozen template's trampoline was called from (NULL when
 * none), and the copy's version of a template's function or core object (`p` itself when
 * it is shared or `s` is not a copy). */
zh_cm_instance *cm_stamp_of(zh_caller *caller);
zh_cm_func *cm_func_of(const zh_cm_instance *s, zh_cm_func *f);
void *cm_reloc(const zh_cm_instance *s, void *p);
/* `s`'s version of a template's object planned as `to` (1 + its index in the relocations,
 * see cm_plan_lowers), or `p` itself for 0. */
static inline void *cm_reloc_to(const zh_cm_instance *s, uint32_t to, void *p) {
  return to ? s->reloc_to[to - 1] : p;
}
/* instance.c, for template.c: plans every canon lower's memory and cabi_realloc as
 * `index(env, object)`, so a copy's call moves them without a search. */
void cm_plan_lowers(zh_cm_instance *top, uint32_t (*index)(const void *env, const void *p),
                    const void *env);
/* A copy's block back to its template's spares (or freed), for zh_cm_instance_free. */
void cm_template_block_give(const zh_cm_template *t, void *blk);

#endif
