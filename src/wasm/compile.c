/* Translation of validated wasm bodies into register code (ops.h).
 *
 * The wasm operand stack is mapped onto frame slots: the value at stack height h lives
 * in slot nlocals + h, its "home". While translating we keep an abstract stack whose
 * entries say where each value really is: in its home slot, still in a local (a
 * local.get not yet copied), or a constant known at compile time. Instructions read
 * their operands wherever they are and write their result home, so `local.get a;
 * local.get b; i32.add; local.set c` becomes one instruction `i32_add_rr c, a, b`:
 * the local.gets cost nothing and the local.set retargets the add's destination.
 *
 * Other fusions: an operand that is a constant selects the register-immediate form,
 * two constants fold, and a comparison (or eqz) followed by br_if or if becomes one
 * compare-and-branch instruction.
 *
 * A v128 takes two adjacent slots, and two abstract stack entries (its halves, marked
 * H_LO and H_HI) that move together: both are in their homes, both alias the two slots of
 * one local, or both are constants. Locals are numbered by slot, so a v128 local shifts
 * the slots of the locals after it. SIMD instructions (opcodes_simd.h) are emitted by
 * shape: the destination, then the operand slots, then the immediates.
 *
 * Memory 0 is the interpreter's fast path. An access to another memory is the same
 * instruction bracketed by mem_select k and mem_restore (no fusion reaches across the
 * two); memory.size, memory.grow and the bulk instructions on other memories are memory_x
 * (ops.h).
 *
 * Input is validated, so this pass trusts types and indices. */
#include "wasm/compile.h"

#include "wasm/error.h"
#include "wasm/opcodes.h"
#include "wasm/ops.h"
#include "wasm/runtime.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { K_HOME, K_LOCAL, K_CONST };

enum { H_NONE, H_LO, H_HI }; /* which half of a v128 an entry is */

typedef struct entry {
  uint8_t kind;
  uint8_t half;
  uint32_t local; /* K_LOCAL: the local's slot */
  uint64_t bits;  /* K_CONST */
} entry;

enum { C_BLOCK, C_LOOP, C_IF, C_FUNC };

typedef struct ctrl {
  uint8_t kind;
  bool unreachable;
  uint32_t height;                /* stack height below the block's params */
  uint32_t nparams, nresults;     /* in slots */
  const uint8_t *ptypes, *rtypes; /* value types of params and results */
  uint32_t npv, nrv;              /* their counts */
  size_t loop_pc;                 /* C_LOOP: where the loop starts */
  size_t else_insn;               /* C_IF: fixup record of the branch to else/end; SIZE_MAX: none */
  uint32_t fixups;                /* head of the list of forward branches to this block's end */
} ctrl;

typedef struct fixup {
  size_t insn;  /* branch instruction start: offsets are relative to it */
  size_t field; /* position of the 32-bit offset */
  uint32_t next;
} fixup;

#define NO_FIXUP UINT32_MAX

typedef struct compiler {
  const zh_module *m;
  const void *const *h; /* handler addresses */
  uint8_t *code;
  size_t len, cap;
  entry *stack;
  uint32_t height, stack_cap, max_height;
  ctrl *ctrls;
  uint32_t nctrls, ctrl_cap;
  fixup *fixups;
  uint32_t nfixups, fixup_cap;
  uint32_t nlocals; /* slots of params + declared locals = first temp slot */
  uint32_t *lslot;  /* local index -> its (first) slot */
  uint8_t *ltype;   /* local index -> value type */
  uint32_t lcap, ltype_cap;
  uint32_t nresults;
  bool oom;
  /* Peephole state about the last instruction emitted, cleared by any later emission and
   * by every label (barrier), so that a fusion never reaches across a branch target. */
  size_t last_insn;     /* start of the last instruction */
  size_t last_dst;      /* field of its destination slot, or 0 */
  uint32_t last_height; /* stack height it wrote */
  int last_kind;        /* LK_*: what it was, for fusions that replace it */
  int last_cmp;         /* LK_CMP: index into cmps */
  uint32_t la, lb, lk;  /* its operands: slots, immediate or shift */
  bool l_imm;           /* LK_CMP: lb is an immediate */
  uint32_t l_dst;       /* LK_ADD_RI: the slot it writes (a local once retargeted) */
  /* The same about the instruction before it, for three-instruction fusions. */
  size_t prev_insn;
  int prev_kind;
  uint32_t prev_la, prev_lb, prev_dst;
  /* Straight-line code at function entry, before any label: declared locals still hold
   * the zero the call put there until their first write (`fresh`), so compilers'
   * explicit zeroing of them is dropped. */
  bool at_entry;
  uint8_t *fresh;
  uint32_t fresh_cap;
  /* Starts of the last instructions emitted since the last label, oldest first, for
   * fusions that look further back than last/prev. An entry at or past c->len is stale
   * (the instruction was taken back by a fusion). */
  size_t hist[4];
  uint32_t nhist;
} compiler;

enum {
  LK_NONE,
  LK_CMP,       /* integer comparison */
  LK_EQZ32,     /* i32.eqz of la */
  LK_EQZ64,     /* i64.eqz of la */
  LK_COPY,      /* copy */
  LK_ADD_RI,    /* i32 la + lb(imm) */
  LK_ADD_RR,    /* i32 la + lb */
  LK_SHL_RI,    /* i32 la << lk */
  LK_ROTL_RI,   /* i32 rotl(la, lk) */
  LK_ADD_SHL,   /* i32 la + (lb << lk) */
  LK_LOAD64,    /* 64-bit load from la + lb(offset), plain mode */
  LK_F64_ADD_M, /* f64 la + memory at lb + lk(offset) */
  LK_LOADV,     /* v128.load from la + lb(offset), plain mode */
  LK_FMUL32,    /* f32x4.mul of la, lb */
  LK_FMUL64,    /* f64x2.mul of la, lb */
  LK_NOT32,     /* i32 la ^ -1 */
  LK_ANDN_ADD,  /* i32 ~la & (la + lb(imm)) */
  LK_ZBYTES,    /* i32 zero-byte mask of la */
  LK_AND_RI,    /* i32 la & lb(imm) */
};

/* ---- code buffer ---- */

static bool grow(void **p, uint32_t *cap, size_t need, size_t elem) {
  if (need <= *cap)
    return true;
  size_t n = *cap ? *cap : 16;
  while (n < need)
    n *= 2;
  void *q = realloc(*p, n * elem);
  if (!q)
    return false;
  *p = q;
  *cap = (uint32_t)n;
  return true;
}

static void put(compiler *c, const void *data, size_t n) {
  if (c->len + n > c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 256;
    while (cap < c->len + n)
      cap *= 2;
    uint8_t *q = realloc(c->code, cap);
    if (!q) {
      c->oom = true;
      return;
    }
    c->code = q;
    c->cap = cap;
  }
  memcpy(c->code + c->len, data, n);
  c->len += n;
}

static void emit_op(compiler *c, zh_op op) {
  while (c->nhist && c->hist[c->nhist - 1] >= c->len)
    c->nhist--;
  if (c->nhist == sizeof c->hist / sizeof c->hist[0]) {
    memmove(c->hist, c->hist + 1, sizeof c->hist - sizeof c->hist[0]);
    c->nhist--;
  }
  c->hist[c->nhist++] = c->len;
  c->prev_insn = c->last_insn;
  c->prev_kind = c->last_kind;
  c->prev_la = c->la, c->prev_lb = c->lb, c->prev_dst = c->l_dst;
  c->last_insn = c->len;
  c->last_dst = 0;
  c->last_kind = LK_NONE;
  const void *addr = c->h[op];
  put(c, &addr, sizeof addr);
}
static void emit_u32(compiler *c, uint32_t v) { put(c, &v, 4); }
static void emit_u64(compiler *c, uint64_t v) { put(c, &v, 8); }
static void emit_ptr(compiler *c, const void *p) { put(c, &p, sizeof p); }
static void patch_u32(compiler *c, size_t at, uint32_t v) {
  if (!c->oom)
    memcpy(c->code + at, &v, 4);
}

/* A label may be bound at the current position: no fusion may reach back over it. */
static void barrier(compiler *c) {
  c->last_dst = 0;
  c->last_kind = LK_NONE;
  c->prev_kind = LK_NONE;
  c->at_entry = false;
}

/* A label is bound here: no fusion may look back past it, not even through hist. */
static void label_here(compiler *c) {
  barrier(c);
  c->nhist = 0;
}

/* The start of the instruction just before the one starting at `at` if hist still has it,
 * with handler `op`, and `size` bytes long (it ends at `at`); SIZE_MAX otherwise. */
static size_t insn_before(const compiler *c, size_t at, zh_op op, size_t size) {
  for (uint32_t i = c->nhist; i-- > 0;)
    if (c->hist[i] < at) {
      size_t s = c->hist[i];
      if (s + size != at || at > c->len || c->oom ||
          memcmp(c->code + s, &c->h[op], sizeof c->h[op]) != 0)
        return SIZE_MAX;
      return s;
    }
  return SIZE_MAX;
}

static uint32_t field_at(const compiler *c, size_t insn, unsigned i) {
  uint32_t v;
  memcpy(&v, c->code + insn + sizeof(void *) + (size_t)4 * i, 4);
  return v;
}

/* True when the last instruction produced the value at stack height h (still in its home
 * slot) and may be replaced by a fused instruction. */
static bool produced_last(const compiler *c, uint32_t h, int kind) {
  return c->last_kind == kind && c->last_dst && c->last_height == h && h < c->height &&
         c->stack[h].kind == K_HOME;
}

/* When the address at stack height h was just computed by an i32 add (of a register,
 * an immediate or a shifted register), removes that add so the memory access can do it
 * itself: returns the addressing mode (ops.h) and its operands, or 0. */
static int take_address(compiler *c, uint32_t h, uint32_t ops[3]) {
  int mode = produced_last(c, h, LK_ADD_RI)    ? 1
             : produced_last(c, h, LK_ADD_RR)  ? 2
             : produced_last(c, h, LK_ADD_SHL) ? 3
                                               : 0;
  if (mode) {
    ops[0] = c->la, ops[1] = c->lb, ops[2] = c->lk;
    c->len = c->last_insn;
    barrier(c);
  }
  return mode;
}

/* When the address at stack height h is a constant A and A + off fits 32 bits: that sum in
 * ea[0], for the constant-address forms (l32_k, s32_k). No code is emitted for the constant. */
static bool const_ea(const compiler *c, uint32_t h, uint32_t off, uint32_t ea[3]) {
  const entry *e = &c->stack[h];
  if (e->kind != K_CONST || (uint64_t)(uint32_t)e->bits + off > UINT32_MAX)
    return false;
  ea[0] = (uint32_t)e->bits + off;
  return true;
}

static void emit_address(compiler *c, int mode, const uint32_t ops[3], uint32_t off) {
  emit_u32(c, ops[0]);
  if (mode >= 1)
    emit_u32(c, ops[1]);
  if (mode == 3)
    emit_u32(c, ops[2]);
  emit_u32(c, off);
}

/* The brackets around an access to a memory other than memory 0 (nothing for memory 0).
 * The barrier after mem_restore keeps fusions from reaching into the bracket. */
static inline void mem_select(compiler *c, uint32_t mem) {
  if (!mem)
    return;
  emit_op(c, ZH_OP_mem_select);
  emit_u32(c, mem);
}
static inline void mem_restore(compiler *c, uint32_t mem) {
  if (!mem)
    return;
  emit_op(c, ZH_OP_mem_restore);
  label_here(c);
}

/* memory_x (ops.h): memory.size, memory.grow and the bulk instructions on a memory other than
 * memory 0. */
