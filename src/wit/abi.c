/* Canonical ABI layout: despecialization, alignment, size, flattening, core signatures and
 * the core names of the wasm32 build target (CanonicalABI.md, BuildTargets.md). */
#include "wit/abi.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const zh_wit_type *zh_abi_unalias_chain(const zh_wit_type *t) {
  while (t && t->kind == ZH_WIT_ALIAS)
    t = t->elem;
  return t;
}

size_t zh_abi_case_count(const zh_wit_type *t) {
  switch (t->kind) {
  case ZH_WIT_OPTION:
  case ZH_WIT_RESULT:
    return 2;
  default:
    return t->nfields;
  }
}

const zh_wit_type *zh_abi_case_type(const zh_wit_type *t, size_t i) {
  switch (t->kind) {
  case ZH_WIT_OPTION:
    return i == 1 ? t->elem : NULL;
  case ZH_WIT_RESULT:
    return i == 0 ? t->elem : t->err;
  case ZH_WIT_ENUM:
    return NULL;
  default:
    return t->fields[i].type;
  }
}

uint32_t zh_abi_disc_size(size_t ncases) { return ncases <= 256 ? 1 : ncases <= 65536 ? 2 : 4; }

/* Flags of more than 32 members use the legacy layout of CanonicalABI.md (one i32 per 32
 * flags); newer revisions cap flags at 32, which this layout agrees with. */
uint32_t zh_abi_flags_words(size_t nflags) { return (uint32_t)((nflags + 31) / 32); }

static uint32_t align_to(uint32_t x, uint32_t a) { return (x + a - 1) & ~(a - 1); }

/* Layouts of records and variant-like types are computed once and kept in the type
 * (abi_layout): lowering a big variant such as wasi:http's error-code would otherwise walk
 * all of its cases on every store. The packing: bit 63 set once computed, size in bits
 * 0..31, alignment in 32..39, payload offset in 40..47. Threads may race to fill it; they
 * write the same value. Bits 48..55 hold the flattened count. Primitive types (some are static
 * const) are never written. */
#define LAYOUT_DONE ((uint64_t)1 << 63)
#define FLAT_TOO_WIDE 0xffu /* bits 48..55: the flat count, or this */

static bool layout_cached(const zh_wit_type *t) {
  switch (zh_abi_despecialize(t)) {
  case ZH_WIT_RECORD:
  case ZH_WIT_VARIANT:
    return true;
  default:
    return false;
  }
}

static uint32_t compute_align(const zh_wit_type *t);
static uint32_t compute_size(const zh_wit_type *t);
static uint32_t compute_payload_offset(const zh_wit_type *t);

static uint64_t layout_of(const zh_wit_type *t) {
  zh_wit_type *w = (zh_wit_type *)(uintptr_t)t;
  uint64_t l = __atomic_load_n(&w->abi_layout, __ATOMIC_RELAXED);
  if (l & LAYOUT_DONE)
    return l;
  uint64_t payload = zh_abi_despecialize(t) == ZH_WIT_VARIANT ? compute_payload_offset(t) : 0;
  zh_valtype flat[ZH_ABI_MAX_FLAT_PARAMS + 1];
  size_t n = 0;
  uint64_t nflat = zh_abi_flatten(t, flat, ZH_ABI_MAX_FLAT_PARAMS, &n) ? n : FLAT_TOO_WIDE;
  l = LAYOUT_DONE | compute_size(t) | (uint64_t)compute_align(t) << 32 | payload << 40 |
      nflat << 48;
  __atomic_store_n(&w->abi_layout, l, __ATOMIC_RELAXED);
  return l;
}

static uint32_t max_case_align(const zh_wit_type *t) {
  uint32_t a = 1;
  for (size_t i = 0, n = zh_abi_case_count(t); i < n; i++) {
    const zh_wit_type *c = zh_abi_case_type(t, i);
    if (c) {
      uint32_t ca = zh_abi_align(c);
      a = ca > a ? ca : a;
    }
  }
  return a;
}

