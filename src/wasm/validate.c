/* Validation of decoded modules: the WebAssembly 2.0 rules for the module's components
 * and for every function body (the algorithm of the spec's validation appendix), plus
 * multi-memory (Wasm 3.0) unless the engine is configured for 2.0's single memory.
 *
 * Function bodies are first decoded here, so this file also reports the binary errors of
 * the instruction stream (ZH_ERR_MALFORMED). As in the reference interpreter, which
 * decodes the whole module before validating it, a malformed body anywhere wins over a
 * validation error anywhere: after the first validation error the remaining code is still
 * decoded, but no longer typed. */
#include "wasm/error.h"
#include "wasm/module.h"
#include "wasm/opcodes.h"
#include "wasm/reader.h"
#include "wasm/runtime.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T_UNKNOWN 0 /* the bottom type of a polymorphic (unreachable) stack */

/* Memories per module: each reserves 8 GiB + 64 KiB of address space (memory.h), so 64 take
 * 512 GiB, a 256th of the user address space, per instance. Toolchains use one to three. */
#define ZH_MAX_MEMORIES 64u

/* A sequence of value types, pointing into the module's types or a static table. */
typedef struct vtypes {
  const uint8_t *t;
  uint32_t n;
} vtypes;

/* A control frame. `op` is block, loop, if, or else once an if reached its else; the
 * function's own frame is a block. */
typedef struct ctrl_frame {
  vtypes params, results;
  size_t height;     /* operand stack height at entry, params excluded */
  uint64_t br_table; /* the last br_table (by number) that checked this frame's label */
  uint8_t op;
  bool unreachable;
} ctrl_frame;

typedef struct op_info {
  const char *name; /* NULL: illegal opcode */
  uint8_t imm;      /* zh_imm */
  uint8_t sig;      /* zh_sig */
} op_info;

#define OP_ROW_(code, id, text, imm, sig) [code] = {text, imm, sig},
static const op_info k_ops[256] = {ZH_OPCODES(OP_ROW_)};
static const op_info k_ops_fc[ZH_FC_COUNT] = {ZH_OPCODES_FC(OP_ROW_)};
#undef OP_ROW_
#define OP_ROW_FD_(code, id, text, imm, sig, shape) [code] = {text, imm, sig},
static const op_info k_ops_fd[ZH_FD_COUNT] = {ZH_OPCODES_FD(OP_ROW_FD_)};
#undef OP_ROW_FD_

typedef struct sig_info {
  uint8_t n;
  uint8_t p[3];
  uint8_t r;
} sig_info;

#define SIG_ROW_(sig, n, p0, p1, p2, r) [sig] = {n, {p0, p1, p2}, r},
static const sig_info k_sigs[ZH_SIG_COUNT] = {ZH_SIGS(SIG_ROW_)};
#undef SIG_ROW_

/* Storage for single-result block types: a block type names one of these. */
static const uint8_t k_valtypes[] = {ZH_I32,  ZH_I64,     ZH_F32,      ZH_F64,
                                     ZH_V128, ZH_FUNCREF, ZH_EXTERNREF};

typedef struct vstate {
  const zh_module *m;
  const char *mname;
  bool single_memory; /* Wasm 2.0: memory indices are reserved 0x00 bytes */
  zh_error *invalid;  /* the first validation error */
  zh_error *fatal;    /* a malformed body or out of memory: stops everything */

  /* the body being validated */
  uint32_t func;
  const zh_func_body *body;
  zh_reader r;          /* over the body's instructions */
  const uint8_t *instr; /* start of the current instruction, for messages */
  const char *opname;   /* its name, or NULL */
  const uint8_t *params;
  uint32_t nparams;
  vtypes results;
  bool typing;        /* false after a validation error: decode only */
  uint64_t br_tables; /* br_table instructions seen, to check each target frame once */

  /* Stacks are kept across bodies and grow geometrically. */
  uint8_t *vals;
  size_t nvals, cap_vals;
  ctrl_frame *ctrls;
  size_t nctrls, cap_ctrls;
  uint8_t *scratch;
  size_t cap_scratch;
} vstate;

/* ---- helpers ---------------------------------------------------------------------------- */

static bool is_ref(uint8_t t) { return zh_is_reftype(t); }

static vtypes single(uint8_t t) {
  for (size_t i = 0; i < sizeof k_valtypes; i++)
    if (k_valtypes[i] == t)
      return (vtypes){&k_valtypes[i], 1};
  return (vtypes){NULL, 0};
}

static vtypes type_params(const zh_type *t) { return (vtypes){t->types, t->nparams}; }
static vtypes type_results(const zh_type *t) {
  return (vtypes){t->types + t->nparams, t->nresults};
}

static bool same_types(vtypes a, vtypes b) {
  return a.n == b.n && (a.n == 0 || memcmp(a.t, b.t, a.n) == 0);
}

/* Grows *buf to hold at least `need` elements of `size` bytes, doubling. */
static bool grow(void **buf, size_t *cap, size_t need, size_t size) {
  size_t n = *cap ? *cap : 64;
  while (n < need) {
    if (n > SIZE_MAX / 2 / size)
      return false;
    n *= 2;
  }
  void *p = realloc(*buf, n * size);
  if (!p)
    return false;
  *buf = p;
  *cap = n;
  return true;
}

static void out_of_memory(vstate *v) {
  if (!v->fatal)
    v->fatal = zh_error_oom();
  v->typing = false;
}

/* ---- errors ------------------------------------------------------------------------------ */

/* Records a body error. Validation errors after the first are dropped (typing stops at the
 * first); a malformed instruction stream stops everything. */