static void emit_memory_x(compiler *c, uint32_t what, uint32_t a, uint32_t b, uint32_t d,
                          uint32_t mem, uint32_t extra) {
  emit_op(c, ZH_OP_memory_x);
  emit_u32(c, what);
  emit_u32(c, a), emit_u32(c, b), emit_u32(c, d);
  emit_u32(c, mem), emit_u32(c, extra);
}

/* Marks the instruction just emitted as producing the value at stack height h, with its
 * destination field at `field`, so a following local.set may retarget it. */
static void mark_dst(compiler *c, size_t field, uint32_t h) {
  c->last_dst = field;
  c->last_height = h;
}

/* ---- abstract stack ---- */

static inline uint32_t home(const compiler *c, uint32_t h) { return c->nlocals + h; }

static entry *push(compiler *c, uint8_t kind) {
  if (!grow((void **)&c->stack, &c->stack_cap, c->height + 1, sizeof(entry))) {
    c->oom = true;
    static entry sink; /* never read: compilation fails on oom */
    return &sink;
  }
  entry *e = &c->stack[c->height++];
  if (c->height > c->max_height)
    c->max_height = c->height;
  e->kind = kind;
  e->half = H_NONE;
  e->local = 0;
  e->bits = 0;
  return e;
}

/* Pushes a value of type t in its home: one entry, or two halves for a v128. */
static void push_home(compiler *c, uint8_t t) {
  if (t == ZH_V128) {
    push(c, K_HOME)->half = H_LO;
    push(c, K_HOME)->half = H_HI;
  } else {
    push(c, K_HOME);
  }
}

static void push_types(compiler *c, const uint8_t *types, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    push_home(c, types[i]);
}

static uint32_t slots_of(const uint8_t *types, uint32_t n) {
  uint32_t k = n;
  for (uint32_t i = 0; i < n; i++)
    k += types[i] == ZH_V128;
  return k;
}

static void emit_const_to(compiler *c, uint32_t slot, uint64_t bits) {
  if (bits <= UINT32_MAX) {
    emit_op(c, ZH_OP_const32);
    emit_u32(c, slot);
    emit_u32(c, (uint32_t)bits);
  } else {
    emit_op(c, ZH_OP_const64);
    emit_u32(c, slot);
    emit_u64(c, bits);
  }
}

static void emit_copy(compiler *c, uint32_t dst, uint32_t src) {
  if (dst == src)
    return;
  if (c->last_kind == LK_COPY && c->last_insn + 16 == c->len && !c->oom) {
    /* Two copies in a row (rotating locals, moving block results) share one dispatch. */
    const void *addr = c->h[ZH_OP_copy2];
    memcpy(c->code + c->last_insn, &addr, sizeof addr);
    emit_u32(c, dst);
    emit_u32(c, src);
    c->last_kind = LK_NONE;
    return;
  }
  emit_op(c, ZH_OP_copy);
  emit_u32(c, dst);
  emit_u32(c, src);
  c->last_kind = LK_COPY;
}

/* Moves the value of entry `e` into slot `dst`. */
static void emit_move(compiler *c, const entry *e, uint32_t src_home, uint32_t dst) {
  switch (e->kind) {
  case K_CONST:
    emit_const_to(c, dst, e->bits);
    break;
  case K_LOCAL:
    emit_copy(c, dst, e->local);
    break;
  default:
    emit_copy(c, dst, src_home);
    break;
  }
}

/* Puts stack entry i into its home slot. */
static void flush(compiler *c, uint32_t i) {
  entry *e = &c->stack[i];
  if (e->kind == K_HOME)
    return;
  if (e->kind == K_CONST && e->half == H_LO && i + 1 < c->height &&
      c->stack[i + 1].kind == K_CONST) { /* a v128 constant: one instruction */
    emit_op(c, ZH_OP_v_v128_const);
    emit_u32(c, home(c, i));
    emit_u64(c, e->bits);
    emit_u64(c, c->stack[i + 1].bits);
    e->kind = c->stack[i + 1].kind = K_HOME;
    return;
  }
  emit_move(c, e, home(c, i), home(c, i));
  e->kind = K_HOME;
}

/* Control flow merges paths: entries that alias locals must be real copies first.
 * Constants stay symbolic, since no path can change them. */
static void flush_locals(compiler *c) {
  for (uint32_t i = 0; i < c->height; i++)
    if (c->stack[i].kind == K_LOCAL)
      flush(c, i);
}

/* The slot from which to read entry i (already popped or not). Constants without an
 * immediate form are materialised into the entry's home slot, which is free. */
static uint32_t read_slot(compiler *c, uint32_t i) {
  entry *e = &c->stack[i];
  if (e->kind == K_LOCAL)
    return e->local;
  if (e->kind == K_CONST)
    flush(c, i);
  return home(c, i);
}

/* The first slot of the v128 whose low half is entry i: both halves of a local, or the
 * entry's home (constants are materialised there). */
static uint32_t read_v(compiler *c, uint32_t i) {
  entry *lo = &c->stack[i], *hi = &c->stack[i + 1];
  if (lo->kind == K_LOCAL && hi->kind == K_LOCAL && hi->local == lo->local + 1)
    return lo->local;
  flush(c, i);
  flush(c, i + 1);
  return home(c, i);
}

/* Replaces the last instruction, which produced one operand of the binary op at stack
 * heights h, h + 1 (the second if `second`), by `o dst, other, x, y` that does both. The
 * new instruction is recorded with la/lb/lk = other, x, y for further fusions. */
static void fuse_last(compiler *c, uint32_t h, bool second, zh_op o, uint32_t x, uint32_t y) {
  c->len = c->last_insn;
  barrier(c);
  uint32_t other = read_slot(c, second ? h : h + 1); /* a local or a home slot: no code */
  c->height = h;
  push(c, K_HOME);
  emit_op(c, o);
  size_t dst = c->len;
  emit_u32(c, home(c, h));
  emit_u32(c, other);
  emit_u32(c, x);
  emit_u32(c, y);
  mark_dst(c, dst, h);
  c->la = other, c->lb = x, c->lk = y;
}

/* Drops the code from `at` on and starts `o` there, its result in the home of stack height
 * h (now the top): returns where the destination operand is, for mark_dst once the other
 * operands follow. */
static size_t refuse_at(compiler *c, size_t at, uint32_t h, zh_op o) {
  c->len = at;
  barrier(c);
  c->height = h;
  push(c, K_HOME);
  emit_op(c, o);
  size_t dst = c->len;
  emit_u32(c, home(c, h));
  return dst;
}

/* The zero-byte test of libc's word-at-a-time string loops, `~x & (x - 0x01010101) &
 * 0x80808080`, arrives as `x ^ -1`, `x + k`, an and of the two, then an and with the mask.
 * The two terms, computed one after the other (either first) from the same local, become
 * i32_andn_add; the mask on that becomes i32_zbytes, which a branch on it absorbs in turn
 * (emit_cond_branch). `op` is the i32.and whose operands are at h, h + 1. */
static bool fuse_zero_byte_test(compiler *c, uint32_t h) {
  const entry *a = &c->stack[h], *b = &c->stack[h + 1];
  if (a->kind == K_HOME && b->kind == K_HOME && produced_last(c, h + 1, c->last_kind)) {
    bool add_last = c->last_kind == LK_ADD_RI && c->prev_kind == LK_NOT32;
    bool not_last = c->last_kind == LK_NOT32 && c->prev_kind == LK_ADD_RI;
    /* The first term: written to home(h) by the instruction right before. Equal operand
     * slots are one local, as two stack entries read from homes are different slots. */
    if ((add_last || not_last) && c->prev_dst == home(c, h) && c->prev_insn + 20 == c->last_insn &&
        c->prev_la == c->la && c->la < c->nlocals) {
      uint32_t x = c->la, k = add_last ? c->lb : c->prev_lb;
      size_t dst = refuse_at(c, c->prev_insn, h, ZH_OP_i32_andn_add);
      emit_u32(c, x);
      emit_u32(c, k);
      mark_dst(c, dst, h);
      c->last_kind = LK_ANDN_ADD;
      c->la = x, c->lb = k;
      return true;
    }
    return false;
  }
  /* The mask, on either side. */
  const uint32_t mask = 0x80808080u;
  bool second = a->kind == K_CONST && (uint32_t)a->bits == mask;
  if (!(second || (b->kind == K_CONST && (uint32_t)b->bits == mask)) ||
      !produced_last(c, second ? h + 1 : h, LK_ANDN_ADD) || c->lb != 0xfefefeffu)
    return false;
  uint32_t x = c->la;
  size_t dst = refuse_at(c, c->last_insn, h, ZH_OP_i32_zbytes);
  emit_u32(c, x);
  mark_dst(c, dst, h);
  c->last_kind = LK_ZBYTES;
  c->la = x;
  c->l_dst = home(c, h);
  return true;
}

/* ---- immediates ---- */

typedef struct rd {
  const uint8_t *p, *end;
} rd;

static uint64_t rd_uleb(rd *r) {
  uint64_t v = 0;
  for (unsigned shift = 0; r->p < r->end && shift < 64; shift += 7) {
    uint8_t b = *r->p++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80))
      break;
  }
  return v;
}

static int64_t rd_sleb(rd *r) {
  uint64_t v = 0;
  unsigned shift = 0;
  uint8_t b = 0x80;
  while (r->p < r->end && shift < 64) {
    b = *r->p++;
    v |= (uint64_t)(b & 0x7f) << shift;
    shift += 7;
    if (!(b & 0x80))
      break;
  }
  if (shift < 64 && (b & 0x40))
    v |= ~(uint64_t)0 << shift;
  return (int64_t)v;
}

static uint32_t rd_u32(rd *r) { return (uint32_t)rd_uleb(r); }
static uint8_t rd_u8(rd *r) { return r->p < r->end ? *r->p++ : 0; }
/* A memarg: the memory index (bit 6 of the flags says one follows) in *mem; returns the
 * offset. The alignment is only a hint. */
__attribute__((always_inline)) static inline uint32_t rd_memarg(rd *r, uint32_t *mem) {
  uint32_t flags = rd_u32(r);
  *mem = flags & ZH_MEMARG_HAS_MEMORY ? rd_u32(r) : 0;
  return rd_u32(r);
}
static uint64_t rd_fixed(rd *r, unsigned n) {
  uint64_t v = 0;
  for (unsigned i = 0; i < n && r->p < r->end; i++)
    v |= (uint64_t)*r->p++ << (8 * i);
  return v;
}

/* Storage for single-result block types. */
static const uint8_t k_valtypes[] = {ZH_I32,  ZH_I64,     ZH_F32,      ZH_F64,
                                     ZH_V128, ZH_FUNCREF, ZH_EXTERNREF};

/* Reads a block type into a control entry's types and slot counts. */
static void block_type(const compiler *c, rd *r, ctrl *l) {
  const uint8_t *p = r->p;
  int64_t bt = rd_sleb(r);
  l->ptypes = l->rtypes = NULL;
  l->npv = l->nrv = 0;
  if (bt >= 0) {
    const zh_type *t = &c->m->types[bt];
    l->ptypes = t->types, l->npv = t->nparams;
    l->rtypes = t->types + t->nparams, l->nrv = t->nresults;
  } else if (bt != -64) { /* a value type (0x40 is empty) */
    for (size_t i = 0; i < sizeof k_valtypes; i++)
      if (k_valtypes[i] == *p)
        l->rtypes = &k_valtypes[i], l->nrv = 1;
  }
  l->nparams = slots_of(l->ptypes, l->npv);
  l->nresults = slots_of(l->rtypes, l->nrv);
}

