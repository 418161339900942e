/* WIT internals: arena, name maps, tokens, the syntax tree and the phases that connect them.
 *
 *   lexer.c    bytes -> tokens (identifier rules, comments, versions)
 *   parser.c   tokens -> syntax tree of one file (ast_file)
 *   load.c     files and directories -> packages of syntax trees, the public entry points
 *   resolve.c  packages, interfaces, `use`, cycles -> the model of zerohop/wit.h
 *   types.c    type references, type definitions and functions of one scope
 *   world.c    worlds: imports, exports, `include`, implicit imports
 *   model.c    lookups over the finished model, zh_wit_free
 *   arena.c    allocation, maps, strings
 */
#ifndef ZH_WIT_INTERNAL_H
#define ZH_WIT_INTERNAL_H

#include "zerohop/wit.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Syntactic nesting of types past this is an error rather than deep recursion. */
#define WIT_MAX_TYPE_DEPTH 100
/* Chains of definitions (type -> type, interface -> interface, world -> world, package ->
 * package) longer than this are rejected: they bound the resolver's recursion. */
#define WIT_MAX_CHAIN 1000

/* ---- arena: every allocation of one phase, freed at once ---- */

typedef struct wit_arena_block wit_arena_block;
typedef struct wit_arena {
  wit_arena_block *head;
} wit_arena;