/* Size and alignment of the kinds bool..list, read without a switch: every copy of a list
 * or string asks for them (the same values as compute_size and compute_align). */
static const struct {
  uint8_t size, align;
} scalar_layout[ZH_WIT_LIST + 1] = {
    [ZH_WIT_BOOL] = {1, 1},   [ZH_WIT_S8] = {1, 1},   [ZH_WIT_S16] = {2, 2}, [ZH_WIT_S32] = {4, 4},
    [ZH_WIT_S64] = {8, 8},    [ZH_WIT_U8] = {1, 1},   [ZH_WIT_U16] = {2, 2}, [ZH_WIT_U32] = {4, 4},
    [ZH_WIT_U64] = {8, 8},    [ZH_WIT_F32] = {4, 4},  [ZH_WIT_F64] = {8, 8}, [ZH_WIT_CHAR] = {4, 4},
    [ZH_WIT_STRING] = {8, 4}, [ZH_WIT_LIST] = {8, 4},
};

uint32_t zh_abi_align(const zh_wit_type *t) {
  t = zh_abi_unalias(t);
  if (t->kind <= ZH_WIT_LIST)
    return scalar_layout[t->kind].align;
  return layout_cached(t) ? (uint32_t)(layout_of(t) >> 32 & 0xff) : compute_align(t);
}

static uint32_t compute_align(const zh_wit_type *t) {
  switch (zh_abi_despecialize(t)) {
  case ZH_WIT_BOOL:
  case ZH_WIT_S8:
  case ZH_WIT_U8:
    return 1;
  case ZH_WIT_S16:
  case ZH_WIT_U16:
    return 2;
  case ZH_WIT_S64:
  case ZH_WIT_U64:
  case ZH_WIT_F64:
    return 8;
  case ZH_WIT_RECORD: {
    uint32_t a = 1;
    for (size_t i = 0; i < t->nfields; i++) {
      uint32_t fa = zh_abi_align(t->fields[i].type);
      a = fa > a ? fa : a;
    }
    return a;
  }
  case ZH_WIT_VARIANT: {
    uint32_t d = zh_abi_disc_size(zh_abi_case_count(t)), c = max_case_align(t);
    return d > c ? d : c;
  }
  case ZH_WIT_FLAGS:
    return t->nfields <= 8 ? 1 : t->nfields <= 16 ? 2 : 4;
  default: /* 32-bit scalars, char, string and list (pointer + length), handles */
    return 4;
  }
}

uint32_t zh_abi_payload_offset(const zh_wit_type *t) {
  t = zh_abi_unalias(t);
  return layout_cached(t) ? (uint32_t)(layout_of(t) >> 40 & 0xff) : compute_payload_offset(t);
}

static uint32_t compute_payload_offset(const zh_wit_type *t) {
  return align_to(zh_abi_disc_size(zh_abi_case_count(t)), max_case_align(t));
}

uint32_t zh_abi_size(const zh_wit_type *t) {
  t = zh_abi_unalias(t);
  if (t->kind <= ZH_WIT_LIST)
    return scalar_layout[t->kind].size;
  return layout_cached(t) ? (uint32_t)layout_of(t) : compute_size(t);
}