/* Immediate kinds and shapes of the SIMD instructions. */
enum {
  SH_UN,
  SH_BIN,
  SH_TERN,
  SH_TEST,
  SH_SPLAT,
  SH_SHIFT,
  SH_EXTRACT,
  SH_REPLACE,
  SH_SHUFFLE,
  SH_CONST,
  SH_LOAD,
  SH_LOADLANE,
  SH_STORE,
  SH_STORELANE,
};
#define FD_IMM_(code, id, text, imm, sig, shape) [code] = (imm),
static const zh_imm k_fd_imm[ZH_FD_COUNT] = {ZH_OPCODES_FD(FD_IMM_)};
#undef FD_IMM_
#define FD_SHAPE_(code, id, text, imm, sig, shape) [code] = SH_##shape,
static const uint8_t k_fd_shape[ZH_FD_COUNT] = {ZH_OPCODES_FD(FD_SHAPE_)};
#undef FD_SHAPE_
#define FD_OP_(code, id, ...) [code] = ZH_OP_v_##id,
static const uint16_t k_fd_op[ZH_FD_COUNT] = {ZH_OPCODES_FD(FD_OP_)};
#undef FD_OP_
/* The fused forms (ops.h): binary ops with a memory operand, shifts by a constant; 0 if
 * the instruction has none. */
#define FD_VM_(id) [ZH_OPCODE_FD_##id] = ZH_OP_vm_##id,
static const uint16_t k_fd_vm_op[ZH_FD_COUNT] = {ZH_V128_MEM_BINOPS(FD_VM_)};
#undef FD_VM_
#define FD_VI_(id) [ZH_OPCODE_FD_##id] = ZH_OP_vi_##id,
static const uint16_t k_fd_vi_op[ZH_FD_COUNT] = {ZH_V128_SHIFTS(FD_VI_)};
#undef FD_VI_

/* Skips the immediates of an instruction in unreachable code. */
static void skip_immediates(rd *r, uint8_t op) {
  switch (op) {
  case 0x02:
  case 0x03:
  case 0x04:
    rd_sleb(r);
    break;
  case 0x0c:
  case 0x0d:
  case 0x10:
  case 0x20:
  case 0x21:
  case 0x22:
  case 0x23:
  case 0x24:
  case 0x25:
  case 0x26:
  case 0xd2:
    rd_u32(r);
    break;
  case 0x0e: {
    uint32_t n = rd_u32(r);
    for (uint32_t i = 0; i <= n; i++)
      rd_u32(r);
    break;
  }
  case 0x11:
    rd_u32(r), rd_u32(r);
    break;
  case 0x1c: {
    uint32_t n = rd_u32(r);
    for (uint32_t i = 0; i < n; i++)
      rd_u8(r);
    break;
  }
  case 0x3f:
  case 0x40:
    rd_u32(r);
    break;
  case 0xd0:
    rd_u8(r);
    break;
  case 0x41:
  case 0x42:
    rd_sleb(r);
    break;
  case 0x43:
    rd_fixed(r, 4);
    break;
  case 0x44:
    rd_fixed(r, 8);
    break;
  case 0xfd: {
    uint32_t sub = rd_u32(r);
    zh_imm imm = sub < ZH_FD_COUNT ? k_fd_imm[sub] : IMM_NONE;
    uint32_t mem;
    if (zh_imm_is_memarg(imm))
      rd_memarg(r, &mem);
    if (zh_imm_lanes(imm))
      rd_u8(r);
    if (imm == IMM_V128 || imm == IMM_SHUFFLE)
      r->p = r->end - r->p < 16 ? r->end : r->p + 16;
    break;
  }
  case 0xfc: {
    uint32_t sub = rd_u32(r);
    switch (sub) {
    case 8:
    case 10:
    case 12:
    case 14:
      rd_u32(r), rd_u32(r);
      break;
    case 9:
    case 11:
    case 13:
    case 15:
    case 16:
    case 17:
      rd_u32(r);
      break;
    default:
      break;
    }
    break;
  }
  default:
    if (op >= 0x28 && op <= 0x3e) {
      uint32_t mem;
      rd_memarg(r, &mem);
    }
    break;
  }
}

/* ---- opcode maps ---- */

typedef struct binop_info {
  uint16_t rr, ri;
  uint8_t comm, is64;
  int cmp; /* index into cmp_info, or -1 */
} binop_info;

typedef struct cmp_info {
  uint16_t rr, ri, br_rr, br_ri;
  int swapped, negated;
  uint8_t is64;
} cmp_info;

#define IS64_I32 0
#define IS64_I64 1

enum {
#define CMP_IDX(name, ...) CI_##name,
  ZH_INT_CMPS(CMP_IDX)
#undef CMP_IDX
      CI_COUNT
};

