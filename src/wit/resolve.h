/* The resolver's shared state (resolve.c, types.c, world.c). */
#ifndef ZH_WIT_RESOLVE_H
#define ZH_WIT_RESOLVE_H

#include "wit/wit_internal.h"

#define TRY(x)                                                                                     \
  do {                                                                                             \
    if (!(x))                                                                                      \
      return false;                                                                                \
  } while (0)

/* Package-level map tags and scope map tags. */
enum { ITEM_IFACE = 1, ITEM_WORLD = 2 };
enum { NAME_TYPE = 1, NAME_FUNC = 2 };

typedef struct rpkg {
  wit_src_pkg *src;
  zh_wit_package *model;
  wit_map items; /* name -> ast_iface* (ITEM_IFACE) or ast_world* (ITEM_WORLD) */
  ast_state state;
} rpkg;

typedef struct resolver {
  zh_wit *wit;
  wit_arena *m;   /* the model's arena */
  wit_arena *ast; /* scratch: lives until resolution ends */
  rpkg *pkgs;
  size_t npkgs;
  wit_map pkg_map; /* "ns:pkg@ver" -> rpkg* */
  zh_error *err;
  int depth;      /* recursion through chains of definitions */
  wit_vec stack;  /* interfaces and worlds on the current chain, for cycle messages */
  wit_vec pstack; /* packages on the current chain */
} resolver;

/* A named type of a scope and its resolution state. */
typedef struct tdef {
  zh_wit_type *type;
  const ast_typedef *def; /* NULL for names brought in by `use` */
  ast_state state;
} tdef;

/* The names of an interface or a world: types and (interfaces) functions. */
typedef struct scope {
  rpkg *pkg;
  ast_body *body;
  zh_wit_interface *iface; /* one of these two */
  zh_wit_world *world;
  wit_map names; /* name -> tdef* (NAME_TYPE) or ast_func* (NAME_FUNC) */
  wit_vec types; /* zh_wit_type*, in order */
  wit_vec funcs; /* zh_wit_func*, in order */
  wit_vec deps;  /* zh_wit_interface* named by `use` items, each once */
} scope;

/* Records the first error. rfail also yields false; it is a macro so the result is visibly
 * false at every call site (the analyzer does not look into variadic functions). */
void rreport(resolver *r, wit_pos pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define rfail(r, pos, ...) (rreport((r), (pos), __VA_ARGS__), false)
/* Records "out of memory" (unless an error is there already); room also yields false. */
void rreport_oom(resolver *r);
#define room(r) (rreport_oom(r), false)

/* Enters a chain link (depth bound) / leaves it. */
bool rdepth_enter(resolver *r, wit_pos pos);
void rdepth_leave(resolver *r);

/* Cycle error "WHAT cycle: a -> b -> a" from the chain of interfaces and worlds. */
bool rcycle(resolver *r, wit_pos pos, const char *what, const char *from);
bool rpush(resolver *r, const char *name);
void rpop(resolver *r);

/* Resolves a use-path to an interface / a world (resolving it first if need be). */
bool resolve_path_iface(resolver *r, rpkg *pkg, ast_body *body, const ast_path *path,
                        zh_wit_interface **out);
bool resolve_path_world(resolver *r, rpkg *pkg, ast_body *body, const ast_path *path,
                        ast_world **out);
/* Resolves an interface (named or inline) of pkg. */
bool resolve_iface(resolver *r, rpkg *pkg, ast_iface *ai, wit_pos ref, zh_wit_interface **out);
bool resolve_world(resolver *r, rpkg *pkg, ast_world *aw, wit_pos ref);

/* types.c: pass A declares `use`d names and type definitions (and, in interfaces, reserves
 * function names); pass B defines the types; funcs resolves the functions of interfaces. */
bool scope_declare(resolver *r, scope *s, const ast_item *items, size_t n);
bool scope_define(resolver *r, scope *s, const ast_item *items, size_t n);
bool scope_funcs(resolver *r, scope *s, const ast_item *items, size_t n);
bool scope_func(resolver *r, scope *s, const ast_func *f, const zh_wit_type *resource,
                zh_wit_func **out);
bool vec_add_unique(resolver *r, wit_vec *v, void *item);

#endif