__attribute__((format(printf, 3, 4))) static void body_fail(vstate *v, zh_status status,
                                                            const char *fmt, ...) {
  if (status == ZH_ERR_INVALID && !v->typing)
    return;
  if (v->fatal)
    return;
  char reason[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, sizeof reason, fmt, ap);
  va_end(ap);
  const char *fname = v->m->func_names && v->func < v->m->nfuncs ? v->m->func_names[v->func] : NULL;
  uint64_t off = (uint64_t)v->body->offset + (uint64_t)(v->instr - v->body->code);
  zh_error *e = zh_error_new(
      status, "%s: function %" PRIu32 "%s%s%s at offset 0x%" PRIx64 ": %s%s%s%s", v->mname, v->func,
      fname ? " (" : "", fname ? fname : "", fname ? ")" : "", off, reason,
      v->opname ? " (in " : "", v->opname ? v->opname : "", v->opname ? ")" : "");
  if (status == ZH_ERR_INVALID)
    v->invalid = e;
  else
    v->fatal = e;
  v->typing = false;
}

#define INVALID(...) body_fail(v, ZH_ERR_INVALID, __VA_ARGS__)
#define MALFORMED(...) body_fail(v, ZH_ERR_MALFORMED, __VA_ARGS__)

/* Records a module-level validation error: "<name>: <what> <index>: <reason>". */
__attribute__((format(printf, 4, 5))) static void mod_fail(vstate *v, const char *what,
                                                           uint32_t index, const char *fmt, ...) {
  if (v->invalid)
    return;
  char reason[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, sizeof reason, fmt, ap);
  va_end(ap);
  v->invalid =
      zh_error_new(ZH_ERR_INVALID, "%s: %s %" PRIu32 ": %s", v->mname, what, index, reason);
}

/* ---- reading the instruction stream --------------------------------------------------------- */

/* Turns the reader's failure into a body error. */
static bool rd_fail(vstate *v) {
  MALFORMED("%s", v->r.err ? v->r.err : ZH_READ_EOF_TEXT);
  return false;
}

static inline bool rd_byte(vstate *v, uint8_t *out) { return zh_read_u8(&v->r, out) || rd_fail(v); }

__attribute__((always_inline)) static inline bool rd_u32(vstate *v, uint32_t *out) {
  if (v->r.p < v->r.end && *v->r.p < 0x80) { /* the common one-byte case */
    *out = *v->r.p++;
    return true;
  }
  return zh_read_u32(&v->r, out) || rd_fail(v);
}

static inline bool rd_sleb(vstate *v, unsigned bits) {
  int64_t x = 0;
  return zh_read_sleb(&v->r, bits, &x) || rd_fail(v);
}

static inline bool rd_skip(vstate *v, size_t n) {
  const uint8_t *b;
  return zh_read_bytes(&v->r, n, &b) || rd_fail(v);
}

/* A reserved memory index byte. */
static bool rd_zero(vstate *v) {
  uint8_t b = 0;
  if (!rd_byte(v, &b))
    return false;
  if (b != 0) {
    MALFORMED("zero byte expected");
    return false;
  }
  return true;
}

/* A memory index immediate: a u32 (multi-memory) or 2.0's reserved zero byte. The index
 * must name a memory of the module. */
static bool rd_memidx(vstate *v, uint32_t *out) {
  *out = 0;
  if (v->single_memory) {
    if (!rd_zero(v))
      return false;
  } else if (!rd_u32(v, out)) {
    return false;
  }
  if (v->typing && *out >= v->m->nmems)
    INVALID("unknown memory %" PRIu32, *out);
  return true;
}

/* A memarg: flags (alignment, and in multi-memory bit 6 for a memory index that follows),
 * then the offset. Returns the alignment in *align and the offset in *offset. */
__attribute__((always_inline)) static inline bool rd_memarg(vstate *v, uint32_t *align,
                                                            uint32_t *offset) {
  uint32_t flags = 0, mem = 0;
  if (!rd_u32(v, &flags))
    return false;
  /* 2.0: bit 6 would select a memory index; 3.0: bits above it are not defined. */
  if (flags >= (v->single_memory ? 32u : 2 * ZH_MEMARG_HAS_MEMORY)) {
    MALFORMED("malformed memop flags 0x%" PRIx32, flags);
    return false;
  }
  if (flags & ZH_MEMARG_HAS_MEMORY) {
    if (!rd_u32(v, &mem))
      return false;
    if (v->typing && mem >= v->m->nmems)
      INVALID("unknown memory %" PRIu32, mem);
  } else if (v->typing && v->m->nmems == 0) {
    INVALID("unknown memory 0");
  }
  *align = flags & ZH_MEMARG_ALIGN_MASK;
  return rd_u32(v, offset);
}

/* A lane index byte, which must name one of `lanes` lanes. */
static bool rd_lane(vstate *v, unsigned lanes) {
  uint8_t b = 0;
  if (!rd_byte(v, &b))
    return false;
  if (b >= lanes)
    INVALID("invalid lane index %u (of %u lanes)", b, lanes);
  return true;
}

/* A block type: 0x40, one value type, or a type index as a positive s33. */
static bool rd_blocktype(vstate *v, vtypes *params, vtypes *results) {
  *params = *results = (vtypes){NULL, 0};
  uint8_t b = 0;
  if (!zh_peek_u8(&v->r, &b))
    return rd_fail(v);
  if (b == 0x40) {
    v->r.p++;
    return true;
  }
  if (zh_is_valtype(b)) {
    v->r.p++;
    *results = single(b);
    return true;
  }
  if ((b & 0xc0) == 0x40) { /* a one-byte negative: meant as a value type */
    MALFORMED("malformed value type 0x%02x", b);
    return false;
  }
  int64_t x = 0;
  if (!zh_read_s33(&v->r, &x))
    return rd_fail(v);
  if (x < 0 || (uint64_t)x >= v->m->ntypes) {
    INVALID("unknown type %" PRId64, x);
    return true;
  }
  const zh_type *t = &v->m->types[x];
  *params = type_params(t);
  *results = type_results(t);
  return true;
}

/* ---- the operand and control stacks -----------------------------------------------------------
 */

static inline void push(vstate *v, uint8_t t) {
  if (!v->typing)
    return;
  if (v->nvals == v->cap_vals &&
      !grow((void **)&v->vals, &v->cap_vals, v->nvals + 1, sizeof *v->vals)) {
    out_of_memory(v);
    return;
  }
  v->vals[v->nvals++] = t;
}