static const cmp_info cmps[CI_COUNT] = {
#define CMP_ROW(name, opc, sw, neg, T)                                                             \
  [CI_##name] = {                                                                                  \
      ZH_OP_##name##_rr, ZH_OP_##name##_ri, ZH_OP_br_##name##_rr, ZH_OP_br_##name##_ri, CI_##sw,   \
      CI_##neg,          IS64_##T},
    ZH_INT_CMPS(CMP_ROW)
#undef CMP_ROW
};

static bool lookup_binop(uint8_t opc, binop_info *out) {
  switch (opc) {
#define BIN_CASE(name, opc_, comm_, T)                                                             \
  case opc_:                                                                                       \
    *out = (binop_info){ZH_OP_##name##_rr, ZH_OP_##name##_ri, comm_, IS64_##T, -1};                \
    return true;
    ZH_INT_BINOPS(BIN_CASE)
#undef BIN_CASE
#define CMP_CASE(name, opc_, sw, neg, T)                                                           \
  case opc_:                                                                                       \
    *out = (binop_info){ZH_OP_##name##_rr, ZH_OP_##name##_ri, 0, IS64_##T, CI_##name};             \
    return true;
    ZH_INT_CMPS(CMP_CASE)
#undef CMP_CASE
  default:
    return false;
  }
}

static int lookup_other_binop(uint8_t opc) {
  switch (opc) {
#define OB_CASE(name, opc_, IN, OUT)                                                               \
  case opc_:                                                                                       \
    return ZH_OP_##name;
    ZH_OTHER_BINOPS(OB_CASE)
#undef OB_CASE
  default:
    return -1;
  }
}

static int lookup_unop(uint32_t opc) {
  switch (opc) {
#define UN_CASE(name, opc_, IN, OUT)                                                               \
  case opc_:                                                                                       \
    return ZH_OP_##name;
    ZH_UNOPS(UN_CASE)
#undef UN_CASE
  default:
    return -1;
  }
}

/* Constant folding for the integer binops and comparisons that cannot trap. */
static bool fold(uint8_t opc, uint64_t a, uint64_t b, uint64_t *out) {
  uint32_t x = (uint32_t)a, y = (uint32_t)b;
  switch (opc) {
  case 0x6a:
    *out = (uint32_t)(x + y);
    return true;
  case 0x6b:
    *out = (uint32_t)(x - y);
    return true;
  case 0x6c:
    *out = (uint32_t)(x * y);
    return true;
  case 0x71:
    *out = x & y;
    return true;
  case 0x72:
    *out = x | y;
    return true;
  case 0x73:
    *out = x ^ y;
    return true;
  case 0x74:
    *out = (uint32_t)(x << (y & 31));
    return true;
  case 0x76:
    *out = x >> (y & 31);
    return true;
  case 0x7c:
    *out = a + b;
    return true;
  case 0x7d:
    *out = a - b;
    return true;
  case 0x7e:
    *out = a * b;
    return true;
  case 0x83:
    *out = a & b;
    return true;
  case 0x84:
    *out = a | b;
    return true;
  case 0x85:
    *out = a ^ b;
    return true;
  case 0x86:
    *out = a << (b & 63);
    return true;
  case 0x88:
    *out = a >> (b & 63);
    return true;
  case 0x46:
    *out = x == y;
    return true;
  case 0x47:
    *out = x != y;
    return true;
  case 0x49:
    *out = x < y;
    return true;
  case 0x4b:
    *out = x > y;
    return true;
  case 0x48:
    *out = (int32_t)x < (int32_t)y;
    return true;
  case 0x4a:
    *out = (int32_t)x > (int32_t)y;
    return true;
  default:
    return false;
  }
}

static bool fits_imm(uint64_t bits, bool is64) {
  return is64 ? (int64_t)bits == (int64_t)(int32_t)bits : true;
}

/* ---- branches ---- */

static ctrl *label(compiler *c, uint32_t depth) { return &c->ctrls[c->nctrls - 1 - depth]; }
static uint32_t label_arity(const ctrl *l) { return l->kind == C_LOOP ? l->nparams : l->nresults; }

/* Makes the branch instruction starting at `insn`, whose offset field is at `field`,
 * reach label l: loops are behind us, block ends get a fixup. */
static void link_branch(compiler *c, ctrl *l, size_t insn, size_t field) {
  if (l->kind == C_LOOP) {
    patch_u32(c, field, (uint32_t)(int32_t)((int64_t)l->loop_pc - (int64_t)insn));
    return;
  }
  if (!grow((void **)&c->fixups, &c->fixup_cap, c->nfixups + 1, sizeof(fixup))) {
    c->oom = true;
    return;
  }
  c->fixups[c->nfixups] = (fixup){insn, field, l->fixups};
  l->fixups = c->nfixups++;
}

static void patch_fixups(compiler *c, uint32_t head, size_t target) {
  for (uint32_t i = head; i != NO_FIXUP; i = c->fixups[i].next)
    patch_u32(c, c->fixups[i].field,
              (uint32_t)(int32_t)((int64_t)target - (int64_t)c->fixups[i].insn));
}

/* True when the top `arity` values already sit where label l expects them. */
static bool in_place(const compiler *c, const ctrl *l, uint32_t arity) {
  if (c->height - arity != l->height)
    return false;
  for (uint32_t i = 0; i < arity; i++)
    if (c->stack[c->height - arity + i].kind != K_HOME)
      return false;
  return true;
}

/* Copies the top `arity` values to label l's slots. Ascending order is safe: each
 * source is at or above its destination, or is a local or a constant. */
static void move_to_label(compiler *c, const ctrl *l, uint32_t arity) {
  uint32_t from = c->height - arity;
  for (uint32_t i = 0; i < arity; i++)
    emit_move(c, &c->stack[from + i], home(c, from + i), home(c, l->height + i));
}

static void emit_br(compiler *c, ctrl *l) {
  size_t insn = c->len;
  emit_op(c, ZH_OP_br);
  size_t field = c->len;
  emit_u32(c, 0);
  link_branch(c, l, insn, field);
}

/* Emits the return sequence: results to slots 0..n-1, then ret. */
static void emit_return(compiler *c) {
  uint32_t n = c->nresults;
  if (n == 1) {
    uint32_t src = read_slot(c, c->height - 1);
    if (src == 0) {
      emit_op(c, ZH_OP_ret);
    } else {
      emit_op(c, ZH_OP_ret1);
      emit_u32(c, src);
    }
    return;
  }
  uint32_t from = c->height - n;
  for (uint32_t i = 0; i < n; i++)
    flush(c, from + i);
  for (uint32_t i = 0; i < n; i++)
    emit_copy(c, i, home(c, from + i));
  emit_op(c, ZH_OP_ret);
}

/* A return on one path only (br_if, br_table): the abstract stack must come out as it
 * went in, since the other path still sees the values where they were. */
static void emit_return_on_branch(compiler *c) {
  uint32_t n = c->nresults;
  entry small[8];
  entry *saved = n <= 8 ? small : malloc(n * sizeof(entry));
  if (!saved) {
    c->oom = true;
    return;
  }
  memcpy(saved, c->stack + c->height - n, n * sizeof(entry));
  emit_return(c);
  memcpy(c->stack + c->height - n, saved, n * sizeof(entry));
  if (saved != small)
    free(saved);
}

/* An i32 (in)equality branch of a and b, about to be emitted at c->len, whose operands two
 * byte loads just before it produced (memcmp's loop): br_l8u2_*. Returns the instruction
 * start, or SIZE_MAX having emitted nothing. */
static size_t fuse_byte_pair(compiler *c, bool ne, uint32_t a, uint32_t b, size_t *field) {
  size_t si = insn_before(c, c->len, ZH_OP_l8u, 20);
  size_t fi = si == SIZE_MAX ? SIZE_MAX : insn_before(c, si, ZH_OP_l8u, 20);
  if (fi == SIZE_MAX)
    return SIZE_MAX;
  uint32_t f[3] = {field_at(c, fi, 0), field_at(c, fi, 1), field_at(c, fi, 2)};
  uint32_t s[3] = {field_at(c, si, 0), field_at(c, si, 1), field_at(c, si, 2)};
  if (f[0] == s[0] || !((f[0] == a && s[0] == b) || (f[0] == b && s[0] == a)))
    return SIZE_MAX;
  c->len = fi;
  emit_op(c, ne ? ZH_OP_br_l8u2_ne : ZH_OP_br_l8u2_eq);
  for (int i = 0; i < 3; i++)
    emit_u32(c, f[i]);
  for (int i = 0; i < 3; i++)
    emit_u32(c, s[i]);
  *field = c->len;
  emit_u32(c, 0);
  return fi;
}

/* Emits br_inc_* (cmp: a ZH_LOOP_CMPS index) at c->len; an i32_add_ri right before it joins
 * as br_inc2_*. Sets *field to the offset to patch; returns the instruction start. */
static size_t emit_br_inc(compiler *c, int cmp, uint32_t dst, uint32_t src, uint32_t k,
                          uint32_t imm, size_t *field) {
  size_t at = c->len, ai = insn_before(c, at, ZH_OP_i32_add_ri, 20);
  if (ai != SIZE_MAX) {
    uint32_t d1 = field_at(c, ai, 0), s1 = field_at(c, ai, 1), k1 = field_at(c, ai, 2);
    c->len = at = ai;
    emit_op(c, (zh_op)(ZH_OP_br_inc2_i32_eq + cmp));
    emit_u32(c, d1);
    emit_u32(c, s1);
    emit_u32(c, k1);
  } else {
    emit_op(c, (zh_op)(ZH_OP_br_inc_i32_eq + cmp));
  }
  emit_u32(c, dst);
  emit_u32(c, src);
  emit_u32(c, k);
  emit_u32(c, imm);
  *field = c->len;
  emit_u32(c, 0);
  return at;
}

/* The zero-byte branch on x, about to be emitted at c->len, with the word load that
 * produced x (strlen's loop), or the load and an xor with a pattern (memchr's), just before
 * it: one instruction that loads, writes x, tests and branches. The load's own result must
 * be a dead temporary when an xor follows. Returns false, emitting nothing, otherwise. */
static bool fuse_word_load(compiler *c, uint32_t x, bool negate, size_t *field) {
  size_t at = c->len, xi = insn_before(c, at, ZH_OP_i32_xor_rr, 20);
  size_t li = insn_before(c, xi == SIZE_MAX ? at : xi, ZH_OP_l32, 20);
  if (li == SIZE_MAX)
    return false;
  uint32_t dst = field_at(c, li, 0), addr = field_at(c, li, 1), off = field_at(c, li, 2), k = 0;
  if (xi != SIZE_MAX) {
    uint32_t xa = field_at(c, xi, 1), xb = field_at(c, xi, 2);
    if (field_at(c, xi, 0) != x || dst < home(c, c->height) || (xa == dst) == (xb == dst))
      return false;
    k = xa == dst ? xb : xa;
  } else if (dst != x) {
    return false;
  }
  c->len = li;
  emit_op(c, xi != SIZE_MAX ? (negate ? ZH_OP_l32x_br_nozbyte : ZH_OP_l32x_br_zbyte)
                            : (negate ? ZH_OP_l32_br_nozbyte : ZH_OP_l32_br_zbyte));
  emit_u32(c, x);
  emit_u32(c, addr);
  emit_u32(c, off);
  if (xi != SIZE_MAX)
    emit_u32(c, k);
  *field = c->len;
  emit_u32(c, 0);
  return true;
}

/* Conditional branch on the value on top of the stack (popped), taken when it is
 * non-zero, or zero if `negate`. Uses the fused compare if one just produced it.
 * Returns the instruction start and sets *field to the offset to patch. */
static size_t emit_cond_branch(compiler *c, bool negate, size_t *field) {
  uint32_t h = c->height - 1;
  bool fuse =
      produced_last(c, h, LK_CMP) || produced_last(c, h, LK_EQZ32) || produced_last(c, h, LK_EQZ64);
  int kind = c->last_kind, cmp = c->last_cmp;
  uint32_t a = c->la, b = c->lb;
  bool imm = c->l_imm;
  size_t insn;
  /* A zero-byte test (fuse_zero_byte_test) or an and with a constant, or the eqz of one,
   * decides the branch itself. */
  int test = produced_last(c, h, LK_ZBYTES)   ? LK_ZBYTES
             : produced_last(c, h, LK_AND_RI) ? LK_AND_RI
                                              : 0;
  if (!test && fuse && kind == LK_EQZ32 && c->prev_dst == a &&
      ((c->prev_kind == LK_ZBYTES && c->prev_insn + 16 == c->last_insn) ||
       (c->prev_kind == LK_AND_RI && c->prev_insn + 20 == c->last_insn))) {
    test = c->prev_kind;
    negate = !negate;
    a = c->prev_la, b = c->prev_lb;
    c->last_insn = c->prev_insn;
  }
  if (test) {
    c->height--;
    c->len = insn = c->last_insn;
    if (test == LK_ZBYTES && fuse_word_load(c, a, negate, field))
      return c->last_insn;
    if (test == LK_ZBYTES) {
      emit_op(c, negate ? ZH_OP_br_nozbyte : ZH_OP_br_zbyte);
      emit_u32(c, a);
    } else {
      emit_op(c, negate ? ZH_OP_br_and_z : ZH_OP_br_and_nz);
      emit_u32(c, a);
      emit_u32(c, b);
    }
    *field = c->len;
    emit_u32(c, 0);
    return insn;
  }
  /* `x = y + k; br_if x`: a count down to zero closes the loop (br_inc_i32_ne x, 0). */
  const entry *top = &c->stack[h];
  if (!fuse && c->last_kind == LK_ADD_RI && c->last_insn + 20 == c->len &&
      (produced_last(c, h, LK_ADD_RI) || (top->kind == K_LOCAL && top->local == c->l_dst))) {
    uint32_t dst = c->l_dst, src = c->la, k = c->lb;
    c->height--;
    c->len = c->last_insn;
    return emit_br_inc(c, negate ? CI_i32_eq : CI_i32_ne, dst, src, k, 0, field);
  }
  c->height--;
  if (fuse) {
    c->len = c->last_insn; /* drop the compare: the branch does it */
    insn = c->len;
    if (kind == LK_EQZ32 || kind == LK_EQZ64) {
      bool z = !negate; /* eqz true when zero */
      emit_op(c, kind == LK_EQZ32 ? (z ? ZH_OP_br_z : ZH_OP_br_nz)
                                  : (z ? ZH_OP_br_i64_z : ZH_OP_br_i64_nz));
      emit_u32(c, a);
    } else {
      int taken = negate ? cmps[cmp].negated : cmp;
      if (imm && cmp < 10 && c->prev_kind == LK_ADD_RI && c->prev_insn + 20 == insn &&
          c->prev_dst == a) {
        /* x = y + k; if (x CMP imm): a counted loop's increment, test and branch. */
        uint32_t dst = c->prev_dst, src = c->prev_la, k = c->prev_lb;
        c->len = c->prev_insn;
        return emit_br_inc(c, taken, dst, src, k, b, field);
      }
      size_t pair = !imm && (taken == CI_i32_eq || taken == CI_i32_ne)
                        ? fuse_byte_pair(c, taken == CI_i32_ne, a, b, field)
                        : SIZE_MAX;
      if (pair != SIZE_MAX)
        return pair;
      const cmp_info *ci = &cmps[taken];
      emit_op(c, imm ? ci->br_ri : ci->br_rr);
      emit_u32(c, a);
      emit_u32(c, b);
    }
  } else {
    uint32_t slot = read_slot(c, h);
    insn = c->len;
    emit_op(c, negate ? ZH_OP_br_z : ZH_OP_br_nz);
    emit_u32(c, slot);
  }
  *field = c->len;
  emit_u32(c, 0);
  return insn;
}

/* ---- v128 locals and SIMD instructions ---- */

/* local.set / local.tee of the v128 local at slots x, x + 1. */
static void set_local_v(compiler *c, uint32_t x, bool tee) {
  uint32_t h = c->height - 2;
  entry lo = c->stack[h], hi = c->stack[h + 1];
  bool was_fresh = c->at_entry && c->fresh[x] && c->fresh[x + 1];
  c->fresh[x] = c->fresh[x + 1] = 0;
  if (was_fresh && lo.kind == K_CONST && hi.kind == K_CONST && (lo.bits | hi.bits) == 0) {
    c->height = h; /* the local is still zero */
  } else {
    bool aliased = false;
    for (uint32_t i = 0; i < h; i++)
      if (c->stack[i].kind == K_LOCAL && (c->stack[i].local == x || c->stack[i].local == x + 1))
        aliased = true;
    if (lo.kind == K_HOME && hi.kind == K_HOME && !aliased && c->last_dst && c->last_height == h) {
      patch_u32(c, c->last_dst, x); /* the producer writes the local directly */
      c->last_dst = 0;
      c->last_kind = LK_NONE;
    } else if (!(lo.kind == K_LOCAL && lo.local == x)) {
      for (uint32_t i = 0; i < h; i++)
        if (c->stack[i].kind == K_LOCAL && (c->stack[i].local == x || c->stack[i].local == x + 1))
          flush(c, i);
      emit_move(c, &lo, home(c, h), x);
      emit_move(c, &hi, home(c, h + 1), x + 1);
    }
    c->height = h;
  }
  if (tee) {
    bool k = lo.kind == K_CONST;
    entry *e = push(c, k ? K_CONST : K_LOCAL);
    e->local = x, e->bits = lo.bits, e->half = H_LO;
    e = push(c, k ? K_CONST : K_LOCAL);
    e->local = x + 1, e->bits = hi.bits, e->half = H_HI;
  }
}

/* v128.load / v128.store with the address arithmetic just before it folded in, as
 * scalar loads and stores do (ops.h's addressing modes). */
static void mem_v128(compiler *c, bool store, uint32_t h, uint32_t off, uint32_t mem) {
  static const zh_op loads[] = {ZH_OP_v_v128_load, ZH_OP_v128_load_ri, ZH_OP_v128_load_rr,
                                ZH_OP_v128_load_rs};
  static const zh_op stores[] = {ZH_OP_v_v128_store, ZH_OP_v128_store_ri, ZH_OP_v128_store_rr,
                                 ZH_OP_v128_store_rs};
  uint32_t addr[3];
  int mode = 0;
  if (!store) {
    mode = take_address(c, h, addr);
    if (!mode)
      addr[0] = read_slot(c, h);
    c->height = h;
    push_home(c, ZH_V128);
    mem_select(c, mem);
    emit_op(c, loads[mode]);
    size_t dst = c->len;
    emit_u32(c, home(c, h));
    emit_address(c, mode, addr, off);
    mark_dst(c, dst, h);
    if (mode == 0) { /* may become a binary op's memory operand */
      c->last_kind = LK_LOADV;
      c->la = addr[0], c->lb = off;
    }
    mem_restore(c, mem);
    return;
  }
  /* As for scalar stores: the address arithmetic moves into the store only when the value
   * needs no code, or a constant that does not overwrite the arithmetic's operands. */
  const entry *v = &c->stack[h + 1];
  if (v->kind == K_LOCAL ||
      (v->kind == K_CONST && c->la != home(c, h + 1) && c->lb != home(c, h + 1) &&
       c->la != home(c, h + 2) && c->lb != home(c, h + 2)))
    mode = take_address(c, h, addr);
  uint32_t sv = read_v(c, h + 1);
  if (!mode)
    addr[0] = read_slot(c, h);
  c->height = h;
  mem_select(c, mem);
  emit_op(c, stores[mode]);
  emit_u32(c, sv);
  emit_address(c, mode, addr, off);
  mem_restore(c, mem);
}

/* Fusions of a binary SIMD op (operands at h and h + 2) with the instruction just before
 * it: a plain v128.load that produced the second operand becomes a memory operand, and a
 * float multiply that produced either operand of an add becomes a multiply-add. Returns
 * false when neither applies. */
static bool fuse_simd_bin(compiler *c, uint32_t sub, uint32_t h) {
  bool add32 = sub == ZH_OPCODE_FD_f32x4_add, add64 = sub == ZH_OPCODE_FD_f64x2_add;
  if (add32 || add64) {
    int lk = add32 ? LK_FMUL32 : LK_FMUL64;
    bool second = produced_last(c, h + 2, lk);
    /* The product as first operand: the second must need no code, which could overwrite
     * the multiply's operands once it is undone. */
    if (second || (produced_last(c, h, lk) && c->stack[h + 2].kind != K_CONST)) {
      uint32_t x = c->la, y = c->lb;
      c->len = c->last_insn;
      barrier(c);
      uint32_t other = read_v(c, second ? h : h + 2);
      c->height = h;
      push_home(c, ZH_V128);
      emit_op(c, add32 ? ZH_OP_f32x4_muladd : ZH_OP_f64x2_muladd);
      size_t dst = c->len;
      emit_u32(c, home(c, h));
      emit_u32(c, x);
      emit_u32(c, y);
      emit_u32(c, other);
      mark_dst(c, dst, h);
      return true;
    }
  }
  if (k_fd_vm_op[sub] && produced_last(c, h + 2, LK_LOADV)) {
    uint32_t addr = c->la, off = c->lb;
    c->len = c->last_insn;
    barrier(c);
    uint32_t a = read_v(c, h); /* a constant goes to home(h): not the load's address */
    c->height = h;
    push_home(c, ZH_V128);
    emit_op(c, (zh_op)k_fd_vm_op[sub]);
    size_t dst = c->len;
    emit_u32(c, home(c, h));
    emit_u32(c, a);
    emit_u32(c, addr);
    emit_u32(c, off);
    mark_dst(c, dst, h);
    return true;
  }
  return false;
}

/* One 0xfd instruction: pops its operands (scalars one entry, v128 two), emits the
 * instruction by shape and pushes its result. */
static void compile_simd(compiler *c, rd *r) {
  uint32_t sub = rd_u32(r);
  zh_imm imm = k_fd_imm[sub];
  int shape = k_fd_shape[sub];
  uint32_t off = 0, lane = 0, mem = 0;
  if (zh_imm_is_memarg(imm))
    off = rd_memarg(r, &mem);
  if (zh_imm_lanes(imm))
    lane = rd_u8(r);
  const uint8_t *bytes = r->p;
  if (imm == IMM_V128 || imm == IMM_SHUFFLE)
    r->p += 16;
  if (shape == SH_CONST) {
    uint64_t lo, hi;
    memcpy(&lo, bytes, 8);
    memcpy(&hi, bytes + 8, 8);
    entry *e = push(c, K_CONST);
    e->bits = lo, e->half = H_LO;
    e = push(c, K_CONST);
    e->bits = hi, e->half = H_HI;
    return;
  }
  /* Operand entries, bottom first: v128 operands are two entries. */
  static const uint8_t nin[] = {
      [SH_UN] = 2,       [SH_BIN] = 4,     [SH_TERN] = 6,     [SH_TEST] = 2,    [SH_SPLAT] = 1,
      [SH_SHIFT] = 3,    [SH_EXTRACT] = 2, [SH_REPLACE] = 3,  [SH_SHUFFLE] = 4, [SH_LOAD] = 1,
      [SH_LOADLANE] = 3, [SH_STORE] = 3,   [SH_STORELANE] = 3};
  uint32_t h = c->height - nin[shape];
  uint32_t s[3] = {0, 0, 0};
  if (sub == ZH_OPCODE_FD_v128_load || sub == ZH_OPCODE_FD_v128_store) {
    mem_v128(c, sub == ZH_OPCODE_FD_v128_store, h, off, mem);
    return;
  }
  if (shape == SH_BIN && fuse_simd_bin(c, sub, h))
    return;
  if (shape == SH_SHIFT && c->stack[h + 2].kind == K_CONST) {
    uint32_t count = (uint32_t)c->stack[h + 2].bits;
    s[0] = read_v(c, h);
    c->height = h;
    push_home(c, ZH_V128);
    emit_op(c, (zh_op)k_fd_vi_op[sub]);
    size_t dst = c->len;
    emit_u32(c, home(c, h));
    emit_u32(c, s[0]);
    emit_u32(c, count);
    mark_dst(c, dst, h);
    return;
  }
  switch (shape) {
  case SH_UN:
  case SH_TEST:
  case SH_EXTRACT:
    s[0] = read_v(c, h);
    break;
  case SH_BIN:
  case SH_SHUFFLE:
    s[0] = read_v(c, h), s[1] = read_v(c, h + 2);
    break;
  case SH_TERN:
    s[0] = read_v(c, h), s[1] = read_v(c, h + 2), s[2] = read_v(c, h + 4);
    break;
  case SH_SPLAT:
  case SH_LOAD:
    s[0] = read_slot(c, h);
    break;
  case SH_SHIFT:
  case SH_REPLACE:
    s[0] = read_v(c, h), s[1] = read_slot(c, h + 2);
    break;
  case SH_LOADLANE:
  case SH_STORE:
  case SH_STORELANE:
    s[0] = read_slot(c, h), s[1] = read_v(c, h + 1); /* address, vector */
    break;
  default:
    break;
  }
  c->height = h;
  bool stores = shape == SH_STORE || shape == SH_STORELANE;
  bool scalar_out = shape == SH_TEST || shape == SH_EXTRACT;
  if (!stores) {
    if (scalar_out)
      push(c, K_HOME);
    else
      push_home(c, ZH_V128);
  }
  mem_select(c, mem); /* the memory instructions' operands are all read: no code between */
  emit_op(c, (zh_op)k_fd_op[sub]);
  size_t dst = c->len;
  switch (shape) {
  case SH_STORE:
  case SH_STORELANE:
    emit_u32(c, s[1]);
    emit_u32(c, s[0]);
    emit_u32(c, off);
    if (shape == SH_STORELANE)
      emit_u32(c, lane);
    mem_restore(c, mem);
    return;
  case SH_LOAD:
    emit_u32(c, home(c, h));
    emit_u32(c, s[0]);
    emit_u32(c, off);
    break;
  case SH_LOADLANE:
    emit_u32(c, home(c, h));
    emit_u32(c, s[1]);
    emit_u32(c, s[0]);
    emit_u32(c, off);
    emit_u32(c, lane);
    break;
  default:
    emit_u32(c, home(c, h));
    emit_u32(c, s[0]);
    if (shape == SH_BIN || shape == SH_TERN || shape == SH_SHIFT || shape == SH_REPLACE ||
        shape == SH_SHUFFLE)
      emit_u32(c, s[1]);
    if (shape == SH_TERN)
      emit_u32(c, s[2]);
    if (shape == SH_EXTRACT || shape == SH_REPLACE)
      emit_u32(c, lane);
    if (shape == SH_SHUFFLE)
      put(c, bytes, 16);
    break;
  }
  mark_dst(c, dst, h);
  if (sub == ZH_OPCODE_FD_f32x4_mul || sub == ZH_OPCODE_FD_f64x2_mul) {
    c->last_kind = sub == ZH_OPCODE_FD_f32x4_mul ? LK_FMUL32 : LK_FMUL64;
    c->la = s[0], c->lb = s[1];
  }
  mem_restore(c, mem);
}

/* ---- the translation loop ---- */

/* Translates the body of `out` into c->code (c->len bytes); sets out_slots to the frame
 * size it needs. */
static zh_error *compile_body(compiler *c, const zh_code *out, uint32_t *out_slots) {
  const zh_module *m = c->m;
  uint32_t func_index = out->func_index;
  const zh_func_body *body = &m->bodies[func_index - m->nfunc_imports];
  const zh_type *ft = zh_func_type_of(m, func_index);
  rd r = {body->code, body->end};

  c->len = 0;
  c->height = c->max_height = 0;
  c->nctrls = c->nfixups = 0;
  uint32_t nl = ft->nparams + body->nlocals; /* locals, params included */
  if (!grow((void **)&c->lslot, &c->lcap, nl + 1, sizeof(uint32_t)) ||
      !grow((void **)&c->ltype, &c->ltype_cap, nl + 1, 1))
    return zh_error_new(ZH_ERR_RESOURCE, "out of memory compiling function %u", func_index);
  uint32_t slot = 0, param_slots = 0;
  for (uint32_t i = 0; i < nl; i++) {
    uint8_t t = i < ft->nparams ? ft->types[i] : body->local_types[i - ft->nparams];
    if (i == ft->nparams)
      param_slots = slot;
    c->lslot[i] = slot;
    c->ltype[i] = t;
    slot += t == ZH_V128 ? 2 : 1;
  }
  if (nl == ft->nparams)
    param_slots = slot;
  c->nlocals = slot;
  c->nresults = slots_of(ft->types + ft->nparams, ft->nresults);
  c->oom = false;
  label_here(c);
  if (!grow((void **)&c->fresh, &c->fresh_cap, c->nlocals + 1, 1))
    return zh_error_new(ZH_ERR_RESOURCE, "out of memory compiling function %u", func_index);
  memset(c->fresh, 0, param_slots);
  memset(c->fresh + param_slots, 1, c->nlocals - param_slots);
  c->at_entry = true;

  if (!grow((void **)&c->ctrls, &c->ctrl_cap, 1, sizeof(ctrl)))
    return zh_error_new(ZH_ERR_RESOURCE, "out of memory compiling function %u", func_index);
  c->ctrls[c->nctrls++] = (ctrl){.kind = C_FUNC,
                                 .nresults = c->nresults,
                                 .rtypes = ft->types + ft->nparams,
                                 .nrv = ft->nresults,
                                 .else_insn = SIZE_MAX,
                                 .fixups = NO_FIXUP};
  uint32_t dead_depth = 0; /* blocks opened inside unreachable code */

  while (r.p < r.end && c->nctrls > 0 && !c->oom) {
    uint8_t op = *r.p++;
    ctrl *top = &c->ctrls[c->nctrls - 1];

    if (top->unreachable) {
      if (op == 0x02 || op == 0x03 || op == 0x04) {
        dead_depth++;
        skip_immediates(&r, op);
        continue;
      }
      if (op == 0x0b && dead_depth > 0) {
        dead_depth--;
        continue;
      }
      if (op == 0x05 && dead_depth > 0)
        continue;
      if (op != 0x0b && op != 0x05) {
        skip_immediates(&r, op);
        continue;
      }
    }

    switch (op) {
    case 0x00: /* unreachable */
      emit_op(c, ZH_OP_unreachable);
      top->unreachable = true;
      break;
    case 0x01: /* nop */
      break;

    case 0x02:   /* block */
    case 0x03: { /* loop */
      ctrl nb = {.kind = op == 0x03 ? C_LOOP : C_BLOCK, .else_insn = SIZE_MAX, .fixups = NO_FIXUP};
      block_type(c, &r, &nb);
      uint32_t np = nb.nparams;
      flush_locals(c);
      for (uint32_t i = c->height - np; i < c->height; i++)
        flush(c, i);
      if (!grow((void **)&c->ctrls, &c->ctrl_cap, c->nctrls + 1, sizeof(ctrl))) {
        c->oom = true;
        break;
      }
      label_here(c); /* a loop label, or the branch to a block end, comes here */
      nb.height = c->height - np;
      nb.loop_pc = c->len;
      c->ctrls[c->nctrls++] = nb;
      break;
    }
    case 0x04: { /* if */
      ctrl nb = {.kind = C_IF, .fixups = NO_FIXUP};
      block_type(c, &r, &nb);
      uint32_t np = nb.nparams;
      /* The condition is on top, above the params. Flush everything below it first;
       * the flush code runs before the branch, on both paths. */
      uint32_t h = c->height - 1;
      for (uint32_t i = 0; i < h; i++)
        if (c->stack[i].kind == K_LOCAL || (i >= h - np && c->stack[i].kind != K_HOME))
          flush(c, i); /* emits code, which (rightly) cancels compare fusion */
      size_t field;
      size_t insn = emit_cond_branch(c, true, &field);
      if (!grow((void **)&c->ctrls, &c->ctrl_cap, c->nctrls + 1, sizeof(ctrl))) {
        c->oom = true;
        break;
      }
      nb.height = c->height - np;
      nb.else_insn = insn;
      c->ctrls[c->nctrls++] = nb;
      if (!grow((void **)&c->fixups, &c->fixup_cap, c->nfixups + 1, sizeof(fixup))) {
        c->oom = true;
        break;
      }
      /* The branch to else/end is remembered through a fixup record of its own. */
      c->fixups[c->nfixups] = (fixup){insn, field, NO_FIXUP};
      c->ctrls[c->nctrls - 1].else_insn = c->nfixups++;
      label_here(c);
      break;
    }
    case 0x05: { /* else */
      ctrl *l = top;
      if (!l->unreachable) {
        for (uint32_t i = c->height - l->nresults; i < c->height; i++)
          flush(c, i);
        emit_br(c, l);
      }
      fixup *ef = &c->fixups[l->else_insn];
      patch_u32(c, ef->field, (uint32_t)(int32_t)((int64_t)c->len - (int64_t)ef->insn));
      l->else_insn = SIZE_MAX;
      c->height = l->height;
      push_types(c, l->ptypes, l->npv);
      l->unreachable = false;
      label_here(c);
      break;
    }
    case 0x0b: { /* end */
      ctrl *l = top;
      if (l->kind == C_FUNC) {
        if (!l->unreachable)
          emit_return(c); /* branches to the function label return directly */
        c->nctrls--;
        break;
      }
      if (!l->unreachable)
        for (uint32_t i = c->height - l->nresults; i < c->height; i++)
          flush(c, i);
      if (l->kind == C_IF && l->else_insn != SIZE_MAX) {
        fixup *ef = &c->fixups[l->else_insn];
        patch_u32(c, ef->field, (uint32_t)(int32_t)((int64_t)c->len - (int64_t)ef->insn));
      }
      patch_fixups(c, l->fixups, c->len);
      c->height = l->height;
      c->nctrls--;
      push_types(c, l->rtypes, l->nrv);
      label_here(c);
      break;
    }
    case 0x0c: { /* br */
      ctrl *l = label(c, rd_u32(&r));
      uint32_t n = label_arity(l);
      if (l->kind == C_FUNC) {
        emit_return(c);
      } else {
        if (!in_place(c, l, n))
          move_to_label(c, l, n);
        emit_br(c, l);
      }
      top->unreachable = true;
      break;
    }
    case 0x0d: { /* br_if */
      ctrl *l = label(c, rd_u32(&r));
      uint32_t n = label_arity(l);
      bool direct = l->kind != C_FUNC && c->height - 1 - n == l->height;
      if (direct)
        for (uint32_t i = 0; i < n; i++)
          if (c->stack[c->height - 1 - n + i].kind != K_HOME)
            direct = false;
      if (direct) {
        size_t field;
        size_t insn = emit_cond_branch(c, false, &field);
        link_branch(c, l, insn, field);
      } else {
        size_t field;
        size_t insn = emit_cond_branch(c, true, &field); /* skip when false */
        if (l->kind == C_FUNC) {
          emit_return_on_branch(c);
        } else {
          move_to_label(c, l, n);
          emit_br(c, l);
        }
        patch_u32(c, field, (uint32_t)(int32_t)((int64_t)c->len - (int64_t)insn));
        label_here(c);
      }
      break;
    }
    case 0x0e: { /* br_table */
      uint32_t n = rd_u32(&r);
      uint32_t idx_slot = read_slot(c, c->height - 1);
      c->height--;
      const uint8_t *targets = r.p;
      for (uint32_t i = 0; i <= n; i++)
        rd_u32(&r);
      size_t insn = c->len;
      emit_op(c, ZH_OP_br_table);
      emit_u32(c, idx_slot);
      emit_u32(c, n);
      size_t table = c->len;
      for (uint32_t i = 0; i <= n; i++)
        emit_u32(c, 0);
      rd tr = {targets, r.p};
      for (uint32_t i = 0; i <= n && !c->oom; i++) {
        ctrl *l = label(c, rd_u32(&tr));
        uint32_t arity = label_arity(l);
        size_t field = table + (size_t)4 * i;
        if (l->kind != C_FUNC && in_place(c, l, arity)) {
          link_branch(c, l, insn, field);
        } else {
          /* A stub after the table does the moves, then branches. */
          patch_u32(c, field, (uint32_t)(c->len - insn));
          label_here(c);
          if (l->kind == C_FUNC) {
            emit_return_on_branch(c);
          } else {
            move_to_label(c, l, arity);
            emit_br(c, l);
          }
        }
      }
      top->unreachable = true;
      break;
    }
    case 0x0f: /* return */
      emit_return(c);
      top->unreachable = true;
      break;

    case 0x10:   /* call */
    case 0x11: { /* call_indirect */
      uint32_t fi = rd_u32(&r), table = 0;
      const zh_type *t;
      if (op == 0x11) {
        t = &m->types[fi];
        table = rd_u32(&r);
      } else {
        t = zh_func_type_of(m, fi);
      }
      uint32_t idx_slot = 0;
      if (op == 0x11) {
        c->height--; /* the index: read after the args are in place */
      }
      uint32_t base = c->height - slots_of(t->types, t->nparams);
      for (uint32_t i = base; i < c->height; i++)
        flush(c, i);
      if (op == 0x11) {
        c->height++;
        idx_slot = read_slot(c, c->height - 1);
        c->height--;
        emit_op(c, ZH_OP_call_indirect);
        emit_u32(c, t->id);
        emit_u32(c, table);
        emit_u32(c, home(c, base));
        emit_u32(c, idx_slot);
      } else if (fi < m->nfunc_imports) {
        emit_op(c, ZH_OP_call_import);
        emit_u32(c, fi);
        emit_u32(c, home(c, base));
      } else {
        emit_op(c, ZH_OP_call);
        emit_ptr(c, m->code[fi - m->nfunc_imports]);
        emit_u32(c, home(c, base));
      }
      c->height = base;
      push_types(c, t->types + t->nparams, t->nresults);
      break;
    }

    case 0x1a: /* drop */
      c->height -= c->stack[c->height - 1].half == H_HI ? 2 : 1;
      break;
    case 0x1b:   /* select */
    case 0x1c: { /* select t */
      if (op == 0x1c) {
        uint32_t n = rd_u32(&r);
        for (uint32_t i = 0; i < n; i++)
          rd_u8(&r);
      }
      if (c->stack[c->height - 2].half == H_HI) { /* v128 operands */
        uint32_t h = c->height - 5;
        uint32_t sa = read_v(c, h), sb = read_v(c, h + 2), sc = read_slot(c, h + 4);
        c->height = h;
        push_home(c, ZH_V128);
        emit_op(c, ZH_OP_select_v);
        emit_u32(c, home(c, h));
        emit_u32(c, sa);
        emit_u32(c, sb);
        emit_u32(c, sc);
        break;
      }
      uint32_t h = c->height - 3;
      uint32_t sa = read_slot(c, h), sb = read_slot(c, h + 1), sc = read_slot(c, h + 2);
      c->height = h;
      push(c, K_HOME);
      emit_op(c, ZH_OP_select);
      size_t dst = c->len;
      emit_u32(c, home(c, h));
      emit_u32(c, sa);
      emit_u32(c, sb);
      emit_u32(c, sc);
      mark_dst(c, dst, h);
      break;
    }

    case 0x20: { /* local.get */
      uint32_t x = rd_u32(&r);
      entry *e = push(c, K_LOCAL);
      e->local = c->lslot[x];
      if (c->ltype[x] == ZH_V128) {
        e->half = H_LO;
        e = push(c, K_LOCAL);
        e->local = c->lslot[x] + 1;
        e->half = H_HI;
      }
      break;
    }
    case 0x21:   /* local.set */
    case 0x22: { /* local.tee */
      uint32_t xi = rd_u32(&r);
      if (c->ltype[xi] == ZH_V128) {
        set_local_v(c, c->lslot[xi], op == 0x22);
        break;
      }
      uint32_t x = c->lslot[xi];
      uint32_t h = c->height - 1;
      entry v = c->stack[h];
      bool was_fresh = c->at_entry && c->fresh[x];
      c->fresh[x] = 0;
      if (was_fresh && v.kind == K_CONST && v.bits == 0) {
        c->height--; /* the local is still zero: nothing to do */
        if (op == 0x22)
          push(c, K_CONST);
        break;
      }
      bool aliased = false;
      for (uint32_t i = 0; i < h; i++)
        if (c->stack[i].kind == K_LOCAL && c->stack[i].local == x)
          aliased = true;
      if (v.kind == K_HOME && !aliased && c->last_dst && c->last_height == h) {
        patch_u32(c, c->last_dst, x); /* the producer writes the local directly */
        c->last_dst = 0;
        if (c->last_kind == LK_ADD_RI)
          c->l_dst = x; /* still fusable into a loop branch that tests x */
        else
          c->last_kind = LK_NONE;
      } else if (!(v.kind == K_LOCAL && v.local == x)) {
        for (uint32_t i = 0; i < h; i++)
          if (c->stack[i].kind == K_LOCAL && c->stack[i].local == x)
            flush(c, i);
        emit_move(c, &v, home(c, h), x);
      }
      c->height--;
      if (op == 0x22) {
        entry *e = push(c, v.kind == K_CONST ? K_CONST : K_LOCAL);
        e->local = x;
        e->bits = v.bits;
      }
      break;
    }
    case 0x23: { /* global.get */
      uint32_t g = rd_u32(&r);
      uint32_t h = c->height;
      if (m->global_types[g].type == ZH_V128) {
        push_home(c, ZH_V128);
        emit_op(c, ZH_OP_global_get_v);
        emit_u32(c, home(c, h));
        emit_u32(c, g);
        break;
      }
      push(c, K_HOME);
      emit_op(c, ZH_OP_global_get);
      size_t dst = c->len;
      emit_u32(c, home(c, h));
      emit_u32(c, g);
      mark_dst(c, dst, h);
      break;
    }
    case 0x24: { /* global.set */
      uint32_t g = rd_u32(&r);
      if (m->global_types[g].type == ZH_V128) {
        uint32_t s = read_v(c, c->height - 2);
        c->height -= 2;
        emit_op(c, ZH_OP_global_set_v);
        emit_u32(c, g);
        emit_u32(c, s);
        break;
      }
      uint32_t h = c->height - 1;
      const entry *v = &c->stack[h];
      if (c->last_kind == LK_ADD_RI && c->last_insn + 20 == c->len && !c->oom &&
          (produced_last(c, h, LK_ADD_RI) || (v->kind == K_LOCAL && v->local == c->l_dst))) {
        /* `x = a + k; global = x`: a C function's stack pointer, moved at entry and exit. */
        const void *addr = c->h[ZH_OP_i32_add_gset];
        memcpy(c->code + c->last_insn, &addr, sizeof addr);
        emit_u32(c, g);
        c->last_kind = LK_NONE;
        c->last_dst = 0;
        c->height--;
        break;
      }
      uint32_t s = read_slot(c, h);
      c->height--;
      emit_op(c, ZH_OP_global_set);
      emit_u32(c, g);
      emit_u32(c, s);
      break;
    }
    case 0x25: { /* table.get */
      uint32_t t = rd_u32(&r);
      uint32_t h = c->height - 1;
      uint32_t s = read_slot(c, h);
      emit_op(c, ZH_OP_table_get);
      size_t dst = c->len;
      emit_u32(c, home(c, h));
      emit_u32(c, t);
      emit_u32(c, s);
      c->stack[h].kind = K_HOME;
      mark_dst(c, dst, h);
      break;
    }
    case 0x26: { /* table.set */
      uint32_t t = rd_u32(&r);
      uint32_t h = c->height - 2;
      uint32_t si = read_slot(c, h), sv = read_slot(c, h + 1);
      c->height = h;
      emit_op(c, ZH_OP_table_set);
      emit_u32(c, t);
      emit_u32(c, si);
      emit_u32(c, sv);
      break;
    }

    case 0x3f: { /* memory.size */
      uint32_t mem = rd_u32(&r);
      uint32_t h = c->height;
      push(c, K_HOME);
      if (mem) {
        emit_memory_x(c, ZH_MEMX_SIZE, home(c, h), 0, 0, mem, 0);
        break;
      }
      emit_op(c, ZH_OP_memory_size);
      size_t dst = c->len;
      emit_u32(c, home(c, h));
      mark_dst(c, dst, h);
      break;
    }
    case 0x40: { /* memory.grow */
      uint32_t mem = rd_u32(&r);
      uint32_t h = c->height - 1;
      uint32_t s = read_slot(c, h);
      c->stack[h].kind = K_HOME;
      if (mem) {
        emit_memory_x(c, ZH_MEMX_GROW, home(c, h), s, 0, mem, 0);
        break;
      }
      emit_op(c, ZH_OP_memory_grow);
      size_t dst = c->len;
      emit_u32(c, home(c, h));
      emit_u32(c, s);
      mark_dst(c, dst, h);
      break;
    }

    case 0x41: /* i32.const */
      push(c, K_CONST)->bits = (uint32_t)rd_sleb(&r);
      break;
    case 0x42: /* i64.const */
      push(c, K_CONST)->bits = (uint64_t)rd_sleb(&r);
      break;
    case 0x43: /* f32.const */
      push(c, K_CONST)->bits = rd_fixed(&r, 4);
      break;
    case 0x44: /* f64.const */
      push(c, K_CONST)->bits = rd_fixed(&r, 8);
      break;

    case 0xa7: /* i32.wrap_i64: reading a slot as i32 already takes the low half */
      if (c->stack[c->height - 1].kind == K_CONST)
        c->stack[c->height - 1].bits &= 0xffffffffu;
      break;
    case 0xbc:
    case 0xbd:
    case 0xbe:
    case 0xbf: /* reinterpret: same bits */
      break;

    case 0xd0: /* ref.null */
      rd_u8(&r);
      push(c, K_CONST)->bits = 0;
      break;
    case 0xd1: { /* ref.is_null */
      uint32_t h = c->height - 1;
      uint32_t s = read_slot(c, h);
      c->stack[h].kind = K_HOME;
      emit_op(c, ZH_OP_ref_is_null);
      size_t dst = c->len;
      emit_u32(c, home(c, h));
      emit_u32(c, s);
      mark_dst(c, dst, h);
      break;
    }
    case 0xd2: { /* ref.func */
      uint32_t f = rd_u32(&r);
      uint32_t h = c->height;
      push(c, K_HOME);
      emit_op(c, ZH_OP_ref_func);
      size_t dst = c->len;
      emit_u32(c, home(c, h));
      emit_u32(c, f);
      mark_dst(c, dst, h);
      break;
    }

    case 0xfd:
      compile_simd(c, &r);
      break;

    case 0xfc: {
      uint32_t sub = rd_u32(&r);
      if (sub <= 7) {
        int uop = lookup_unop(0xfc00 | sub);
        uint32_t h = c->height - 1;
        uint32_t s = read_slot(c, h);
        c->stack[h].kind = K_HOME;
        emit_op(c, (zh_op)uop);
        size_t dst = c->len;
        emit_u32(c, home(c, h));
        emit_u32(c, s);
        mark_dst(c, dst, h);
        break;
      }
      /* Bulk memory and table ops: operands are the top k values. */
      uint32_t imm1 = 0, imm2 = 0, k = 0, mem1 = 0, mem2 = 0;
      zh_op bop = ZH_OP_unreachable;
      switch (sub) {
      case 8:
        imm1 = rd_u32(&r), mem1 = rd_u32(&r), k = 3, bop = ZH_OP_memory_init;
        break;
      case 9:
        imm1 = rd_u32(&r), bop = ZH_OP_data_drop;
        break;
      case 10:
        mem1 = rd_u32(&r), mem2 = rd_u32(&r), k = 3, bop = ZH_OP_memory_copy;
        break;
      case 11:
        mem1 = rd_u32(&r), k = 3, bop = ZH_OP_memory_fill;
        break;
      case 12:
        imm1 = rd_u32(&r), imm2 = rd_u32(&r), k = 3, bop = ZH_OP_table_init;
        break;
      case 13:
        imm1 = rd_u32(&r), bop = ZH_OP_elem_drop;
        break;
      case 14:
        imm1 = rd_u32(&r), imm2 = rd_u32(&r), k = 3, bop = ZH_OP_table_copy;
        break;
      case 15:
        imm1 = rd_u32(&r), k = 2, bop = ZH_OP_table_grow;
        break;
      case 16:
        imm1 = rd_u32(&r), bop = ZH_OP_table_size;
        break;
      case 17:
        imm1 = rd_u32(&r), k = 3, bop = ZH_OP_table_fill;
        break;
      default:
        break;
      }
      uint32_t h = c->height - k, slots[3] = {0, 0, 0};
      for (uint32_t i = 0; i < k; i++)
        slots[i] = read_slot(c, h + i);
      c->height = h;
      if ((sub == 8 || sub == 10 || sub == 11) && (mem1 || mem2)) { /* not all memory 0 */
        static const uint32_t what[] = {ZH_MEMX_INIT, 0, ZH_MEMX_COPY, ZH_MEMX_FILL};
        emit_memory_x(c, what[sub - 8], slots[0], slots[1], slots[2], mem1, sub == 8 ? imm1 : mem2);
        break;
      }
      switch (sub) {
      case 8: /* memory.init seg: d s n */
        emit_op(c, bop), emit_u32(c, imm1);
        emit_u32(c, slots[0]), emit_u32(c, slots[1]), emit_u32(c, slots[2]);
        break;
      case 9:
      case 13: /* data.drop / elem.drop */
        emit_op(c, bop), emit_u32(c, imm1);
        break;
      case 10:
      case 11: /* memory.copy d s n, memory.fill d v n */
        emit_op(c, bop);
        emit_u32(c, slots[0]), emit_u32(c, slots[1]), emit_u32(c, slots[2]);
        break;
      case 12: /* table.init elem table: d s n  -> op table, seg, ... */
        emit_op(c, bop), emit_u32(c, imm2), emit_u32(c, imm1);
        emit_u32(c, slots[0]), emit_u32(c, slots[1]), emit_u32(c, slots[2]);
        break;
      case 14: /* table.copy dst src: d s n */
        emit_op(c, bop), emit_u32(c, imm1), emit_u32(c, imm2);
        emit_u32(c, slots[0]), emit_u32(c, slots[1]), emit_u32(c, slots[2]);
        break;
      case 15: { /* table.grow: init delta -> old */
        push(c, K_HOME);
        emit_op(c, bop);
        emit_u32(c, home(c, h)), emit_u32(c, imm1);
        emit_u32(c, slots[0]), emit_u32(c, slots[1]);
        break;
      }
      case 16: /* table.size */
        push(c, K_HOME);
        emit_op(c, bop);
        emit_u32(c, home(c, h)), emit_u32(c, imm1);
        break;
      case 17: /* table.fill: i v n */
        emit_op(c, bop), emit_u32(c, imm1);
        emit_u32(c, slots[0]), emit_u32(c, slots[1]), emit_u32(c, slots[2]);
        break;
      default:
        break;
      }
      break;
    }

    default: {
      if (op >= 0x28 && op <= 0x35) { /* loads */
        static const zh_op loads[] = {ZH_OP_l32,    ZH_OP_l64, ZH_OP_l32,    ZH_OP_l64,
                                      ZH_OP_l8s32,  ZH_OP_l8u, ZH_OP_l16s32, ZH_OP_l16u,
                                      ZH_OP_l8s64,  ZH_OP_l8u, ZH_OP_l16s64, ZH_OP_l16u,
                                      ZH_OP_l32s64, ZH_OP_l32};
        uint32_t mem;
        uint32_t off = rd_memarg(&r, &mem);
        uint32_t h = c->height - 1;
        uint32_t addr[3];
        if (loads[op - 0x28] == ZH_OP_l32 && const_ea(c, h, off, addr)) {
          c->stack[h].kind = K_HOME;
          mem_select(c, mem);
          emit_op(c, ZH_OP_l32_k);
          size_t dst = c->len;
          emit_u32(c, home(c, h));
          emit_u32(c, addr[0]);
          mark_dst(c, dst, h);
          mem_restore(c, mem);
          break;
        }
        int mode = take_address(c, h, addr);
        if (!mode)
          addr[0] = read_slot(c, h);
        c->stack[h].kind = K_HOME;
        mem_select(c, mem);
        emit_op(c, (zh_op)(loads[op - 0x28] + mode));
        size_t dst = c->len;
        emit_u32(c, home(c, h));
        emit_address(c, mode, addr, off);
        mark_dst(c, dst, h);
        if (op == 0x2b && mode == 0) { /* f64.load: may become an arithmetic operand */
          c->last_kind = LK_LOAD64;
          c->la = addr[0], c->lb = off;
        }
        mem_restore(c, mem);
        break;
      }
      if (op >= 0x36 && op <= 0x3e) { /* stores */
        static const zh_op stores[] = {ZH_OP_s32, ZH_OP_s64, ZH_OP_s32, ZH_OP_s64, ZH_OP_s8,
                                       ZH_OP_s16, ZH_OP_s8,  ZH_OP_s16, ZH_OP_s32};
        uint32_t mem;
        uint32_t off = rd_memarg(&r, &mem);
        uint32_t h = c->height - 2;
        const entry *v = &c->stack[h + 1];
        if (op == 0x39 && !mem && produced_last(c, h + 1, LK_F64_ADD_M) &&
            c->stack[h].kind == K_LOCAL && c->stack[h].local == c->lb && c->lk == off) {
          /* m[a] = x + m[a]: an in-place update of memory. */
          uint32_t x = c->la, a = c->lb;
          c->len = c->last_insn;
          barrier(c);
          c->height = h;
          emit_op(c, ZH_OP_f64_addto_m);
          emit_u32(c, x);
          emit_u32(c, a);
          emit_u32(c, off);
          break;
        }
        /* The address arithmetic can move into the store when the value needs no code of
         * its own, or only a constant that does not overwrite the arithmetic's operands. */
        uint32_t addr[3];
        if (stores[op - 0x36] == ZH_OP_s32 && const_ea(c, h, off, addr)) {
          uint32_t sv = read_slot(c, h + 1);
          c->height = h;
          mem_select(c, mem);
          emit_op(c, ZH_OP_s32_k);
          emit_u32(c, sv);
          emit_u32(c, addr[0]);
          mem_restore(c, mem);
          break;
        }
        int mode = 0;
        if (v->kind == K_LOCAL ||
            (v->kind == K_CONST && c->la != home(c, h + 1) && c->lb != home(c, h + 1)))
          mode = take_address(c, h, addr);
        uint32_t sv = read_slot(c, h + 1);
        if (!mode)
          addr[0] = read_slot(c, h);
        c->height = h;
        mem_select(c, mem);
        emit_op(c, (zh_op)(stores[op - 0x36] + mode));
        emit_u32(c, sv);
        emit_address(c, mode, addr, off);
        mem_restore(c, mem);
        break;
      }
      if (op >= 0xa0 && op <= 0xa2) { /* f64 add, sub, mul: fuse an operand's load */
        uint32_t h = c->height - 2;
        bool second = produced_last(c, h + 1, LK_LOAD64) && c->stack[h].kind != K_CONST;
        bool first = !second && produced_last(c, h, LK_LOAD64) && c->stack[h + 1].kind != K_CONST;
        if (second || first) {
          static const zh_op fused[] = {ZH_OP_f64_add_m, ZH_OP_f64_sub_m, ZH_OP_f64_mul_m};
          zh_op o = op == 0xa1 && first ? ZH_OP_f64_rsub_m : fused[op - 0xa0];
          fuse_last(c, h, second, o, c->la, c->lb); /* the load's address and offset */
          if (o == ZH_OP_f64_add_m)
            c->last_kind = LK_F64_ADD_M;
          break;
        }
      }
      binop_info bi;
      if (lookup_binop(op, &bi)) {
        uint32_t h = c->height - 2;
        entry a = c->stack[h], b = c->stack[h + 1];
        uint64_t folded;
        if (a.kind == K_CONST && b.kind == K_CONST && fold(op, a.bits, b.bits, &folded)) {
          c->height = h;
          push(c, K_CONST)->bits = folded;
          break;
        }
        if (op == 0x71 && fuse_zero_byte_test(c, h))
          break;
        /* An operand just computed by a shift, rotate or add joins this op: array
         * indexing a + (x << k), hash rounds a ^ rotl(x, k), sums a + x + y. */
        int inner = op == 0x6a ? LK_SHL_RI : op == 0x73 ? LK_ROTL_RI : LK_NONE;
        if (inner != LK_NONE && a.kind != K_CONST && b.kind != K_CONST) {
          if (op == 0x6a && !produced_last(c, h + 1, inner) && !produced_last(c, h, inner))
            inner = LK_ADD_RR;
          bool second = produced_last(c, h + 1, inner);
          if (second || produced_last(c, h, inner)) {
            zh_op o = inner == LK_SHL_RI    ? ZH_OP_i32_add_shl
                      : inner == LK_ROTL_RI ? ZH_OP_i32_xor_rotl
                                            : ZH_OP_i32_add3;
            fuse_last(c, h, second, o, c->la, inner == LK_ADD_RR ? c->lb : c->lk);
            if (o == ZH_OP_i32_add_shl)
              c->last_kind = LK_ADD_SHL;
            break;
          }
        }
        uint32_t sa, sb;
        bool imm = false;
        zh_op o;
        int cmp = bi.cmp;
        bool add = op == 0x6a;
        if (b.kind == K_CONST && fits_imm(b.bits, bi.is64)) {
          sa = read_slot(c, h), sb = (uint32_t)b.bits, imm = true;
          o = (zh_op)bi.ri;
          if (op == 0x6b) { /* x - k is x + (-k): the add's fusions take it (addresses, loop
                             * counters, a C function's stack pointer) */
            o = ZH_OP_i32_add_ri, sb = 0u - sb, add = true;
          }
        } else if (a.kind == K_CONST && fits_imm(a.bits, bi.is64) && (bi.comm || cmp >= 0)) {
          sa = read_slot(c, h + 1), sb = (uint32_t)a.bits, imm = true;
          if (cmp >= 0) {
            cmp = cmps[cmp].swapped;
            o = (zh_op)cmps[cmp].ri;
          } else {
            o = (zh_op)bi.ri;
          }
        } else {
          sa = read_slot(c, h), sb = read_slot(c, h + 1);
          o = (zh_op)bi.rr;
        }
        c->height = h;
        push(c, K_HOME);
        emit_op(c, o);
        size_t dst = c->len;
        emit_u32(c, home(c, h));
        emit_u32(c, sa);
        emit_u32(c, sb);
        mark_dst(c, dst, h);
        c->la = sa, c->lb = sb, c->l_imm = imm;
        if (cmp >= 0) {
          c->last_kind = LK_CMP;
          c->last_cmp = cmp;
        } else if (add) {
          c->last_kind = imm ? LK_ADD_RI : LK_ADD_RR;
          c->l_dst = home(c, h);
        } else if ((op == 0x74 || op == 0x77) && imm) {
          c->last_kind = op == 0x74 ? LK_SHL_RI : LK_ROTL_RI;
          c->lk = sb & 31;
        } else if (op == 0x73 && imm && sb == UINT32_MAX) {
          c->last_kind = LK_NOT32;
          c->l_dst = home(c, h);
        } else if (op == 0x71 && imm) {
          c->last_kind = LK_AND_RI;
          c->l_dst = home(c, h);
        }
        break;
      }
      int ob = lookup_other_binop(op);
      if (ob >= 0) {
        uint32_t h = c->height - 2;
        uint32_t sa = read_slot(c, h), sb = read_slot(c, h + 1);
        c->height = h;
        push(c, K_HOME);
        emit_op(c, (zh_op)ob);
        size_t dst = c->len;
        emit_u32(c, home(c, h));
        emit_u32(c, sa);
        emit_u32(c, sb);
        mark_dst(c, dst, h);
        break;
      }
      int uo = lookup_unop(op);
      if (uo >= 0) {
        uint32_t h = c->height - 1;
        entry *e = &c->stack[h];
        if ((op == 0x45 || op == 0x50) && e->kind == K_CONST) {
          e->bits = op == 0x45 ? (uint32_t)e->bits == 0 : e->bits == 0;
          break;
        }
        uint32_t s = read_slot(c, h);
        e->kind = K_HOME;
        emit_op(c, (zh_op)uo);
        size_t dst = c->len;
        emit_u32(c, home(c, h));
        emit_u32(c, s);
        mark_dst(c, dst, h);
        if (op == 0x45 || op == 0x50) {
          c->last_kind = op == 0x45 ? LK_EQZ32 : LK_EQZ64;
          c->la = s;
        }
        break;
      }
      return zh_error_new(ZH_ERR_INVALID, "function %u: opcode 0x%02x is not supported", func_index,
                          op);
    }
    }
  }
  if (c->oom)
    return zh_error_new(ZH_ERR_RESOURCE, "out of memory compiling function %u", func_index);

  uint32_t span = c->nlocals + c->max_height;
  if (span < c->nresults)
    span = c->nresults;
  *out_slots = span + 1;
  return NULL;
}

/* ---- code objects and first calls ---- */

/* Bodies compiling on first call take one of these by function index, so that threads
 * calling the same new body compile it once while different bodies compile in parallel. */
#define ZH_CODE_LOCKS 64

struct zh_code_locks {
  pthread_mutex_t lock[ZH_CODE_LOCKS];
};

static void compiler_free(compiler *c) {
  free(c->code);
  free(c->stack);
  free(c->ctrls);
  free(c->fixups);
  free(c->fresh);
  free(c->lslot);
  free(c->ltype);
}

/* Compiles the body of `code` with the scratch state `c` and publishes it. The caller holds
 * the body's lock, or is the only thread that can see the module. */
static zh_error *compile_publish(compiler *c, zh_code *code) {
  uint32_t slots = 0;
  zh_error *err = compile_body(c, code, &slots);
  if (err)
    return err;
  uint8_t *ops = malloc(c->len ? c->len : 1);
  if (!ops)
    return zh_error_new(ZH_ERR_RESOURCE, "out of memory compiling function %u", code->func_index);
  memcpy(ops, c->code, c->len);
  code->len = c->len;
  atomic_store_explicit(&code->frame_slots, slots, memory_order_relaxed);
  atomic_store_explicit(&code->ops, ops, memory_order_release);
  return NULL;
}

const uint8_t *zh_code_compile(zh_code *code, zh_error **err) {
  const uint8_t *stub = (const uint8_t *)&code->stub;
  const uint8_t *ops = atomic_load_explicit(&code->ops, memory_order_acquire);
  if (ops != stub)
    return ops;
  const zh_module *m = code->module;
  pthread_mutex_t *lock = &m->code_locks->lock[code->func_index % ZH_CODE_LOCKS];
  pthread_mutex_lock(lock);
  ops = atomic_load_explicit(&code->ops, memory_order_relaxed);
  if (ops == stub) { /* no other thread got here first */
    compiler c;
    memset(&c, 0, sizeof c);
    c.m = m;
    c.h = zh_interp_handlers();
    *err = compile_publish(&c, code);
    compiler_free(&c);
    ops = *err ? NULL : atomic_load_explicit(&code->ops, memory_order_relaxed);
  }
  pthread_mutex_unlock(lock);
  return ops;
}

/* The fields of a body's code object that are known before compiling it. */
static void code_init(const zh_module *m, uint32_t body, zh_code *code, const void *lazy) {
  uint32_t fi = m->nfunc_imports + body;
  const zh_type *ft = zh_func_type_of(m, fi);
  const zh_func_body *b = &m->bodies[body];
  uint32_t params = slots_of(ft->types, ft->nparams);
  code->func_index = fi;
  code->module = m;
  code->nparams = params;
  code->nresults = slots_of(ft->types + ft->nparams, ft->nresults);
  code->nlocals = params + slots_of(b->local_types, b->nlocals);
  code->stub = lazy;
  atomic_init(&code->frame_slots, code->nlocals + 1);
  atomic_init(&code->ops, (const uint8_t *)&code->stub);
}

zh_error *zh_compile_module(zh_module *m) {
  if (m->nbodies == 0)
    return NULL;
  const void *const *h = zh_interp_handlers();
  m->code = calloc(m->nbodies, sizeof(zh_code *));
  m->code_block = calloc(m->nbodies, sizeof(zh_code));
  m->code_locks = malloc(sizeof *m->code_locks);
  if (!m->code || !m->code_block || !m->code_locks) {
    free(m->code_locks);
    m->code_locks = NULL; /* zh_compile_release destroys the locks only when they exist */
    return zh_error_new(ZH_ERR_RESOURCE, "out of memory compiling");
  }
  for (uint32_t i = 0; i < ZH_CODE_LOCKS; i++)
    pthread_mutex_init(&m->code_locks->lock[i], NULL);
  /* All code objects exist before any body is compiled, so calls can point at them. */
  for (uint32_t i = 0; i < m->nbodies; i++) {
    m->code[i] = &m->code_block[i];
    code_init(m, i, m->code[i], h[ZH_OP_lazy]);
  }
  if (!m->engine || !m->engine->config.eager_compile)
    return NULL;
  compiler c;
  memset(&c, 0, sizeof c);
  c.m = m;
  c.h = h;
  zh_error *err = NULL;
  for (uint32_t i = 0; i < m->nbodies && !err; i++)
    err = compile_publish(&c, m->code[i]);
  compiler_free(&c);
  return err;
}

void zh_compile_release(zh_module *m) {
  if (m->code_block)
    for (uint32_t i = 0; i < m->nbodies; i++) {
      zh_code *code = &m->code_block[i];
      const uint8_t *ops = atomic_load_explicit(&code->ops, memory_order_relaxed);
      if (ops != (const uint8_t *)&code->stub)
        free((void *)ops);
    }
  if (m->code_locks)
    for (uint32_t i = 0; i < ZH_CODE_LOCKS; i++)
      pthread_mutex_destroy(&m->code_locks->lock[i]);
  free(m->code_locks);
  free(m->code_block);
  free(m->code);
  m->code_locks = NULL;
  m->code_block = NULL;
  m->code = NULL;
}