static uint32_t compute_size(const zh_wit_type *t) {
  switch (zh_abi_despecialize(t)) {
  case ZH_WIT_BOOL:
  case ZH_WIT_S8:
  case ZH_WIT_U8:
    return 1;
  case ZH_WIT_S16:
  case ZH_WIT_U16:
    return 2;
  case ZH_WIT_S64:
  case ZH_WIT_U64:
  case ZH_WIT_F64:
  case ZH_WIT_STRING:
  case ZH_WIT_LIST:
    return 8;
  case ZH_WIT_RECORD: {
    uint32_t s = 0;
    for (size_t i = 0; i < t->nfields; i++) {
      s = align_to(s, zh_abi_align(t->fields[i].type));
      s += zh_abi_size(t->fields[i].type);
    }
    return align_to(s, compute_align(t));
  }
  case ZH_WIT_VARIANT: {
    uint32_t s = compute_payload_offset(t), m = 0;
    for (size_t i = 0, n = zh_abi_case_count(t); i < n; i++) {
      const zh_wit_type *c = zh_abi_case_type(t, i);
      uint32_t cs = c ? zh_abi_size(c) : 0;
      m = cs > m ? cs : m;
    }
    return align_to(s + m, compute_align(t));
  }
  case ZH_WIT_FLAGS:
    if (t->nfields == 0)
      return 0;
    if (t->nfields <= 8)
      return 1;
    if (t->nfields <= 16)
      return 2;
    return 4 * zh_abi_flags_words(t->nfields);
  default:
    return 4;
  }
}

size_t zh_abi_flat_count(const zh_wit_type *t) {
  t = zh_abi_unalias(t);
  if (layout_cached(t)) {
    uint64_t n = layout_of(t) >> 48 & 0xff;
    return n == FLAT_TOO_WIDE ? SIZE_MAX : (size_t)n;
  }
  zh_valtype flat[ZH_ABI_MAX_FLAT_PARAMS + 1];
  size_t n = 0;
  return zh_abi_flatten(t, flat, ZH_ABI_MAX_FLAT_PARAMS, &n) ? n : SIZE_MAX;
}

/* join(a, b) of CanonicalABI.md: the core type able to carry both. */
static zh_valtype join(zh_valtype a, zh_valtype b) {
  if (a == b)
    return a;
  if ((a == ZH_I32 && b == ZH_F32) || (a == ZH_F32 && b == ZH_I32))
    return ZH_I32;
  return ZH_I64;
}

static bool push(zh_valtype *out, size_t cap, size_t *n, zh_valtype v) {
  if (*n >= cap)
    return false;
  out[(*n)++] = v;
  return true;
}

bool zh_abi_flatten(const zh_wit_type *t, zh_valtype *out, size_t cap, size_t *n) {
  t = zh_abi_unalias(t);
  switch (zh_abi_despecialize(t)) {
  case ZH_WIT_S64:
  case ZH_WIT_U64:
    return push(out, cap, n, ZH_I64);
  case ZH_WIT_F32:
    return push(out, cap, n, ZH_F32);
  case ZH_WIT_F64:
    return push(out, cap, n, ZH_F64);
  case ZH_WIT_STRING:
  case ZH_WIT_LIST:
    return push(out, cap, n, ZH_I32) && push(out, cap, n, ZH_I32);
  case ZH_WIT_RECORD:
    for (size_t i = 0; i < t->nfields; i++)
      if (!zh_abi_flatten(t->fields[i].type, out, cap, n))
        return false;
    return true;
  case ZH_WIT_VARIANT: {
    if (!push(out, cap, n, ZH_I32))
      return false;
    size_t base = *n, width = 0;
    for (size_t c = 0, nc = zh_abi_case_count(t); c < nc; c++) {
      const zh_wit_type *ct = zh_abi_case_type(t, c);
      if (!ct)
        continue;
      /* Flatten the case after the joined prefix, then fold it in. */
      zh_valtype tmp[ZH_ABI_MAX_FLAT_PARAMS + 1];
      size_t k = 0;
      if (!zh_abi_flatten(
              ct, tmp,
              cap - base < sizeof tmp / sizeof *tmp ? cap - base : sizeof tmp / sizeof *tmp, &k))
        return false;
      for (size_t j = 0; j < k; j++) {
        if (j < width)
          out[base + j] = join(out[base + j], tmp[j]);
        else
          out[base + j] = tmp[j];
      }
      width = k > width ? k : width;
    }
    *n = base + width;
    return true;
  }
  case ZH_WIT_FLAGS:
    for (uint32_t i = 0; i < zh_abi_flags_words(t->nfields); i++)
      if (!push(out, cap, n, ZH_I32))
        return false;
    return true;
  default:
    return push(out, cap, n, ZH_I32);
  }
}