static void push_vals(vstate *v, vtypes ts) {
  for (uint32_t i = 0; i < ts.n; i++)
    push(v, ts.t[i]);
}

static inline uint8_t pop_any(vstate *v) {
  if (!v->typing)
    return T_UNKNOWN;
  ctrl_frame *c = &v->ctrls[v->nctrls - 1];
  if (v->nvals == c->height) {
    if (!c->unreachable)
      INVALID("type mismatch: expected a value but the stack is empty");
    return T_UNKNOWN;
  }
  return v->vals[--v->nvals];
}

static inline uint8_t pop_expect(vstate *v, uint8_t want) {
  if (!v->typing)
    return want;
  ctrl_frame *c = &v->ctrls[v->nctrls - 1];
  if (v->nvals == c->height) {
    if (!c->unreachable)
      INVALID("type mismatch: expected %s but the stack is empty",
              zh_valtype_name((zh_valtype)want));
    return T_UNKNOWN;
  }
  uint8_t got = v->vals[--v->nvals];
  if (got != want && got != T_UNKNOWN && want != T_UNKNOWN)
    INVALID("type mismatch: expected %s, got %s", zh_valtype_name((zh_valtype)want),
            zh_valtype_name((zh_valtype)got));
  return got;
}

static void pop_vals(vstate *v, vtypes ts) {
  for (uint32_t i = ts.n; i-- > 0 && v->typing;)
    pop_expect(v, ts.t[i]);
}

/* Checks that the stack top matches `ts` and leaves it as it was (Unknowns included). */
static void keep_vals(vstate *v, vtypes ts) {
  if (!v->typing || ts.n == 0)
    return;
  if (ts.n > v->cap_scratch &&
      !grow((void **)&v->scratch, &v->cap_scratch, ts.n, sizeof *v->scratch)) {
    out_of_memory(v);
    return;
  }
  for (uint32_t i = ts.n; i-- > 0 && v->typing;)
    v->scratch[i] = pop_expect(v, ts.t[i]);
  for (uint32_t i = 0; i < ts.n; i++)
    push(v, v->scratch[i]);
}

static void push_ctrl(vstate *v, uint8_t op, vtypes params, vtypes results) {
  if (v->nctrls == v->cap_ctrls &&
      !grow((void **)&v->ctrls, &v->cap_ctrls, v->nctrls + 1, sizeof *v->ctrls)) {
    out_of_memory(v);
    return;
  }
  ctrl_frame *c = &v->ctrls[v->nctrls++];
  c->params = params;
  c->results = results;
  c->height = v->nvals;
  c->br_table = 0;
  c->op = op;
  c->unreachable = false;
  push_vals(v, params);
}

/* At else/end: the frame's results must be exactly what is left above its height. */
static void check_frame_end(vstate *v, const ctrl_frame *c) {
  pop_vals(v, c->results);
  if (v->typing && v->nvals != c->height)
    INVALID("type mismatch: %zu value(s) left on the stack at the end of a block",
            v->nvals - c->height);
}

static void set_unreachable(vstate *v) {
  if (!v->typing)
    return;
  ctrl_frame *c = &v->ctrls[v->nctrls - 1];
  v->nvals = c->height;
  c->unreachable = true;
}

static vtypes label_types(const ctrl_frame *c) {
  return c->op == ZH_OPCODE_loop ? c->params : c->results;
}

/* The frame a branch to depth `l` targets, or NULL (with an error) if there is none. */
static ctrl_frame *label(vstate *v, uint32_t l) {
  if (!v->typing)
    return NULL;
  if (l >= v->nctrls) {
    INVALID("unknown label %" PRIu32, l);
    return NULL;
  }
  return &v->ctrls[v->nctrls - 1 - l];
}

static uint8_t local_type(vstate *v, uint32_t x) {
  if (x < v->nparams)
    return v->params[x];
  uint64_t y = (uint64_t)x - v->nparams;
  if (y < v->body->nlocals)
    return v->body->local_types[y];
  INVALID("unknown local %" PRIu32, x);
  return T_UNKNOWN;
}

static const zh_type *func_type(vstate *v, uint32_t f) {
  uint32_t t = v->m->func_types[f];
  if (t >= v->m->ntypes) { /* reported at module level already; keep memory safe */
    INVALID("unknown type %" PRIu32, t);
    return NULL;
  }
  return &v->m->types[t];
}

static bool func_declared(const zh_module *m, uint32_t f) {
  return m->declared_funcs && (m->declared_funcs[f >> 3] >> (f & 7) & 1);
}

/* ---- function bodies ------------------------------------------------------------------------ */

/* Pops the operands and pushes the result of an instruction with a fixed signature. */
__attribute__((always_inline)) static inline void apply_sig(vstate *v, uint8_t sig) {
  const sig_info *s = &k_sigs[sig];
  for (unsigned i = s->n; i-- > 0;)
    pop_expect(v, s->p[i]);
  if (s->r)
    push(v, s->r);
}

/* The most frequent instructions while typing, each read and typed in one place: the same
 * checks in the same order as the general path in validate_body (so the same errors), with
 * one dispatch instead of three. Returns false for the others, having read nothing. */