void *wit_alloc(wit_arena *a, size_t size); /* zeroed; NULL when out of memory */
void wit_arena_free(wit_arena *a);
char *wit_strndup(wit_arena *a, const char *s, size_t n);
char *wit_strdup(wit_arena *a, const char *s);
char *wit_format(wit_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Growable array of pointers in an arena (old storage is left to the arena). */
typedef struct wit_vec {
  void **items;
  size_t len, cap;
} wit_vec;
bool wit_vec_push(wit_arena *a, wit_vec *v, void *item);

/* Growable array of fixed-size elements in an arena. */
bool wit_grow(wit_arena *a, void **items, size_t *cap, size_t len, size_t elem);

/* Name -> value map, keyed case-insensitively (WIT names must be case-insensitively
 * unique); wit_map_get also requires the exact spelling. */
typedef struct wit_map_entry {
  const char *name;
  void *value;
  int tag;
} wit_map_entry;
typedef struct wit_map {
  wit_map_entry *slots;
  size_t cap, len;
} wit_map;
/* Adds name; when a case-insensitively equal name is there already, returns false with
 * *existing set to it (and adds nothing). *existing is NULL when memory ran out. */
bool wit_map_add(wit_arena *a, wit_map *m, const char *name, void *value, int tag,
                 const wit_map_entry **existing);
const wit_map_entry *wit_map_get(const wit_map *m, const char *name);

/* ---- positions and errors ---- */

typedef struct wit_pos {
  const char *file;
  uint32_t line, col;
} wit_pos;

/* "file:line:col: message", status ZH_ERR_INVALID. */
zh_error *wit_error(wit_pos pos, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
zh_error *wit_oom(void);

/* ---- tokens ---- */

typedef enum wit_tok_kind {
  TK_EOF = 0,
  TK_ID,      /* text without a leading '%' */
  TK_INT,     /* digits */
  TK_VERSION, /* 1.2.3-pre+build, checked by the parser */
  TK_STRING,  /* "..." with the quotes */
  /* punctuation */
  TK_ARROW,
  TK_COLONCOLON,
  TK_COLON,
  TK_SEMI,
  TK_COMMA,
  TK_DOT,
  TK_LBRACE,
  TK_RBRACE,
  TK_LPAREN,
  TK_RPAREN,
  TK_LT,
  TK_GT,
  TK_EQ,
  TK_AT,
  TK_SLASH,
  TK_STAR,
  TK_UNDERSCORE,
  /* keywords */
  TK_KW_FIRST,
  TK_AS = TK_KW_FIRST,
  TK_ASYNC,
  TK_BOOL,
  TK_BORROW,
  TK_CHAR,
  TK_CONSTRUCTOR,
  TK_ENUM,
  TK_EXPORT,
  TK_F32,
  TK_F64,
  TK_FLAGS,
  TK_FROM,
  TK_FUNC,
  TK_FUTURE,
  TK_IMPORT,
  TK_INCLUDE,
  TK_INTERFACE,
  TK_LIST,
  TK_MAP,
  TK_OPTION,
  TK_OWN,
  TK_PACKAGE,
  TK_RECORD,
  TK_RESOURCE,
  TK_RESULT,
  TK_S16,
  TK_S32,
  TK_S64,
  TK_S8,
  TK_STATIC,
  TK_STREAM,
  TK_STRING_KW,
  TK_TUPLE,
  TK_TYPE,
  TK_U16,
  TK_U32,
  TK_U64,
  TK_U8,
  TK_USE,
  TK_VARIANT,
  TK_WITH,
  TK_WORLD,
  TK_FLOAT32,
  TK_FLOAT64, /* old spellings of f32 and f64 */
  TK_COUNT
} wit_tok_kind;

typedef struct wit_token {
  wit_tok_kind kind;
  uint32_t off, len; /* source bytes, '%' included */
  uint32_t line, col;
} wit_token;

/* Tokenizes the whole of text[0..len). On success *toks ends with one TK_EOF. */
zh_error *wit_lex(wit_arena *a, const char *file, const char *text, size_t len, wit_token **toks,
                  size_t *ntoks);
const char *wit_tok_name(wit_tok_kind kind); /* "`record`", "an identifier", ... */

/* ---- syntax tree ---- */

typedef struct ast_type ast_type;
typedef struct ast_iface ast_iface;
typedef struct ast_world ast_world;
typedef struct ast_body ast_body;

typedef enum ast_tkind {
  AT_PRIM,
  AT_NAME,
  AT_LIST,
  AT_OPTION,
  AT_RESULT,
  AT_TUPLE,
  AT_OWN,
  AT_BORROW,
  AT_FUTURE,
  AT_STREAM,
} ast_tkind;

struct ast_type {
  ast_tkind kind;
  wit_pos pos;
  zh_wit_type_kind prim; /* AT_PRIM */
  const char *name;      /* AT_NAME, AT_OWN, AT_BORROW */
  ast_type *a, *b;       /* elem / ok, err; NULL when absent */
  ast_type **elems;      /* AT_TUPLE */
  size_t nelems;
};

typedef struct ast_field {
  wit_pos pos;
  const char *name;
  ast_type *type; /* NULL: no payload */
} ast_field;

/* A use-path: `name` alone is local; with ns it is `ns:pkg/name@version`. */
typedef struct ast_path {
  wit_pos pos;
  const char *ns, *pkg, *name, *version;
} ast_path;

typedef struct ast_func {
  wit_pos pos;
  const char *name;
  zh_wit_func_kind kind;
  bool is_async;
  ast_field *params;
  size_t nparams;
  ast_type *result; /* NULL: none */
} ast_func;

typedef enum ast_dkind {
  AD_ALIAS,
  AD_RECORD,
  AD_VARIANT,
  AD_ENUM,
  AD_FLAGS,
  AD_RESOURCE
} ast_dkind;

typedef struct ast_typedef {
  wit_pos pos;
  ast_dkind kind;
  const char *name;
  ast_type *alias;
  ast_field *fields;
  size_t nfields;
  ast_func *funcs; /* resource */
  size_t nfuncs;
} ast_typedef;

typedef struct ast_use_name {
  wit_pos pos;
  const char *name, *as; /* as: NULL without `as` */
} ast_use_name;

typedef struct ast_use {
  ast_path path;
  ast_use_name *names;
  size_t nnames;
} ast_use;

typedef enum ast_ikind { AI_USE, AI_TYPE, AI_FUNC, AI_IMPORT, AI_EXPORT, AI_INCLUDE } ast_ikind;

typedef enum ast_ekind { AE_PATH, AE_FUNC, AE_IFACE } ast_ekind;

/* import/export: `import path;`, `import name: func...;`, `import name: interface {..}`,
 * `import name: path;`. */
typedef struct ast_extern {
  wit_pos pos;
  const char *name; /* plain name, NULL for `import path;` */
  ast_ekind kind;
  ast_path path;
  ast_func func;
  ast_iface *iface;
} ast_extern;

typedef struct ast_rename {
  wit_pos pos;
  const char *from, *to;
} ast_rename;

typedef struct ast_include {
  ast_path path;
  ast_rename *with;
  size_t nwith;
} ast_include;

/* One item of an interface or world. */
typedef struct ast_item {
  ast_ikind kind;
  union {
    ast_use use;
    ast_typedef def;
    ast_func func;
    ast_extern ext;
    ast_include inc;
  } u;
} ast_item;

/* Resolution state of an interface or world. */
typedef enum ast_state { AS_NEW = 0, AS_BUSY, AS_DONE } ast_state;

struct ast_iface {
  wit_pos pos;
  const char *name; /* NULL inline */
  ast_item *items;
  size_t nitems;
  ast_body *body; /* whose top-level `use`s are in scope */
  /* resolver state */
  ast_state state;
  zh_wit_interface *model;
  void *pkg; /* the resolver's package (resolve.c) */
};

struct ast_world {
  wit_pos pos;
  const char *name;
  ast_item *items;
  size_t nitems;
  ast_body *body;
  ast_state state;
  zh_wit_world *model;
  void *pkg;
  void *elab; /* world.c's elaboration state while resolving */
};

typedef struct ast_pkgname {
  wit_pos pos;
  const char *ns, *pkg, *version;
} ast_pkgname;

typedef struct ast_top_use {
  ast_path path;
  wit_pos as_pos;
  const char *as; /* the name it defines (the `as` name, or the interface's name) */
} ast_top_use;

/* The items of one file (outside package blocks) or of one `package x:y { ... }` block. */
struct ast_body {
  bool has_name;
  ast_pkgname name;
  wit_vec ifaces; /* ast_iface* */
  wit_vec worlds; /* ast_world* */
  wit_vec uses;   /* ast_top_use* */
  bool nested;    /* a `package x:y { ... }` block */
  /* resolver: top-level use name -> ast_top_use* */
  wit_map use_map;
  bool use_map_built;
};

typedef struct ast_file {
  const char *name;
  ast_body root;
  wit_vec nested; /* ast_body* */
} ast_file;

zh_error *wit_parse_file(wit_arena *a, const char *name, const char *text, size_t len,
                         ast_file **out);

/* Checks `text` as semantic version 2.0.0 (no leading zeros, non-empty parts). */
bool wit_semver_valid(const char *text, size_t len);

/* ---- resolution ---- */

/* A package as assembled by load.c: bodies that share one name. */
typedef struct wit_src_pkg {
  ast_pkgname name; /* from the first body with a name */
  wit_vec bodies;   /* ast_body* */
} wit_src_pkg;

struct zh_wit {
  wit_arena arena;
  size_t npackages;
  const zh_wit_package **packages;
  const zh_wit_package *root;
};

/* Resolves the source packages; root is one of them. Fills wit (its arena must be set up). */
zh_error *wit_resolve(zh_wit *wit, wit_arena *ast, wit_src_pkg **pkgs, size_t npkgs,
                      wit_src_pkg *root);

/* The static primitive types. */
const zh_wit_type *wit_prim(zh_wit_type_kind kind);

#endif