void zh_abi_signature(const zh_wit_func *f, bool lower, zh_abi_sig *sig) {
  memset(sig, 0, sizeof *sig);
  size_t n = 0;
  bool fits = true;
  for (size_t i = 0; i < f->nparams && fits; i++)
    fits = zh_abi_flatten(f->params[i].type, sig->params, ZH_ABI_MAX_FLAT_PARAMS, &n);
  if (!fits) {
    sig->params_indirect = true;
    sig->params[0] = ZH_I32;
    n = 1;
  }
  sig->nflat_params = (uint32_t)n;
  if (f->result) {
    size_t r = 0;
    if (!zh_abi_flatten(f->result, sig->results, ZH_ABI_MAX_FLAT_RESULTS, &r)) {
      sig->results_indirect = true;
      if (lower) {
        sig->params[n++] = ZH_I32; /* the return pointer */
        r = 0;
      } else {
        sig->results[0] = ZH_I32;
        r = 1;
      }
    }
    sig->nresults = (uint32_t)r;
  }
  sig->nparams = (uint32_t)n;
}

bool zh_abi_export_name(const char *iface, const zh_wit_func *f, char *buf, size_t cap) {
  const char *fn = f->abi_name ? f->abi_name : f->name;
  int w = iface ? snprintf(buf, cap, "%s#%s", iface, fn) : snprintf(buf, cap, "%s", fn);
  return w >= 0 && (size_t)w < cap;
}

size_t zh_abi_export_name_len(const char *iface, const zh_wit_func *f) {
  const char *fn = f->abi_name ? f->abi_name : f->name;
  return (iface ? strlen(iface) + 1 : 0) + strlen(fn);
}

const char *zh_abi_import_module(const char *iface) { return iface ? iface : "$root"; }

static zh_error *vmake(zh_status st, const zh_abi_cx *cx, const char *fmt, va_list ap) {
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  return zh_error_new(st, "%s: %s", cx && cx->what ? cx->what : "canonical ABI", msg);
}

zh_error *zh_abi_trap(const zh_abi_cx *cx, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  zh_error *e = vmake(ZH_ERR_TRAP, cx, fmt, ap);
  va_end(ap);
  return e;
}

zh_error *zh_abi_usage(const zh_abi_cx *cx, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  zh_error *e = vmake(ZH_ERR_USAGE, cx, fmt, ap);
  va_end(ap);
  return e;
}

zh_error *zh_abi_check_range(zh_abi_cx *cx, const char *what, uint64_t ptr, uint64_t len,
                             uint32_t align) {
  if (!cx->mem)
    return zh_abi_trap(cx, "%s needs memory, but the module exports none", what);
  if (align > 1 && (ptr & (align - 1)))
    return zh_abi_trap(cx, "%s pointer 0x%llx is not aligned to %u", what, (unsigned long long)ptr,
                       align);
  uint64_t size = zh_memory_size(cx->mem);
  if (ptr > size || len > size - ptr)
    return zh_abi_trap(cx, "%s at 0x%llx, %llu bytes, is out of bounds of memory (%llu bytes)",
                       what, (unsigned long long)ptr, (unsigned long long)len,
                       (unsigned long long)size);
  return NULL;
}

zh_error *zh_abi_alloc(zh_abi_cx *cx, uint32_t align, uint32_t size, uint32_t *ptr) {
  if (!cx->realloc)
    return zh_abi_trap(cx, "cannot allocate %u bytes: the module exports no cabi_realloc", size);
  zh_value args[4] = {zh_i32(0), zh_i32(0), zh_i32((int32_t)align), zh_i32((int32_t)size)};
  zh_value res;
  zh_error *err = zh_func_call(cx->store, cx->realloc, args, 4, &res, 1);
  if (err)
    return err;
  *ptr = (uint32_t)res.of.i32;
  return zh_abi_check_range(cx, "cabi_realloc result", *ptr, size, align);
}