__attribute__((always_inline)) static inline bool validate_common(vstate *v, uint8_t op,
                                                                  bool *stop) {
  const zh_module *m = v->m;
  uint32_t a = 0, b = 0;
  if (op >= ZH_OPCODE_i32_eqz && op <= ZH_OPCODE_i64_extend32_s) { /* numeric, no immediate */
    v->opname = k_ops[op].name;
    apply_sig(v, k_ops[op].sig);
    return true;
  }
  switch (op) {
  case ZH_OPCODE_local_get:
  case ZH_OPCODE_local_set:
  case ZH_OPCODE_local_tee: {
    v->opname = k_ops[op].name;
    if (!rd_u32(v, &a)) {
      *stop = true;
      return true;
    }
    uint8_t t = local_type(v, a);
    if (op != ZH_OPCODE_local_get)
      pop_expect(v, t);
    if (op != ZH_OPCODE_local_set)
      push(v, t);
    return true;
  }
  case ZH_OPCODE_global_get:
    v->opname = k_ops[op].name;
    if (!rd_u32(v, &a)) {
      *stop = true;
      return true;
    }
    if (a >= m->nglobals)
      INVALID("unknown global %" PRIu32, a);
    else
      push(v, m->global_types[a].type);
    return true;
  case ZH_OPCODE_i32_const:
  case ZH_OPCODE_i64_const:
    v->opname = k_ops[op].name;
    if (!rd_sleb(v, op == ZH_OPCODE_i32_const ? 32 : 64)) {
      *stop = true;
      return true;
    }
    push(v, op == ZH_OPCODE_i32_const ? ZH_I32 : ZH_I64);
    return true;
  case ZH_OPCODE_call: {
    v->opname = k_ops[op].name;
    if (!rd_u32(v, &a)) {
      *stop = true;
      return true;
    }
    if (a >= m->nfuncs) {
      INVALID("unknown function %" PRIu32, a);
      return true;
    }
    const zh_type *t = func_type(v, a);
    if (t) {
      pop_vals(v, type_params(t));
      push_vals(v, type_results(t));
    }
    return true;
  }
  case ZH_OPCODE_drop:
    v->opname = k_ops[op].name;
    pop_any(v);
    return true;
  default:
    break;
  }
  if (op >= ZH_OPCODE_i32_load && op <= ZH_OPCODE_i64_store32) { /* plain loads and stores */
    const op_info *info = &k_ops[op];
    v->opname = info->name;
    if (!rd_memarg(v, &a, &b)) {
      *stop = true;
      return true;
    }
    if (a > zh_imm_natural_align((zh_imm)info->imm)) {
      INVALID("alignment must not be larger than natural (2**%" PRIu32 " > %u bytes)", a,
              1u << zh_imm_natural_align((zh_imm)info->imm));
      return true;
    }
    apply_sig(v, info->sig);
    return true;
  }
  return false;
}

/* The body of the function with index `func`; errors land in v. */
static void validate_body(vstate *v, uint32_t func, const zh_func_body *body) {
  const zh_module *m = v->m;
  v->func = func;
  v->body = body;
  zh_reader_init(&v->r, body->code, (size_t)(body->end - body->code));
  v->instr = body->code;
  v->opname = NULL;
  v->typing = v->invalid == NULL;
  v->nvals = 0;
  v->nctrls = 0;
  v->params = NULL;
  v->nparams = 0;
  v->results = (vtypes){NULL, 0};
  const zh_type *ft = func < m->nfuncs ? func_type(v, func) : NULL;
  if (ft) {
    v->params = ft->types;
    v->nparams = ft->nparams;
    v->results = type_results(ft);
  } else {
    v->typing = false;
  }
  push_ctrl(v, ZH_OPCODE_block, (vtypes){NULL, 0}, v->results);

  while (!v->fatal) {
    v->instr = v->r.p;
    v->opname = NULL;
    uint8_t op = 0;
    if (!rd_byte(v, &op))
      return;
    bool stop = false;
    if (v->typing && validate_common(v, op, &stop)) {
      if (stop)
        return;
      continue;
    }
    const op_info *info;
    unsigned code = op; /* 0xfc-prefixed ops are 0x100 + their code */
    if (op == ZH_PREFIX_FC) {
      uint32_t sub = 0;
      if (!rd_u32(v, &sub))
        return;
      if (sub >= ZH_FC_COUNT) {
        MALFORMED("illegal opcode 0xfc %" PRIu32, sub);
        return;
      }
      info = &k_ops_fc[sub];
      code = 0x100 + sub;
    } else if (op == ZH_PREFIX_SIMD) {
      uint32_t sub = 0;
      if (!rd_u32(v, &sub))
        return;
      if (sub >= ZH_FD_COUNT || !k_ops_fd[sub].name) {
        MALFORMED("illegal opcode 0xfd %" PRIu32, sub);
        return;
      }
      info = &k_ops_fd[sub];
      code = 0x200 + sub;
    } else {
      info = &k_ops[op];
      if (!info->name) {
        MALFORMED("illegal opcode 0x%02x", op);
        return;
      }
    }
    v->opname = info->name;

    /* Immediates, and the validity of the indices they carry. */
    uint32_t a = 0, b = 0;
    vtypes bparams = {NULL, 0}, bresults = {NULL, 0};
    const uint8_t *labels = NULL; /* br_table: first label */
    switch ((zh_imm)info->imm) {
    case IMM_NONE:
      break;
    case IMM_BLOCK:
      if (!rd_blocktype(v, &bparams, &bresults))
        return;
      break;
    case IMM_LABEL:
    case IMM_LOCAL:
      if (!rd_u32(v, &a))
        return;
      break;
    case IMM_BR_TABLE:
      if (!rd_u32(v, &a))
        return;
      labels = v->r.p;
      for (uint64_t k = 0; k <= a; k++) /* ends at the body's end at the latest */
        if (!rd_u32(v, &b))
          return;
      break;
    case IMM_FUNC:
      if (!rd_u32(v, &a))
        return;
      if (v->typing && a >= m->nfuncs)
        INVALID("unknown function %" PRIu32, a);
      break;
    case IMM_CALL_INDIRECT:
      if (!rd_u32(v, &a) || !rd_u32(v, &b))
        return;
      if (!v->typing)
        break;
      if (b >= m->ntables)
        INVALID("unknown table %" PRIu32, b);
      else if (m->tables[b].elem != ZH_FUNCREF)
        INVALID("type mismatch: table %" PRIu32 " is not a funcref table", b);
      else if (a >= m->ntypes)
        INVALID("unknown type %" PRIu32, a);
      break;
    case IMM_SELECT_T:
      if (!rd_u32(v, &a))
        return;
      for (uint64_t k = 0; k < a; k++) {
        uint8_t t = 0;
        if (!zh_read_valtype(&v->r, &t)) {
          rd_fail(v);
          return;
        }
        b = t;
      }
      if (v->typing && a != 1)
        INVALID("invalid result arity %" PRIu32, a);
      break;
    case IMM_GLOBAL:
      if (!rd_u32(v, &a))
        return;
      if (v->typing && a >= m->nglobals)
        INVALID("unknown global %" PRIu32, a);
      break;
    case IMM_TABLE:
      if (!rd_u32(v, &a))
        return;
      if (v->typing && a >= m->ntables)
        INVALID("unknown table %" PRIu32, a);
      break;
    case IMM_MEMARG_1:
    case IMM_MEMARG_2:
    case IMM_MEMARG_4:
    case IMM_MEMARG_8:
    case IMM_MEMARG_16:
    case IMM_MEMLANE_1:
    case IMM_MEMLANE_2:
    case IMM_MEMLANE_4:
    case IMM_MEMLANE_8:
      if (!rd_memarg(v, &a, &b))
        return;
      if (zh_imm_lanes((zh_imm)info->imm) && !rd_lane(v, zh_imm_lanes((zh_imm)info->imm)))
        return;
      if (v->typing && a > zh_imm_natural_align((zh_imm)info->imm))
        INVALID("alignment must not be larger than natural (2**%" PRIu32 " > %u bytes)", a,
                1u << zh_imm_natural_align((zh_imm)info->imm));
      break;
    case IMM_MEMORY:
      if (!rd_memidx(v, &a))
        return;
      break;
    case IMM_I32:
      if (!rd_sleb(v, 32))
        return;
      break;
    case IMM_I64:
      if (!rd_sleb(v, 64))
        return;
      break;
    case IMM_F32:
      if (!rd_skip(v, 4))
        return;
      break;
    case IMM_F64:
      if (!rd_skip(v, 8))
        return;
      break;
    case IMM_REFTYPE: {
      uint8_t t = 0;
      if (!zh_read_reftype(&v->r, &t)) {
        rd_fail(v);
        return;
      }
      a = t;
      break;
    }
    case IMM_MEMORY_INIT:
    case IMM_DATA:
      if (!rd_u32(v, &a))
        return;
      if (info->imm == IMM_MEMORY_INIT && !rd_memidx(v, &b))
        return;
      /* Single-pass compilers need the count up front; without data segments the index
       * is merely unknown (the spec tests want that invalid, not malformed). */
      if (!m->has_data_count && m->ndatas > 0) {
        MALFORMED("data count section required");
        return;
      }
      if (v->typing && a >= (m->has_data_count ? m->data_count : m->ndatas))
        INVALID("unknown data segment %" PRIu32, a);
      break;
    case IMM_LANE_2:
    case IMM_LANE_4:
    case IMM_LANE_8:
    case IMM_LANE_16:
      if (!rd_lane(v, zh_imm_lanes((zh_imm)info->imm)))
        return;
      break;
    case IMM_V128:
      if (!rd_skip(v, 16))
        return;
      break;
    case IMM_SHUFFLE:
      for (int k = 0; k < 16; k++)
        if (!rd_lane(v, 32))
          return;
      break;
    case IMM_MEMORY_COPY:
      if (!rd_memidx(v, &a) || !rd_memidx(v, &b))
        return;
      break;
    case IMM_TABLE_INIT:
      if (!rd_u32(v, &a) || !rd_u32(v, &b))
        return;
      if (!v->typing)
        break;
      if (b >= m->ntables)
        INVALID("unknown table %" PRIu32, b);
      else if (a >= m->nelems)
        INVALID("unknown elem segment %" PRIu32, a);
      else if (m->elems[a].type != m->tables[b].elem)
        INVALID("type mismatch: elem segment %" PRIu32 " holds %s, table %" PRIu32 " %s", a,
                zh_valtype_name((zh_valtype)m->elems[a].type), b,
                zh_valtype_name((zh_valtype)m->tables[b].elem));
      break;
    case IMM_ELEM:
      if (!rd_u32(v, &a))
        return;
      if (v->typing && a >= m->nelems)
        INVALID("unknown elem segment %" PRIu32, a);
      break;
    case IMM_TABLE_COPY:
      if (!rd_u32(v, &a) || !rd_u32(v, &b))
        return;
      if (!v->typing)
        break;
      if (a >= m->ntables)
        INVALID("unknown table %" PRIu32, a);
      else if (b >= m->ntables)
        INVALID("unknown table %" PRIu32, b);
      else if (m->tables[a].elem != m->tables[b].elem)
        INVALID("type mismatch: table %" PRIu32 " holds %s, table %" PRIu32 " %s", a,
                zh_valtype_name((zh_valtype)m->tables[a].elem), b,
                zh_valtype_name((zh_valtype)m->tables[b].elem));
      break;
    }

    /* Structure: kept up even when no longer typing, to find the body's end. */
    switch (code) {
    case ZH_OPCODE_block:
    case ZH_OPCODE_loop:
      pop_vals(v, bparams);
      push_ctrl(v, op, bparams, bresults);
      continue;
    case ZH_OPCODE_if:
      pop_expect(v, ZH_I32);
      pop_vals(v, bparams);
      push_ctrl(v, op, bparams, bresults);
      continue;
    case ZH_OPCODE_else: {
      ctrl_frame *c = &v->ctrls[v->nctrls - 1];
      if (c->op != ZH_OPCODE_if) {
        MALFORMED("END opcode expected (else without if)");
        return;
      }
      check_frame_end(v, c);
      c->op = ZH_OPCODE_else;
      if (v->typing)
        v->nvals = c->height;
      c->unreachable = false;
      push_vals(v, c->params);
      continue;
    }
    case ZH_OPCODE_end: {
      const ctrl_frame *c = &v->ctrls[v->nctrls - 1];
      check_frame_end(v, c);
      if (c->op == ZH_OPCODE_if && !same_types(c->params, c->results))
        INVALID("type mismatch: if without else must yield its parameters");
      vtypes results = c->results;
      v->nctrls--;
      if (v->nctrls == 0) {
        if (v->r.p != v->r.end)
          MALFORMED("section size mismatch: code after the function's final end");
        return;
      }
      push_vals(v, results);
      continue;
    }
    default:
      break;
    }
    if (!v->typing)
      continue;

    switch (code) {
    case ZH_OPCODE_unreachable:
      set_unreachable(v);
      break;
    case ZH_OPCODE_br: {
      const ctrl_frame *c = label(v, a);
      if (c)
        pop_vals(v, label_types(c));
      set_unreachable(v);
      break;
    }
    case ZH_OPCODE_br_if: {
      pop_expect(v, ZH_I32);
      const ctrl_frame *c = label(v, a);
      if (c) { /* the label's types come back, refined from any Unknowns */
        pop_vals(v, label_types(c));
        push_vals(v, label_types(c));
      }
      break;
    }
    case ZH_OPCODE_br_table: {
      /* b is the default label, a the count of the others, starting at `labels`. */
      pop_expect(v, ZH_I32);
      const ctrl_frame *dc = label(v, b);
      if (!dc)
        break;
      vtypes dt = label_types(dc);
      const uint8_t *after = v->r.p;
      const uint8_t *checked[8] = {NULL}; /* label types already checked, by address */
      uint64_t mark = ++v->br_tables;
      v->r.p = labels;
      for (uint32_t k = 0; k < a && v->typing; k++) {
        uint32_t l = 0;
        if (!rd_u32(v, &l))
          break; /* cannot fail: it read fine the first time */
        if (l < v->nctrls && v->ctrls[v->nctrls - 1 - l].br_table == mark)
          continue;
        ctrl_frame *c = label(v, l);
        if (!c)
          break;
        c->br_table = mark;
        vtypes lt = label_types(c);
        if (lt.n != dt.n) {
          INVALID("type mismatch: br_table targets of different arity (%" PRIu32 " and %" PRIu32
                  ")",
                  lt.n, dt.n);
          break;
        }
        /* After one check the stack top is fixed, so equal label types check alike: each
         * frame is checked once, and types seen lately (by address) are not checked again,
         * which keeps a br_table's cost near its length even for high-arity labels. */
        if (lt.n == 0)
          continue;
        size_t slot = ((uintptr_t)lt.t >> 3) % 8;
        if (checked[slot] == lt.t)
          continue;
        keep_vals(v, lt);
        checked[slot] = lt.t;
      }
      v->r.p = after;
      pop_vals(v, dt);
      set_unreachable(v);
      break;
    }
    case ZH_OPCODE_return:
      pop_vals(v, v->results);
      set_unreachable(v);
      break;
    case ZH_OPCODE_call:
    case ZH_OPCODE_call_indirect: {
      const zh_type *t = code == ZH_OPCODE_call ? func_type(v, a) : &m->types[a];
      if (!t)
        break;
      if (code == ZH_OPCODE_call_indirect)
        pop_expect(v, ZH_I32);
      pop_vals(v, type_params(t));
      push_vals(v, type_results(t));
      break;
    }
    case ZH_OPCODE_drop:
      pop_any(v);
      break;
    case ZH_OPCODE_select: {
      pop_expect(v, ZH_I32);
      uint8_t t1 = pop_any(v), t2 = pop_any(v);
      if (is_ref(t1) || is_ref(t2))
        INVALID("type mismatch: select without a type needs numeric operands");
      else if (t1 != t2 && t1 != T_UNKNOWN && t2 != T_UNKNOWN)
        INVALID("type mismatch: select operands %s and %s", zh_valtype_name((zh_valtype)t2),
                zh_valtype_name((zh_valtype)t1));
      push(v, t1 == T_UNKNOWN ? t2 : t1);
      break;
    }
    case ZH_OPCODE_select_t:
      pop_expect(v, ZH_I32);
      pop_expect(v, (uint8_t)b);
      pop_expect(v, (uint8_t)b);
      push(v, (uint8_t)b);
      break;
    case ZH_OPCODE_local_get: {
      uint8_t t = local_type(v, a);
      push(v, t);
      break;
    }
    case ZH_OPCODE_local_set:
    case ZH_OPCODE_local_tee: {
      uint8_t t = local_type(v, a);
      pop_expect(v, t);
      if (code == ZH_OPCODE_local_tee)
        push(v, t);
      break;
    }
    case ZH_OPCODE_global_get:
      push(v, m->global_types[a].type);
      break;
    case ZH_OPCODE_global_set:
      if (!m->global_types[a].mutable_) {
        INVALID("global is immutable: global %" PRIu32, a);
        break;
      }
      pop_expect(v, m->global_types[a].type);
      break;
    case ZH_OPCODE_table_get:
      pop_expect(v, ZH_I32);
      push(v, m->tables[a].elem);
      break;
    case ZH_OPCODE_table_set:
      pop_expect(v, m->tables[a].elem);
      pop_expect(v, ZH_I32);
      break;
    case 0x100 + ZH_OPCODE_FC_table_grow:
      pop_expect(v, ZH_I32);
      pop_expect(v, m->tables[a].elem);
      push(v, ZH_I32);
      break;
    case 0x100 + ZH_OPCODE_FC_table_fill:
      pop_expect(v, ZH_I32);
      pop_expect(v, m->tables[a].elem);
      pop_expect(v, ZH_I32);
      break;
    case ZH_OPCODE_ref_null:
      push(v, (uint8_t)a);
      break;
    case ZH_OPCODE_ref_is_null: {
      uint8_t t = pop_any(v);
      if (t != T_UNKNOWN && !is_ref(t))
        INVALID("type mismatch: expected a reference, got %s", zh_valtype_name((zh_valtype)t));
      push(v, ZH_I32);
      break;
    }
    case ZH_OPCODE_ref_func:
      if (!func_declared(m, a)) {
        INVALID("undeclared function reference %" PRIu32, a);
        break;
      }
      push(v, ZH_FUNCREF);
      break;
    default: /* everything else has a fixed signature */
      apply_sig(v, info->sig);
      break;
    }
  }
}

/* ---- module components ---------------------------------------------------------------------- */

/* Checks a constant expression that must yield `want`; writes a reason into buf on failure.
 * global.get may only name imported immutable globals (WebAssembly 2.0). */
static const char *check_const(const zh_module *m, const zh_const_expr *e, uint8_t want, char *buf,
                               size_t size) {
  uint8_t t;
  switch (e->kind) {
  case ZH_CONST_VALUE:
  case ZH_CONST_REF_NULL:
    t = e->type;
    break;
  case ZH_CONST_GLOBAL_GET:
    if (e->index >= m->nglobal_imports || e->index >= m->nglobals) {
      snprintf(buf, size, "unknown global %" PRIu32, e->index);
      return buf;
    }
    if (m->global_types[e->index].mutable_) {
      snprintf(buf, size, "constant expression required (global %" PRIu32 " is mutable)", e->index);
      return buf;
    }
    t = m->global_types[e->index].type;
    break;
  case ZH_CONST_REF_FUNC:
    if (e->index >= m->nfuncs) {
      snprintf(buf, size, "unknown function %" PRIu32, e->index);
      return buf;
    }
    t = ZH_FUNCREF;
    break;
  default:
    return "constant expression required";
  }
  if (t != want) {
    snprintf(buf, size, "type mismatch: expected %s, got %s", zh_valtype_name((zh_valtype)want),
             zh_valtype_name((zh_valtype)t));
    return buf;
  }
  return NULL;
}

static void check_limits(vstate *v, const char *what, uint32_t index, const zh_limits *l,
                         uint64_t range, const char *range_msg) {
  if (l->min > range || (l->has_max && l->max > range))
    mod_fail(v, what, index, "%s", range_msg);
  else if (l->has_max && l->min > l->max)
    mod_fail(v, what, index, "size minimum must not be greater than maximum");
}

typedef struct export_ref {
  const zh_export *e;
} export_ref;

static int cmp_export_names(const void *pa, const void *pb) {
  const zh_export *a = ((const export_ref *)pa)->e, *b = ((const export_ref *)pb)->e;
  uint32_t n = a->name.len < b->name.len ? a->name.len : b->name.len;
  int c = n ? memcmp(a->name.ptr, b->name.ptr, n) : 0;
  if (c)
    return c;
  if (a->name.len != b->name.len)
    return a->name.len < b->name.len ? -1 : 1;
  return (a > b) - (a < b); /* equal names: keep index order, to report the later one */
}

static void check_exports(vstate *v) {
  const zh_module *m = v->m;
  for (uint32_t i = 0; i < m->nexports; i++) {
    const zh_export *e = &m->exports[i];
    switch (e->kind) {
    case ZH_EXTERN_FUNC:
      if (e->index >= m->nfuncs)
        mod_fail(v, "export", i, "unknown function %" PRIu32, e->index);
      break;
    case ZH_EXTERN_TABLE:
      if (e->index >= m->ntables)
        mod_fail(v, "export", i, "unknown table %" PRIu32, e->index);
      break;
    case ZH_EXTERN_MEMORY:
      if (e->index >= m->nmems)
        mod_fail(v, "export", i, "unknown memory %" PRIu32, e->index);
      break;
    case ZH_EXTERN_GLOBAL:
      if (e->index >= m->nglobals)
        mod_fail(v, "export", i, "unknown global %" PRIu32, e->index);
      break;
    }
  }
  if (m->nexports < 2)
    return;
  /* Sorting finds duplicates in n log n. */
  export_ref *sorted = malloc(m->nexports * sizeof *sorted);
  if (!sorted) {
    out_of_memory(v);
    return;
  }
  for (uint32_t i = 0; i < m->nexports; i++)
    sorted[i].e = &m->exports[i];
  qsort(sorted, m->nexports, sizeof *sorted, cmp_export_names);
  for (uint32_t i = 1; i < m->nexports; i++) {
    const zh_export *a = sorted[i - 1].e, *b = sorted[i].e;
    if (a->name.len == b->name.len &&
        (a->name.len == 0 || memcmp(a->name.ptr, b->name.ptr, a->name.len) == 0)) {
      mod_fail(v, "export", (uint32_t)(b - m->exports), "duplicate export name \"%.*s\"",
               (int)(b->name.len > 64 ? 64 : b->name.len), (const char *)b->name.ptr);
      break;
    }
  }
  free(sorted);
}

static void check_module(vstate *v) {
  const zh_module *m = v->m;
  char buf[160];
  const char *r;

  for (uint32_t i = 0; i < m->nfuncs; i++)
    if (m->func_types[i] >= m->ntypes)
      mod_fail(v, "function", i, "unknown type %" PRIu32, m->func_types[i]);

  for (uint32_t i = 0; i < m->ntables; i++)
    check_limits(v, "table", i, &m->tables[i].limits, UINT32_MAX,
                 "table size must be at most 2^32-1");
  for (uint32_t i = 0; i < m->nmems; i++)
    check_limits(v, "memory", i, &m->mems[i], 65536,
                 "memory size must be at most 65536 pages (4GiB)");
  if (v->single_memory && m->nmems > 1)
    mod_fail(v, "memory", 1, "multiple memories");

  for (uint32_t i = m->nglobal_imports; i < m->nglobals; i++) {
    const zh_global_def *g = &m->globals[i - m->nglobal_imports];
    if ((r = check_const(m, &g->init, g->type.type, buf, sizeof buf)))
      mod_fail(v, "global", i, "%s", r);
  }

  for (uint32_t i = 0; i < m->nelems; i++) {
    const zh_elem_segment *e = &m->elems[i];
    for (uint32_t k = 0; k < e->count; k++)
      if ((r = check_const(m, &e->items[k], e->type, buf, sizeof buf))) {
        mod_fail(v, "elem", i, "item %" PRIu32 ": %s", k, r);
        break;
      }
    if (e->mode != ZH_SEG_ACTIVE)
      continue;
    if (e->table >= m->ntables)
      mod_fail(v, "elem", i, "unknown table %" PRIu32, e->table);
    else if (m->tables[e->table].elem != e->type)
      mod_fail(v, "elem", i, "type mismatch: segment of %s for a table of %s",
               zh_valtype_name((zh_valtype)e->type),
               zh_valtype_name((zh_valtype)m->tables[e->table].elem));
    if ((r = check_const(m, &e->offset, ZH_I32, buf, sizeof buf)))
      mod_fail(v, "elem", i, "offset: %s", r);
  }

  for (uint32_t i = 0; i < m->ndatas; i++) {
    const zh_data_segment *d = &m->datas[i];
    if (d->mode != ZH_SEG_ACTIVE)
      continue;
    if (d->memory >= m->nmems)
      mod_fail(v, "data", i, "unknown memory %" PRIu32, d->memory);
    if ((r = check_const(m, &d->offset, ZH_I32, buf, sizeof buf)))
      mod_fail(v, "data", i, "offset: %s", r);
  }

  if (m->has_start) {
    if (m->start >= m->nfuncs) {
      mod_fail(v, "start function", m->start, "unknown function %" PRIu32, m->start);
    } else if (m->func_types[m->start] < m->ntypes) {
      const zh_type *t = zh_func_type_of(m, m->start);
      if (t->nparams || t->nresults)
        mod_fail(v, "start function", m->start, "start function must have type [] -> []");
    }
  }

  check_exports(v);
}

/* ---- the bodies, in parallel ---------------------------------------------------------- */

/* Bodies are validated in parallel when there are this many bytes of code or more: below,
 * starting a thread costs more than it saves. */
#define ZH_PARALLEL_CODE_BYTES (1u << 20)
/* Threads at most, the caller's included. */
#define ZH_VALIDATE_THREADS 8

/* A run of consecutive bodies, validated by one thread with its own state. */
typedef struct vrange {
  vstate v;
  uint32_t from, to; /* body indices */
  pthread_t thread;
  bool started;
} vrange;

static void vstate_free(vstate *v) {
  free(v->vals);
  free(v->ctrls);
  free(v->scratch);
}

static void validate_range(vstate *v, uint32_t from, uint32_t to) {
  for (uint32_t i = from; i < to && !v->fatal; i++)
    validate_body(v, v->m->nfunc_imports + i, &v->m->bodies[i]);
}

static void *validate_range_thread(void *arg) {
  vrange *r = arg;
  validate_range(&r->v, r->from, r->to);
  return NULL;
}

static unsigned validate_threads(const zh_module *m) {
  uint32_t want = m->engine ? m->engine->config.validate_threads : 0;
  if (want)
    return want > ZH_VALIDATE_THREADS ? ZH_VALIDATE_THREADS : want < m->nbodies ? want : 1;
  uint64_t bytes = 0;
  for (uint32_t i = 0; i < m->nbodies; i++)
    bytes += (uint64_t)(m->bodies[i].end - m->bodies[i].code);
  if (bytes < ZH_PARALLEL_CODE_BYTES)
    return 1;
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  unsigned n = cores < 1 ? 1 : cores > ZH_VALIDATE_THREADS ? ZH_VALIDATE_THREADS : (unsigned)cores;
  return n < m->nbodies ? n : 1;
}

/* Validates the bodies in `n` runs of about equal code size on `n` threads (the caller's
 * one of them) and keeps the error sequential validation would give: the first malformed
 * body, else the module's own error in `v`, else the first invalid body. A run whose
 * thread cannot start is validated by the caller. */
static void validate_parallel(vstate *v, unsigned n) {
  const zh_module *m = v->m;
  vrange r[ZH_VALIDATE_THREADS];
  memset(r, 0, sizeof r);
  uint64_t total = 0;
  for (uint32_t i = 0; i < m->nbodies; i++)
    total += (uint64_t)(m->bodies[i].end - m->bodies[i].code);
  uint64_t acc = 0;
  uint32_t b = 0;
  for (unsigned k = 0; k < n; k++) {
    r[k].v.m = m;
    r[k].v.mname = v->mname;
    r[k].v.single_memory = v->single_memory;
    /* A module-level error turns typing off in every run, as it does sequentially; it stays
     * v's, and a run records no error of that kind over it. */
    r[k].v.invalid = v->invalid;
    r[k].from = b;
    uint64_t goal = total * (k + 1) / n;
    while (b < m->nbodies && (k == n - 1 || acc < goal)) {
      acc += (uint64_t)(m->bodies[b].end - m->bodies[b].code);
      b++;
    }
    r[k].to = b;
  }
  for (unsigned k = 1; k < n; k++)
    r[k].started = pthread_create(&r[k].thread, NULL, validate_range_thread, &r[k]) == 0;
  validate_range(&r[0].v, r[0].from, r[0].to);
  for (unsigned k = 1; k < n; k++) {
    if (r[k].started)
      pthread_join(r[k].thread, NULL);
    else
      validate_range(&r[k].v, r[k].from, r[k].to);
  }
  for (unsigned k = 0; k < n; k++) {
    if (r[k].v.fatal && !v->fatal) {
      v->fatal = r[k].v.fatal;
      r[k].v.fatal = NULL;
    }
    if (r[k].v.invalid != v->invalid && !v->invalid) {
      v->invalid = r[k].v.invalid;
      r[k].v.invalid = NULL;
    }
    if (r[k].v.invalid != v->invalid)
      zh_error_free(r[k].v.invalid);
    zh_error_free(r[k].v.fatal);
    vstate_free(&r[k].v);
  }
}

zh_error *zh_validate(const zh_module *m) {
  vstate v;
  memset(&v, 0, sizeof v);
  v.m = m;
  v.mname = m->name ? m->name : "module";
  v.single_memory = m->engine && m->engine->config.single_memory;
  if (m->nmems > ZH_MAX_MEMORIES && !v.single_memory)
    return zh_error_new(ZH_ERR_RESOURCE,
                        "%s: %" PRIu32 " memories: at most %u (each reserves 8 GiB of "
                        "address space)",
                        v.mname, m->nmems, ZH_MAX_MEMORIES);
  check_module(&v);
  unsigned threads = v.fatal ? 1 : validate_threads(m);
  if (threads > 1)
    validate_parallel(&v, threads);
  else
    validate_range(&v, 0, m->nbodies);
  vstate_free(&v);
  if (v.fatal) {
    zh_error_free(v.invalid);
    return v.fatal;
  }
  return v.invalid;
}
