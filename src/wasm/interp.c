/* The interpreter: direct-threaded dispatch over the register code of compile.c.
 *
 * State lives in a handful of locals that the compiler keeps in registers: pc (the
 * current instruction), fp (the frame's slots), inst and mem (the running instance and
 * its memory base). Each handler reads its operands, does its work and jumps straight
 * to the next handler through the address stored at the head of the next instruction.
 * Calls push a small record on the store's frame array instead of recursing in C, so
 * wasm recursion depth is bounded by configuration, not by the host stack. */
#include "wasm/compile.h"
#include "wasm/error.h"
#include "wasm/objects.h"
#include "wasm/ops.h"
#include "wasm/runtime.h"
#include "wasm/simd.h"
#include "wasm/trap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Operands are packed without alignment padding. */
typedef uint32_t u32u __attribute__((aligned(1), may_alias));
typedef uint64_t u64u __attribute__((aligned(1), may_alias));
typedef uint16_t u16u __attribute__((aligned(1), may_alias));
typedef const void *ptru __attribute__((aligned(1), may_alias));

#define O(n) (((const u32u *)(pc + 8))[n])
#define OS(n) ((int32_t)O(n))
#define AT64(byte) (*(const u64u *)(pc + (byte)))
#define ATPTR(byte) (*(const ptru *)(pc + (byte)))
#ifdef ZH_OP_STATS
/* Debug builds only: counts executed ops and op pairs to find fusion candidates. */
static void op_stats_hit(const void *handler);
#define DISPATCH()                                                                                 \
  do {                                                                                             \
    op_stats_hit(*(const ptru *)pc);                                                               \
    goto *(*(const ptru *)pc);                                                                     \
  } while (0)
#else
#define DISPATCH() goto *(*(const ptru *)pc)
#endif
#define NEXT(size)                                                                                 \
  do {                                                                                             \
    pc += (size);                                                                                  \
    DISPATCH();                                                                                    \
  } while (0)

#ifdef ZH_NO_INTERRUPT_CHECKS
#define CHECK_INTERRUPT() ((void)0)
#else
#define CHECK_INTERRUPT()                                                                          \
  do {                                                                                             \
    if (UNLIKELY(atomic_load_explicit(&s->interrupt, memory_order_relaxed)))                       \
      goto interrupted;                                                                            \
  } while (0)
#endif

#define BRANCH(off)                                                                                \
  do {                                                                                             \
    CHECK_INTERRUPT();                                                                             \
    pc += (off);                                                                                   \
    DISPATCH();                                                                                    \
  } while (0)

#define TRAP(code)                                                                                 \
  do {                                                                                             \
    trap = ZH_TRAP_##code;                                                                         \
    goto trapped;                                                                                  \
  } while (0)

/* Slot access by operand type. 32-bit results are stored zero-extended as whole slots,
 * which keeps later 64-bit copies free of store-forwarding stalls. */
static inline float slot_f32(const uint64_t *p) {
  union {
    uint32_t u;
    float f;
  } x = {(uint32_t)*p};
  return x.f;
}
static inline double slot_f64(const uint64_t *p) {
  union {
    uint64_t u;
    double f;
  } x = {*p};
  return x.f;
}
static inline uint64_t f32_slot(float f) {
  union {
    float f;
    uint32_t u;
  } x = {f};
  return x.u;
}
static inline uint64_t f64_slot(double f) {
  union {
    double f;
    uint64_t u;
  } x = {f};
  return x.u;
}

#define R_I32(i) ((uint32_t)fp[i])
#define R_I64(i) (fp[i])
#define R_F32(i) slot_f32(&fp[i])
#define R_F64(i) slot_f64(&fp[i])
#define W_I32(i, v) (fp[i] = (uint32_t)(v))
#define W_I64(i, v) (fp[i] = (uint64_t)(v))
#define W_F32(i, v) (fp[i] = f32_slot(v))
#define W_F64(i, v) (fp[i] = f64_slot(v))
#define R_V(i) zh_v_get(&fp[i])
#define W_V(i, v) zh_v_put(&fp[i], (v))
#define IMM_I32(x) ((uint32_t)(x))
#define IMM_I64(x) ((uint64_t)(int64_t)(int32_t)(x))

/* ---- operation semantics ---- */

static inline uint32_t rotl32(uint32_t a, uint32_t b) {
  b &= 31;
  return b ? (a << b) | (a >> (32 - b)) : a;
}
static inline uint32_t rotr32(uint32_t a, uint32_t b) {
  b &= 31;
  return b ? (a >> b) | (a << (32 - b)) : a;
}
static inline uint64_t rotl64(uint64_t a, uint64_t b) {
  b &= 63;
  return b ? (a << b) | (a >> (64 - b)) : a;
}
static inline uint64_t rotr64(uint64_t a, uint64_t b) {
  b &= 63;
  return b ? (a >> b) | (a << (64 - b)) : a;
}

#define E_i32_add(a, b) ((a) + (b))
#define E_i32_sub(a, b) ((a) - (b))
#define E_i32_mul(a, b) ((a) * (b))
#define E_i32_and(a, b) ((a) & (b))
#define E_i32_or(a, b) ((a) | (b))
#define E_i32_xor(a, b) ((a) ^ (b))
#define E_i32_shl(a, b) ((a) << ((b)&31))
#define E_i32_shr_s(a, b) ((uint32_t)((int32_t)(a) >> ((b)&31)))
#define E_i32_shr_u(a, b) ((a) >> ((b)&31))
#define E_i32_rotl(a, b) rotl32(a, b)
#define E_i32_rotr(a, b) rotr32(a, b)
#define E_i64_add(a, b) ((a) + (b))
#define E_i64_sub(a, b) ((a) - (b))
#define E_i64_mul(a, b) ((a) * (b))
#define E_i64_and(a, b) ((a) & (b))
#define E_i64_or(a, b) ((a) | (b))
#define E_i64_xor(a, b) ((a) ^ (b))
#define E_i64_shl(a, b) ((a) << ((b)&63))
#define E_i64_shr_s(a, b) ((uint64_t)((int64_t)(a) >> ((b)&63)))
#define E_i64_shr_u(a, b) ((a) >> ((b)&63))
#define E_i64_rotl(a, b) rotl64(a, b)
#define E_i64_rotr(a, b) rotr64(a, b)

#define E_i32_eq(a, b) ((a) == (b))
#define E_i32_ne(a, b) ((a) != (b))
#define E_i32_lt_s(a, b) ((int32_t)(a) < (int32_t)(b))
#define E_i32_lt_u(a, b) ((a) < (b))
#define E_i32_gt_s(a, b) ((int32_t)(a) > (int32_t)(b))
#define E_i32_gt_u(a, b) ((a) > (b))
#define E_i32_le_s(a, b) ((int32_t)(a) <= (int32_t)(b))
#define E_i32_le_u(a, b) ((a) <= (b))
#define E_i32_ge_s(a, b) ((int32_t)(a) >= (int32_t)(b))
#define E_i32_ge_u(a, b) ((a) >= (b))
#define E_i64_eq(a, b) ((a) == (b))
#define E_i64_ne(a, b) ((a) != (b))
#define E_i64_lt_s(a, b) ((int64_t)(a) < (int64_t)(b))
#define E_i64_lt_u(a, b) ((a) < (b))
#define E_i64_gt_s(a, b) ((int64_t)(a) > (int64_t)(b))
#define E_i64_gt_u(a, b) ((a) > (b))
#define E_i64_le_s(a, b) ((int64_t)(a) <= (int64_t)(b))
#define E_i64_le_u(a, b) ((a) <= (b))
#define E_i64_ge_s(a, b) ((int64_t)(a) >= (int64_t)(b))
#define E_i64_ge_u(a, b) ((a) >= (b))

/* Division: the checks are explicit (cheaper and more portable than SIGFPE). */
#define E_i32_div_s(a, b)                                                                          \
  ({                                                                                               \
    if (UNLIKELY((b) == 0))                                                                        \
      TRAP(INT_DIV_ZERO);                                                                          \
    if (UNLIKELY((a) == 0x80000000u && (b) == 0xffffffffu))                                        \
      TRAP(INT_OVERFLOW);                                                                          \
    (uint32_t)((int32_t)(a) / (int32_t)(b));                                                       \
  })
#define E_i32_div_u(a, b)                                                                          \
  ({                                                                                               \
    if (UNLIKELY((b) == 0))                                                                        \
      TRAP(INT_DIV_ZERO);                                                                          \
    (a) / (b);                                                                                     \
  })
#define E_i32_rem_s(a, b)                                                                          \
  ({                                                                                               \
    if (UNLIKELY((b) == 0))                                                                        \
      TRAP(INT_DIV_ZERO);                                                                          \
    (b) == 0xffffffffu ? 0u : (uint32_t)((int32_t)(a) % (int32_t)(b));                             \
  })
#define E_i32_rem_u(a, b)                                                                          \
  ({                                                                                               \
    if (UNLIKELY((b) == 0))                                                                        \
      TRAP(INT_DIV_ZERO);                                                                          \
    (a) % (b);                                                                                     \
  })
#define E_i64_div_s(a, b)                                                                          \
  ({                                                                                               \
    if (UNLIKELY((b) == 0))                                                                        \
      TRAP(INT_DIV_ZERO);                                                                          \
    if (UNLIKELY((a) == 0x8000000000000000ull && (b) == ~0ull))                                    \
      TRAP(INT_OVERFLOW);                                                                          \
    (uint64_t)((int64_t)(a) / (int64_t)(b));                                                       \
  })
#define E_i64_div_u(a, b)                                                                          \
  ({                                                                                               \
    if (UNLIKELY((b) == 0))                                                                        \
      TRAP(INT_DIV_ZERO);                                                                          \
    (a) / (b);                                                                                     \
  })
#define E_i64_rem_s(a, b)                                                                          \
  ({                                                                                               \
    if (UNLIKELY((b) == 0))                                                                        \
      TRAP(INT_DIV_ZERO);                                                                          \
    (b) == ~0ull ? 0ull : (uint64_t)((int64_t)(a) % (int64_t)(b));                                 \
  })
#define E_i64_rem_u(a, b)                                                                          \
  ({                                                                                               \
    if (UNLIKELY((b) == 0))                                                                        \
      TRAP(INT_DIV_ZERO);                                                                          \
    (a) % (b);                                                                                     \
  })

/* min/max: NaN in, NaN out; -0 is less than +0. */
static inline float fminf_wasm(float a, float b) {
  if (a != a || b != b)
    return a + b;
  if (a == b)
    return signbit(a) ? a : b;
  return a < b ? a : b;
}
static inline float fmaxf_wasm(float a, float b) {
  if (a != a || b != b)
    return a + b;
  if (a == b)
    return signbit(a) ? b : a;
  return a > b ? a : b;
}
static inline double fmin_wasm(double a, double b) {
  if (a != a || b != b)
    return a + b;
  if (a == b)
    return signbit(a) ? a : b;
  return a < b ? a : b;
}
static inline double fmax_wasm(double a, double b) {
  if (a != a || b != b)
    return a + b;
  if (a == b)
    return signbit(a) ? b : a;
  return a > b ? a : b;
}
/* abs, neg and copysign act on the sign bit only, so NaN payloads pass unchanged. */
static inline float f32_bitop(float a, uint32_t mask, uint32_t set) {
  union {
    float f;
    uint32_t u;
  } x = {a};
  x.u = (x.u & mask) | set;
  return x.f;
}
static inline double f64_bitop(double a, uint64_t mask, uint64_t set) {
  union {
    double f;
    uint64_t u;
  } x = {a};
  x.u = (x.u & mask) | set;
  return x.f;
}
static inline float f32_copysign(float a, float b) {
  return f32_bitop(a, 0x7fffffffu, (uint32_t)f32_slot(b) & 0x80000000u);
}
static inline double f64_copysign(double a, double b) {
  return f64_bitop(a, 0x7fffffffffffffffull, f64_slot(b) & 0x8000000000000000ull);
}

#define E_f32_eq(a, b) ((a) == (b))
#define E_f32_ne(a, b) ((a) != (b))
#define E_f32_lt(a, b) ((a) < (b))
#define E_f32_gt(a, b) ((a) > (b))
#define E_f32_le(a, b) ((a) <= (b))
#define E_f32_ge(a, b) ((a) >= (b))
#define E_f64_eq(a, b) ((a) == (b))
#define E_f64_ne(a, b) ((a) != (b))
#define E_f64_lt(a, b) ((a) < (b))
#define E_f64_gt(a, b) ((a) > (b))
#define E_f64_le(a, b) ((a) <= (b))
#define E_f64_ge(a, b) ((a) >= (b))
#define E_f32_add(a, b) ((a) + (b))
#define E_f32_sub(a, b) ((a) - (b))
#define E_f32_mul(a, b) ((a) * (b))
#define E_f32_div(a, b) ((a) / (b))
#define E_f32_min(a, b) fminf_wasm(a, b)
#define E_f32_max(a, b) fmaxf_wasm(a, b)
#define E_f32_copysign(a, b) f32_copysign(a, b)
#define E_f64_add(a, b) ((a) + (b))
#define E_f64_sub(a, b) ((a) - (b))
#define E_f64_mul(a, b) ((a) * (b))
#define E_f64_div(a, b) ((a) / (b))
#define E_f64_min(a, b) fmin_wasm(a, b)
#define E_f64_max(a, b) fmax_wasm(a, b)
#define E_f64_copysign(a, b) f64_copysign(a, b)

#define E_i32_eqz(a) ((a) == 0)
#define E_i64_eqz(a) ((a) == 0)
#define E_i32_clz(a) ((a) ? (uint32_t)__builtin_clz(a) : 32u)
#define E_i32_ctz(a) ((a) ? (uint32_t)__builtin_ctz(a) : 32u)
#define E_i32_popcnt(a) ((uint32_t)__builtin_popcount(a))
#define E_i64_clz(a) ((a) ? (uint64_t)__builtin_clzll(a) : 64u)
#define E_i64_ctz(a) ((a) ? (uint64_t)__builtin_ctzll(a) : 64u)
#define E_i64_popcnt(a) ((uint64_t)__builtin_popcountll(a))
#define E_f32_abs(a) f32_bitop(a, 0x7fffffffu, 0)
#define E_f32_neg(a) f32_bitop(a, 0x7fffffffu, 0x80000000u & ~(uint32_t)f32_slot(a))
/* Rounding functions may hand a signalling NaN back unchanged; wasm wants it quieted. */
#define QUIET(f, a) ((a) != (a) ? (a) + (a) : f(a))
#define E_f32_ceil(a) QUIET(ceilf, a)
#define E_f32_floor(a) QUIET(floorf, a)
#define E_f32_trunc(a) QUIET(truncf, a)
#define E_f32_nearest(a) QUIET(nearbyintf, a)
#define E_f32_sqrt(a) sqrtf(a)
#define E_f64_abs(a) f64_bitop(a, 0x7fffffffffffffffull, 0)
#define E_f64_neg(a) f64_bitop(a, 0x7fffffffffffffffull, 0x8000000000000000ull & ~f64_slot(a))
#define E_f64_ceil(a) QUIET(ceil, a)
#define E_f64_floor(a) QUIET(floor, a)
#define E_f64_trunc(a) QUIET(trunc, a)
#define E_f64_nearest(a) QUIET(nearbyint, a)
#define E_f64_sqrt(a) sqrt(a)

/* Trapping float->int: NaN is an invalid conversion, out of range an overflow. The
 * bounds are the exact open intervals of values that truncate into range. */
#define TRUNC(a, lo, hi, T)                                                                        \
  ({                                                                                               \
    if (UNLIKELY((a) != (a)))                                                                      \
      TRAP(INVALID_CONVERSION);                                                                    \
    if (UNLIKELY(!((a) > (lo) && (a) < (hi))))                                                     \
      TRAP(INT_OVERFLOW);                                                                          \
    (T)(a);                                                                                        \
  })
#define E_i32_trunc_f32_s(a) (uint32_t) TRUNC(a, -2147483904.0f, 2147483648.0f, int32_t)
#define E_i32_trunc_f32_u(a) TRUNC(a, -1.0f, 4294967296.0f, uint32_t)
#define E_i32_trunc_f64_s(a) (uint32_t) TRUNC(a, -2147483649.0, 2147483648.0, int32_t)
#define E_i32_trunc_f64_u(a) TRUNC(a, -1.0, 4294967296.0, uint32_t)
#define E_i64_trunc_f32_s(a)                                                                       \
  (uint64_t) TRUNC(a, -9223373136366403584.0f, 9223372036854775808.0f, int64_t)
#define E_i64_trunc_f32_u(a) TRUNC(a, -1.0f, 18446744073709551616.0f, uint64_t)
#define E_i64_trunc_f64_s(a)                                                                       \
  (uint64_t) TRUNC(a, -9223372036854777856.0, 9223372036854775808.0, int64_t)
#define E_i64_trunc_f64_u(a) TRUNC(a, -1.0, 18446744073709551616.0, uint64_t)

/* Saturating float->int. */
#define SAT(a, lo, hi, T, tmin, tmax)                                                              \
  ((a) != (a) ? (T)0 : (a) <= (lo) ? (T)(tmin) : (a) >= (hi) ? (T)(tmax) : (T)(a))
#define E_i32_trunc_sat_f32_s(a)                                                                   \
  (uint32_t) SAT(a, -2147483904.0f, 2147483648.0f, int32_t, INT32_MIN, INT32_MAX)
#define E_i32_trunc_sat_f32_u(a) SAT(a, -1.0f, 4294967296.0f, uint32_t, 0, UINT32_MAX)
#define E_i32_trunc_sat_f64_s(a)                                                                   \
  (uint32_t) SAT(a, -2147483649.0, 2147483648.0, int32_t, INT32_MIN, INT32_MAX)
#define E_i32_trunc_sat_f64_u(a) SAT(a, -1.0, 4294967296.0, uint32_t, 0, UINT32_MAX)
#define E_i64_trunc_sat_f32_s(a)                                                                   \
  (uint64_t) SAT(a, -9223373136366403584.0f, 9223372036854775808.0f, int64_t, INT64_MIN, INT64_MAX)
#define E_i64_trunc_sat_f32_u(a) SAT(a, -1.0f, 18446744073709551616.0f, uint64_t, 0, UINT64_MAX)
#define E_i64_trunc_sat_f64_s(a)                                                                   \
  (uint64_t) SAT(a, -9223372036854777856.0, 9223372036854775808.0, int64_t, INT64_MIN, INT64_MAX)
#define E_i64_trunc_sat_f64_u(a) SAT(a, -1.0, 18446744073709551616.0, uint64_t, 0, UINT64_MAX)

#define E_i64_extend_i32_s(a) ((uint64_t)(int64_t)(int32_t)(a))
#define E_i64_extend_i32_u(a) ((uint64_t)(a))
#define E_f32_convert_i32_s(a) ((float)(int32_t)(a))
#define E_f32_convert_i32_u(a) ((float)(uint32_t)(a))
#define E_f32_convert_i64_s(a) ((float)(int64_t)(a))
#define E_f32_convert_i64_u(a) ((float)(uint64_t)(a))
#define E_f32_demote_f64(a) ((float)(a))
#define E_f64_convert_i32_s(a) ((double)(int32_t)(a))
#define E_f64_convert_i32_u(a) ((double)(uint32_t)(a))
#define E_f64_convert_i64_s(a) ((double)(int64_t)(a))
#define E_f64_convert_i64_u(a) ((double)(uint64_t)(a))
#define E_f64_promote_f32(a) ((double)(a))
#define E_i32_extend8_s(a) ((uint32_t)(int32_t)(int8_t)(a))
#define E_i32_extend16_s(a) ((uint32_t)(int32_t)(int16_t)(a))
#define E_i64_extend8_s(a) ((uint64_t)(int64_t)(int8_t)(a))
#define E_i64_extend16_s(a) ((uint64_t)(int64_t)(int16_t)(a))
#define E_i64_extend32_s(a) ((uint64_t)(int64_t)(int32_t)(a))

/* Loads and stores. Addresses per ops.h's four modes; without ZH_BOUNDS_CHECKS the
 * guard region does the checking. */
#define ADDR(o) ((uint64_t)R_I32(O(o)) + O((o) + 1))
#define ADDR_ri(o) ((uint64_t)(uint32_t)(R_I32(O(o)) + O((o) + 1)) + O((o) + 2))
#define ADDR_rr(o) ((uint64_t)(uint32_t)(R_I32(O(o)) + R_I32(O((o) + 1))) + O((o) + 2))
#define ADDR_rs(o)                                                                                 \
  ((uint64_t)(uint32_t)(R_I32(O(o)) + (R_I32(O((o) + 1)) << (O((o) + 2) & 31))) + O((o) + 3))
#ifdef ZH_BOUNDS_CHECKS
#define EA(addr, size)                                                                             \
  ({                                                                                               \
    uint64_t ea_ = (addr);                                                                         \
    if (UNLIKELY(ea_ + (size) > mem_size))                                                         \
      TRAP(MEMORY_OOB);                                                                            \
    mem + ea_;                                                                                     \
  })
#else
#define EA(addr, size) (mem + (addr))
#endif

#define LD_l32(p) ((uint64_t) * (const u32u *)(p))
#define LD_l64(p) (*(const u64u *)(p))
#define LD_l8s32(p) ((uint64_t)(uint32_t)(int32_t) * (const int8_t *)(p))
#define LD_l8u(p) ((uint64_t) * (const uint8_t *)(p))
#define LD_l16s32(p) ((uint64_t)(uint32_t)(int32_t)(int16_t) * (const u16u *)(p))
#define LD_l16u(p) ((uint64_t) * (const u16u *)(p))
#define LD_l8s64(p) ((uint64_t)(int64_t) * (const int8_t *)(p))
#define LD_l16s64(p) ((uint64_t)(int64_t)(int16_t) * (const u16u *)(p))
#define LD_l32s64(p) ((uint64_t)(int64_t)(int32_t) * (const u32u *)(p))
#define ST_s8(p, v) (*(uint8_t *)(p) = (uint8_t)(v))
#define ST_s16(p, v) (*(u16u *)(p) = (uint16_t)(v))
#define ST_s32(p, v) (*(u32u *)(p) = (uint32_t)(v))
#define ST_s64(p, v) (*(u64u *)(p) = (uint64_t)(v))

/* ---- slow paths kept out of the dispatch loop ---- */

static zh_error *call_host(zh_store *s, zh_instance *caller_inst, const zh_func *f,
                           uint64_t *args) {
  zh_value argv[16], resv[16];
  zh_value *a = argv, *r = resv;
  if (f->nparams > 16 || f->nresults > 16) {
    a = malloc(sizeof(zh_value) * (f->nparams + 1));
    r = malloc(sizeof(zh_value) * (f->nresults + 1));
    if (!a || !r) {
      free(a == argv ? NULL : a);
      free(r == resv ? NULL : r);
      return zh_error_new(ZH_ERR_RESOURCE, "out of memory calling a host function");
    }
  }
  zh_slots_to_values(f->types, f->nparams, args, a);
  for (uint32_t i = 0; i < f->nresults; i++)
    r[i] = zh_slot_to_value(f->types[f->nparams + i], 0);
  zh_caller caller = {s, caller_inst};
  zh_trap_scope *scope = zh_trap_current();
  if (scope)
    scope->in_host = 1;
  zh_error *err = f->host(&caller, f->env, a, r);
  if (scope)
    scope->in_host = 0;
  if (!err) {
    for (uint32_t i = 0; i < f->nresults; i++) /* the declared types decide the slot layout */
      r[i].type = (zh_valtype)f->types[f->nparams + i];
    zh_values_to_slots(r, f->nresults, args);
  }
  if (a != argv)
    free(a);
  if (r != resv)
    free(r);
  return err;
}

/* memory.size, memory.grow, memory.fill, memory.copy and memory.init on memories other than
 * memory 0 (compile.c emits the memory-0 instructions otherwise). Operands: what (ZH_MEMX_*),
 * three slots (size: dst; grow: dst, delta; the others: the three operands in the order the
 * instruction pops them), the memory, and the source memory (copy) or the data segment
 * (init). Out of the dispatch loop, so that the loop's code and registers stay what they
 * are for memory 0. Returns false on an out-of-bounds range, having changed nothing. */
static __attribute__((noinline)) bool memory_x(const zh_instance *inst, uint64_t *fp,
                                               const uint8_t *pc) {
  uint64_t d = R_I32(O(1)), sa = R_I32(O(2)), n = R_I32(O(3));
  zh_memory *mem = inst->memories[O(4)];
  switch (O(0)) {
  case ZH_MEMX_SIZE:
    fp[O(1)] = (uint32_t)(mem->size / ZH_PAGE_SIZE);
    return true;
  case ZH_MEMX_GROW:
    fp[O(1)] = (uint32_t)(int32_t)zh_mem_grow(mem, (uint32_t)sa);
    return true;
  case ZH_MEMX_FILL:
    if (d + n > mem->size)
      return false;
    memset(mem->base + d, (int)(uint8_t)sa, n);
    return true;
  case ZH_MEMX_COPY: {
    const zh_memory *src = inst->memories[O(5)];
    if (d + n > mem->size || sa + n > src->size)
      return false;
    memmove(mem->base + d, src->base + sa, n); /* the two may be one memory */
    return true;
  }
  default: { /* ZH_MEMX_INIT */
    uint32_t seg = O(5);
    if (sa + n > inst->data_len[seg] || d + n > mem->size)
      return false;
    if (n)
      memcpy(mem->base + d, inst->module->datas[seg].bytes + sa, n);
    return true;
  }
  }
}

/* "<trap text>" plus a backtrace of the wasm frames, innermost first. */
static zh_error *trap_error(zh_trap_code code, const zh_frame *frames, uint32_t base_depth,
                            uint32_t depth, const zh_instance *inst) {
  char buf[4096]; /* 12 frames with long (mangled) names and instance names */
  size_t n = 0;
  buf[0] = 0;
  const zh_instance *fi = inst;
  for (uint32_t d = depth + 1, shown = 0; d-- > base_depth && shown < 12; shown++) {
    const zh_code *c = frames[d].code;
    const zh_module *m = fi ? fi->module : NULL;
    const char *fname = (m && m->func_names && c) ? m->func_names[c->func_index] : NULL;
    const char *iname = fi ? fi->name : NULL;
    int w = snprintf(buf + n, sizeof buf - n, "\n    #%u wasm function %u%s%s%s%s%s%s", shown,
                     c ? c->func_index : 0, fname ? " '" : "", fname ? fname : "", fname ? "'" : "",
                     iname ? " in core instance '" : "", iname ? iname : "", iname ? "'" : "");
    if (w < 0 || (size_t)w >= sizeof buf - n)
      break;
    n += (size_t)w;
    fi = frames[d].inst; /* caller's instance */
  }
  return zh_error_trap_new(code, "wasm backtrace:%s", buf);
}

/* ---- the interpreter ---- */

/* Never inlined or cloned: the handler table holds label addresses of this one body. */
#if defined(__clang__)
#define ZH_ONE_BODY __attribute__((noinline))
#else
#define ZH_ONE_BODY __attribute__((noinline, noclone))
#endif
static zh_error *run(zh_store *s, const zh_code *entry, zh_instance *entry_inst, uint64_t *fp,
                     const void *const **handlers_out) ZH_ONE_BODY;

static zh_error *run(zh_store *s, const zh_code *entry, zh_instance *entry_inst, uint64_t *fp,
                     const void *const **handlers_out) {
  static const void *const handlers[ZH_OP_COUNT] = {
#define H_RR_RI(name, ...) &&L_##name##_rr, &&L_##name##_ri,
#define H_CMP(name, ...) &&L_##name##_rr, &&L_##name##_ri, &&L_br_##name##_rr, &&L_br_##name##_ri,
#define H_ONE(name, ...) &&L_##name,
#define H_MEM(name, ...) &&L_##name, &&L_##name##_ri, &&L_##name##_rr, &&L_##name##_rs,
#define H_LOOP(name) &&L_br_inc_##name,
#define H_LOOP2(name) &&L_br_inc2_##name,
#define H_SIMD(code, id, ...) &&L_v_##id,
#define H_VI(id) &&L_vi_##id,
#define H_VM(id) &&L_vm_##id,
      ZH_INT_BINOPS(H_RR_RI) ZH_INT_CMPS(H_CMP) ZH_OTHER_BINOPS(H_ONE) ZH_UNOPS(H_ONE)
          ZH_LOADS(H_MEM) ZH_STORES(H_MEM) ZH_MISC_OPS(H_ONE) ZH_LOOP_CMPS(H_LOOP)
              ZH_LOOP_CMPS(H_LOOP2) ZH_V128_OPS(H_ONE) ZH_OPCODES_FD(H_SIMD) ZH_V128_SHIFTS(H_VI)
                  ZH_V128_MEM_BINOPS(H_VM)
#undef H_SIMD
#undef H_VI
#undef H_VM
#undef H_MEM
#undef H_LOOP
#undef H_LOOP2
#undef H_RR_RI
#undef H_CMP
#undef H_ONE
  };
  if (handlers_out) {
    *handlers_out = handlers;
    return NULL;
  }

  zh_frame *const frames = s->frames;
  const uint32_t base_depth = s->depth;
  const uint32_t max_depth = s->max_depth;
  uint64_t *const stack_end = s->stack_end;
  uint32_t depth = base_depth;
  zh_instance *inst = entry_inst;
  uint8_t *mem = inst->memory ? inst->memory->base : NULL;
#ifdef ZH_BOUNDS_CHECKS
  uint64_t mem_size = inst->memory ? inst->memory->size : 0;
#define RELOAD_MEM()                                                                               \
  do {                                                                                             \
    mem = inst->memory ? inst->memory->base : NULL;                                                \
    mem_size = inst->memory ? inst->memory->size : 0;                                              \
  } while (0)
#else
#define RELOAD_MEM() (mem = inst->memory ? inst->memory->base : NULL)
#endif
  zh_trap_code trap = ZH_TRAP_NONE;
  zh_error *err = NULL;
  const uint8_t *pc;

  frames[depth].ret_pc = NULL;
  frames[depth].fp = NULL;
  frames[depth].inst = NULL;
  frames[depth].code = entry;
  s->cur_depth = depth;
  for (uint32_t i = entry->nparams; i < entry->nlocals; i++)
    fp[i] = 0;
  pc = atomic_load_explicit(&entry->ops, memory_order_acquire);
  DISPATCH();

  /* ---- integer binary ops: dst, a, b | dst, a, imm ---- */
#define DEF_INT_BINOP(name, opc, comm, T)                                                          \
  L_##name##_rr : W_##T(O(0), E_##name(R_##T(O(1)), R_##T(O(2))));                                 \
  NEXT(20);                                                                                        \
  L_##name##_ri : W_##T(O(0), E_##name(R_##T(O(1)), IMM_##T(O(2))));                               \
  NEXT(20);
  ZH_INT_BINOPS(DEF_INT_BINOP)

  /* ---- comparisons, and compare-and-branch: a, b, offset | a, imm, offset ---- */
#define DEF_CMP(name, opc, swapped, negated, T)                                                    \
  L_##name##_rr : W_I32(O(0), E_##name(R_##T(O(1)), R_##T(O(2))));                                 \
  NEXT(20);                                                                                        \
  L_##name##_ri : W_I32(O(0), E_##name(R_##T(O(1)), IMM_##T(O(2))));                               \
  NEXT(20);                                                                                        \
  L_br_##name##_rr : if (E_##name(R_##T(O(0)), R_##T(O(1)))) BRANCH(OS(2));                        \
  NEXT(20);                                                                                        \
  L_br_##name##_ri : if (E_##name(R_##T(O(0)), IMM_##T(O(1)))) BRANCH(OS(2));                      \
  NEXT(20);
  ZH_INT_CMPS(DEF_CMP)

  /* ---- loop control: dst, src, k, imm, offset ---- */
#define DEF_LOOP(name)                                                                             \
  L_br_inc_##name : {                                                                              \
    uint32_t v = R_I32(O(1)) + O(2);                                                               \
    W_I32(O(0), v);                                                                                \
    if (E_##name(v, O(3)))                                                                         \
      BRANCH(OS(4));                                                                               \
    NEXT(28);                                                                                      \
  }
  ZH_LOOP_CMPS(DEF_LOOP)
#define DEF_LOOP2(name)                                                                            \
  L_br_inc2_##name : {                                                                             \
    W_I32(O(0), R_I32(O(1)) + O(2));                                                               \
    uint32_t v = R_I32(O(4)) + O(5);                                                               \
    W_I32(O(3), v);                                                                                \
    if (E_##name(v, O(6)))                                                                         \
      BRANCH(OS(7));                                                                               \
    NEXT(40);                                                                                      \
  }
  ZH_LOOP_CMPS(DEF_LOOP2)

  /* ---- other binary ops: dst, a, b ---- */
#define DEF_BINOP(name, opc, IN, OUT)                                                              \
  L_##name : W_##OUT(O(0), E_##name(R_##IN(O(1)), R_##IN(O(2))));                                  \
  NEXT(20);
  ZH_OTHER_BINOPS(DEF_BINOP)

  /* ---- unary ops: dst, src ---- */
#define DEF_UNOP(name, opc, IN, OUT)                                                               \
  L_##name : W_##OUT(O(0), E_##name(R_##IN(O(1))));                                                \
  NEXT(16);
  ZH_UNOPS(DEF_UNOP)

  /* ---- memory: dst or value, then the address fields of the mode ---- */
  /* The analyzer sees `mem` NULL for instances without memory; validation admits memory
   * instructions only in modules that have one. */
  // NOLINTBEGIN(clang-analyzer-core.NullDereference)
#define DEF_LOAD(name, size)                                                                       \
  L_##name : fp[O(0)] = LD_##name(EA(ADDR(1), size));                                              \
  NEXT(20);                                                                                        \
  L_##name##_ri : fp[O(0)] = LD_##name(EA(ADDR_ri(1), size));                                      \
  NEXT(24);                                                                                        \
  L_##name##_rr : fp[O(0)] = LD_##name(EA(ADDR_rr(1), size));                                      \
  NEXT(24);                                                                                        \
  L_##name##_rs : fp[O(0)] = LD_##name(EA(ADDR_rs(1), size));                                      \
  NEXT(28);
  ZH_LOADS(DEF_LOAD)
#define DEF_STORE(name, size)                                                                      \
  L_##name : ST_##name(EA(ADDR(1), size), fp[O(0)]);                                               \
  NEXT(20);                                                                                        \
  L_##name##_ri : ST_##name(EA(ADDR_ri(1), size), fp[O(0)]);                                       \
  NEXT(24);                                                                                        \
  L_##name##_rr : ST_##name(EA(ADDR_rr(1), size), fp[O(0)]);                                       \
  NEXT(24);                                                                                        \
  L_##name##_rs : ST_##name(EA(ADDR_rs(1), size), fp[O(0)]);                                       \
  NEXT(28);
  ZH_STORES(DEF_STORE)
  /* A 32-bit access at a constant address (`i32.const A; i32.load offset=O`): a C program's
   * globals in linear memory, such as dlmalloc's state. dst or value, then A + O (the
   * compiler fuses only when that fits 32 bits). */
L_l32_k:
  fp[O(0)] = LD_l32(EA((uint64_t)O(1), 4));
  NEXT(16);
L_s32_k:
  ST_s32(EA((uint64_t)O(1), 4), fp[O(0)]);
  NEXT(16);

  /* ---- fused forms found by profiling (ZH_OP_STATS) ---- */
L_copy2: /* dst1, src1, dst2, src2: two copies, in order */
  fp[O(0)] = fp[O(1)];
  fp[O(2)] = fp[O(3)];
  NEXT(24);
L_i32_add_shl: /* dst, a, b, k: a + (b << k), array indexing */
  W_I32(O(0), R_I32(O(1)) + (R_I32(O(2)) << (O(3) & 31)));
  NEXT(24);
L_i32_xor_rotl: /* dst, a, b, k: a ^ rotl(b, k), hash rounds */
  W_I32(O(0), R_I32(O(1)) ^ rotl32(R_I32(O(2)), O(3)));
  NEXT(24);
L_i32_add3: /* dst, a, b, c: a + b + c */
  W_I32(O(0), R_I32(O(1)) + R_I32(O(2)) + R_I32(O(3)));
  NEXT(24);
L_i32_add_gset: /* dst, a, k, global: dst = a + k, and the global set to it (a C function's
                 * stack pointer at entry and exit) */
  W_I32(O(0), R_I32(O(1)) + O(2));
  inst->globals[O(3)]->value[0] = fp[O(0)];
  NEXT(24);
  /* libc's word-at-a-time string loops (strlen, memchr...) test four bytes at once for a
   * zero: ZBYTES(x) has the high bit of each zero byte of x set (and possibly of a 0x01 byte
   * above a zero one, which is why libc only asks whether it is zero). */
#define ZBYTES(x) (((x)-0x01010101u) & ~(x)&0x80808080u)
L_i32_andn_add: /* dst, x, k: ~x & (x + k), the test's first half */
  W_I32(O(0), ~R_I32(O(1)) & (R_I32(O(1)) + O(2)));
  NEXT(20);
L_i32_zbytes: /* dst, x */
  W_I32(O(0), ZBYTES(R_I32(O(1))));
  NEXT(16);
L_br_zbyte: /* x, offset: branch when x has a zero byte */
  if (ZBYTES(R_I32(O(0))))
    BRANCH(OS(1));
  NEXT(16);
L_br_nozbyte: /* x, offset: branch when it has none */
  if (!ZBYTES(R_I32(O(0))))
    BRANCH(OS(1));
  NEXT(16);
  /* The word load that feeds the test, and memchr's xor with the byte pattern: dst, addr,
   * offset, [pattern slot,] branch offset; dst gets the (xored) word. */
L_l32_br_zbyte : {
  uint32_t v = (uint32_t)LD_l32(EA(ADDR(1), 4));
  W_I32(O(0), v);
  if (ZBYTES(v))
    BRANCH(OS(3));
  NEXT(24);
}
L_l32_br_nozbyte : {
  uint32_t v = (uint32_t)LD_l32(EA(ADDR(1), 4));
  W_I32(O(0), v);
  if (!ZBYTES(v))
    BRANCH(OS(3));
  NEXT(24);
}
L_l32x_br_zbyte : {
  uint32_t v = (uint32_t)LD_l32(EA(ADDR(1), 4)) ^ R_I32(O(3));
  W_I32(O(0), v);
  if (ZBYTES(v))
    BRANCH(OS(4));
  NEXT(28);
}
L_l32x_br_nozbyte : {
  uint32_t v = (uint32_t)LD_l32(EA(ADDR(1), 4)) ^ R_I32(O(3));
  W_I32(O(0), v);
  if (!ZBYTES(v))
    BRANCH(OS(4));
  NEXT(28);
}
#undef ZBYTES
  /* Two byte loads compared for (in)equality, memcmp's and strcmp's loop head: d1, a1, off1,
   * d2, a2, off2, branch offset. In order, as the two loads and the compare were. */
L_br_l8u2_eq : {
  fp[O(0)] = LD_l8u(EA(ADDR(1), 1));
  fp[O(3)] = LD_l8u(EA(ADDR(4), 1));
  if (fp[O(0)] == fp[O(3)])
    BRANCH(OS(6));
  NEXT(36);
}
L_br_l8u2_ne : {
  fp[O(0)] = LD_l8u(EA(ADDR(1), 1));
  fp[O(3)] = LD_l8u(EA(ADDR(4), 1));
  if (fp[O(0)] != fp[O(3)])
    BRANCH(OS(6));
  NEXT(36);
}
L_br_and_z: /* x, imm, offset: branch when x & imm is zero (flag and alignment tests) */
  if (!(R_I32(O(0)) & O(1)))
    BRANCH(OS(2));
  NEXT(20);
L_br_and_nz:
  if (R_I32(O(0)) & O(1))
    BRANCH(OS(2));
  NEXT(20);
  /* f64 arithmetic with one operand loaded from memory: dst, a, addr, offset */
#define LD_F64(o) slot_f64(&(uint64_t){*(const u64u *)EA(ADDR(o), 8)})
L_f64_add_m:
  W_F64(O(0), R_F64(O(1)) + LD_F64(2));
  NEXT(24);
L_f64_sub_m:
  W_F64(O(0), R_F64(O(1)) - LD_F64(2));
  NEXT(24);
L_f64_rsub_m:
  W_F64(O(0), LD_F64(2) - R_F64(O(1)));
  NEXT(24);
L_f64_mul_m:
  W_F64(O(0), R_F64(O(1)) * LD_F64(2));
  NEXT(24);
L_f64_addto_m : { /* src, addr, offset: memory += src, the `c[i] += x` of loop nests */
  uint8_t *p = EA(ADDR(1), 8);
  *(u64u *)p = f64_slot(slot_f64(&(uint64_t){*(const u64u *)p}) + R_F64(O(0)));
  NEXT(20);
}
  // NOLINTEND(clang-analyzer-core.NullDereference)

  /* ---- moves and constants ---- */
L_copy: /* dst, src */
  fp[O(0)] = fp[O(1)];
  NEXT(16);
L_const32: /* dst, imm32 */
  fp[O(0)] = O(1);
  NEXT(16);
L_const64: /* dst, imm64 */
  fp[O(0)] = AT64(12);
  NEXT(20);
L_select: /* dst, a, b, cond */
  fp[O(0)] = (uint32_t)fp[O(3)] ? fp[O(1)] : fp[O(2)];
  NEXT(24);

  /* ---- control ---- */
L_unreachable:
  TRAP(UNREACHABLE);
L_br: /* offset */
  BRANCH(OS(0));
L_br_z: /* cond, offset */
  if (!(uint32_t)fp[O(0)])
    BRANCH(OS(1));
  NEXT(16);
L_br_nz:
  if ((uint32_t)fp[O(0)])
    BRANCH(OS(1));
  NEXT(16);
L_br_i64_z:
  if (!fp[O(0)])
    BRANCH(OS(1));
  NEXT(16);
L_br_i64_nz:
  if (fp[O(0)])
    BRANCH(OS(1));
  NEXT(16);
L_br_table : { /* index slot, n, offsets[n + 1] (the last is the default) */
  uint32_t i = R_I32(O(0)), n = O(1);
  BRANCH(OS(2 + (i < n ? i : n)));
}

L_ret1: /* src: the single result moves to slot 0 */
  fp[0] = fp[O(0)];
  /* fall through */
L_ret : {
  const zh_frame *fr = &frames[depth];
  if (UNLIKELY(!fr->ret_pc))
    goto done;
  pc = fr->ret_pc;
  fp = fr->fp;
  s->cur_depth = --depth;
  if (UNLIKELY(fr->inst != inst)) {
    inst = fr->inst;
    s->cur_inst = inst;
    RELOAD_MEM();
  }
  DISPATCH();
}

L_call : { /* code pointer (8 bytes), frame base */
  const zh_code *c = ATPTR(8);
  uint64_t *nfp = fp + *(const u32u *)(pc + 16);
  CHECK_INTERRUPT();
  /* ops before frame_slots: compile.h says why. */
  const uint8_t *ops = atomic_load_explicit(&c->ops, memory_order_acquire);
  if (UNLIKELY(depth + 1 >= max_depth ||
               nfp + atomic_load_explicit(&c->frame_slots, memory_order_relaxed) > stack_end))
    goto exhausted;
  zh_frame *fr = &frames[++depth];
  s->cur_depth = depth;
  fr->ret_pc = pc + 20;
  fr->fp = fp;
  fr->inst = inst;
  fr->code = c;
  for (uint32_t i = c->nparams; i < c->nlocals; i++)
    nfp[i] = 0;
  fp = nfp;
  pc = ops;
  DISPATCH();
}

  {
    zh_func *f;
    uint64_t *nfp;
    const uint8_t *ret;
  L_call_import: /* function index, frame base */
    f = inst->funcs[O(0)];
    nfp = fp + O(1);
    ret = pc + 16;
    CHECK_INTERRUPT();
    goto call_func;
  L_call_indirect : { /* canonical type id, table, frame base, index slot */
    const zh_table *t = inst->tables[O(1)];
    uint32_t ei = R_I32(O(3));
    if (UNLIKELY(ei >= t->size))
      TRAP(UNDEFINED_ELEMENT);
    f = t->elems[ei];
    if (UNLIKELY(!f))
      TRAP(INDIRECT_NULL);
    if (UNLIKELY(f->type_id != O(0)))
      TRAP(SIGNATURE_MISMATCH);
    nfp = fp + O(2);
    ret = pc + 24;
    CHECK_INTERRUPT();
  }
  call_func:
    if (f->code) {
      const zh_code *c = f->code;
      const uint8_t *ops = atomic_load_explicit(&c->ops, memory_order_acquire);
      if (UNLIKELY(depth + 1 >= max_depth ||
                   nfp + atomic_load_explicit(&c->frame_slots, memory_order_relaxed) > stack_end))
        goto exhausted;
      zh_frame *fr = &frames[++depth];
      s->cur_depth = depth;
      fr->ret_pc = ret;
      fr->fp = fp;
      fr->inst = inst;
      fr->code = c;
      for (uint32_t i = c->nparams; i < c->nlocals; i++)
        nfp[i] = 0;
      fp = nfp;
      pc = ops;
      if (f->inst != inst) {
        inst = f->inst;
        s->cur_inst = inst;
        RELOAD_MEM();
      }
      DISPATCH();
    }
    uint32_t np = zh_slots_of(f->types, f->nparams);
    uint32_t nr = zh_slots_of(f->types + f->nparams, f->nresults);
    uint32_t span = np > nr ? np : nr;
    if (UNLIKELY(nfp + span + 1 > stack_end || depth + 1 >= max_depth))
      goto exhausted;
    s->host_sp = nfp + span;
    s->depth = depth + 1;
    err = call_host(s, inst, f, nfp);
    s->depth = base_depth;
    s->cur_inst = inst;
    s->cur_depth = depth;
    if (err)
      goto done;
    RELOAD_MEM();
    pc = ret;
    DISPATCH();
  }

  /* ---- globals ---- */
L_global_get: /* dst, index */
  fp[O(0)] = inst->globals[O(1)]->value[0];
  NEXT(16);
L_global_set: /* index, src */
  inst->globals[O(0)]->value[0] = fp[O(1)];
  NEXT(16);

  /* ---- memory management ---- */
L_memory_size: /* dst */
  fp[O(0)] = (uint32_t)(inst->memory->size / ZH_PAGE_SIZE);
  NEXT(12);
L_memory_grow : { /* dst, delta slot */
  int64_t old = zh_mem_grow(inst->memory, R_I32(O(1)));
  fp[O(0)] = (uint32_t)(int32_t)old;
  RELOAD_MEM();
  NEXT(16);
}
L_memory_copy : { /* dst slot, src slot, len slot */
  uint64_t d = R_I32(O(0)), sa = R_I32(O(1)), n = R_I32(O(2)), size = inst->memory->size;
  if (UNLIKELY(d + n > size || sa + n > size))
    TRAP(MEMORY_OOB);
  memmove(inst->memory->base + d, inst->memory->base + sa, n);
  NEXT(20);
}
L_memory_fill : { /* dst slot, value slot, len slot */
  uint64_t d = R_I32(O(0)), n = R_I32(O(2));
  if (UNLIKELY(d + n > inst->memory->size))
    TRAP(MEMORY_OOB);
  memset(inst->memory->base + d, (int)(uint8_t)fp[O(1)], n);
  NEXT(20);
}
L_memory_init : { /* segment, dst slot, src slot, len slot */
  uint32_t seg = O(0);
  uint64_t d = R_I32(O(1)), sa = R_I32(O(2)), n = R_I32(O(3));
  if (UNLIKELY(sa + n > inst->data_len[seg] || d + n > inst->memory->size))
    TRAP(MEMORY_OOB);
  if (n)
    memcpy(inst->memory->base + d, inst->module->datas[seg].bytes + sa, n);
  NEXT(24);
}
L_data_drop: /* segment */
  inst->data_len[O(0)] = 0;
  NEXT(12);

  /* ---- tables and references ---- */
L_table_get : { /* dst, table, index slot */
  const zh_table *t = inst->tables[O(1)];
  uint32_t i = R_I32(O(2));
  if (UNLIKELY(i >= t->size))
    TRAP(TABLE_OOB);
  fp[O(0)] = (uintptr_t)t->elems[i];
  NEXT(20);
}
L_table_set : { /* table, index slot, value slot */
  zh_table *t = inst->tables[O(0)];
  uint32_t i = R_I32(O(1));
  if (UNLIKELY(i >= t->size))
    TRAP(TABLE_OOB);
  t->elems[i] = (void *)(uintptr_t)fp[O(2)];
  NEXT(20);
}
L_table_size: /* dst, table */
  fp[O(0)] = inst->tables[O(1)]->size;
  NEXT(16);
L_table_grow : { /* dst, table, init slot, delta slot */
  int64_t old = zh_table_grow(inst->tables[O(1)], R_I32(O(3)), (void *)(uintptr_t)fp[O(2)]);
  fp[O(0)] = (uint32_t)(int32_t)old;
  NEXT(24);
}
L_table_fill : { /* table, index slot, value slot, len slot */
  zh_table *t = inst->tables[O(0)];
  uint64_t i = R_I32(O(1)), n = R_I32(O(3));
  if (UNLIKELY(i + n > t->size))
    TRAP(TABLE_OOB);
  void *v = (void *)(uintptr_t)fp[O(2)];
  for (uint64_t k = 0; k < n; k++)
    t->elems[i + k] = v;
  NEXT(24);
}
L_table_copy : { /* dst table, src table, dst slot, src slot, len slot */
  zh_table *dt = inst->tables[O(0)];
  const zh_table *st = inst->tables[O(1)];
  uint64_t d = R_I32(O(2)), sa = R_I32(O(3)), n = R_I32(O(4));
  if (UNLIKELY(d + n > dt->size || sa + n > st->size))
    TRAP(TABLE_OOB);
  memmove(dt->elems + d, st->elems + sa, n * sizeof(void *));
  NEXT(28);
}
L_table_init : { /* table, segment, dst slot, src slot, len slot */
  zh_table *t = inst->tables[O(0)];
  uint32_t seg = O(1);
  uint64_t d = R_I32(O(2)), sa = R_I32(O(3)), n = R_I32(O(4));
  if (UNLIKELY(sa + n > inst->elem_len[seg] || d + n > t->size))
    TRAP(TABLE_OOB);
  if (n)
    memcpy(t->elems + d, inst->elem_items[seg] + sa, n * sizeof(void *));
  NEXT(28);
}
L_elem_drop: /* segment */
  inst->elem_len[O(0)] = 0;
  NEXT(12);
L_ref_is_null: /* dst, src */
  fp[O(0)] = fp[O(1)] == 0;
  NEXT(16);
L_ref_func: /* dst, function index */
  fp[O(0)] = (uintptr_t)inst->funcs[O(1)];
  NEXT(16);

  /* ---- memories other than memory 0 (multi-memory) ----
   * A load or store of memory k is the memory-0 instruction between mem_select k, which
   * points `mem` at memory k, and mem_restore, which points it back: the memory-0 handlers
   * stay as they are. Nothing in between calls out or grows a memory. The other memory
   * instructions on memories other than 0 are memory_x. */
L_mem_select : { /* memory */
  const zh_memory *mk = inst->memories[O(0)];
  mem = mk->base;
#ifdef ZH_BOUNDS_CHECKS
  mem_size = mk->size;
#endif
  NEXT(12);
}
L_mem_restore:
  RELOAD_MEM();
  NEXT(8);
L_memory_x: /* what, three slots, memory, source memory or segment: see memory_x */
  if (UNLIKELY(!memory_x(inst, fp, pc)))
    TRAP(MEMORY_OOB);
  RELOAD_MEM(); /* a grown memory k may be memory 0, imported twice */
  NEXT(32);
  /* ---- v128: two slots each, named by the first ---- */
L_global_get_v: /* dst, index */
  W_V(O(0), zh_v_get(inst->globals[O(1)]->value));
  NEXT(16);
L_global_set_v: /* index, src */
  zh_v_put(inst->globals[O(0)]->value, R_V(O(1)));
  NEXT(16);
L_select_v: /* dst, a, b, cond */
  W_V(O(0), (uint32_t)fp[O(3)] ? R_V(O(1)) : R_V(O(2)));
  NEXT(24);
  // NOLINTBEGIN(clang-analyzer-core.NullDereference)
  /* v128.load and v128.store in the three addressing modes beyond the plain one (ops.h):
   * dst or value, then the mode's address fields. */
L_v128_load_ri:
  W_V(O(0), zh_v_get(EA(ADDR_ri(1), 16)));
  NEXT(24);
L_v128_load_rr:
  W_V(O(0), zh_v_get(EA(ADDR_rr(1), 16)));
  NEXT(24);
L_v128_load_rs:
  W_V(O(0), zh_v_get(EA(ADDR_rs(1), 16)));
  NEXT(28);
L_v128_store_ri:
  zh_v_put(EA(ADDR_ri(1), 16), R_V(O(0)));
  NEXT(24);
L_v128_store_rr:
  zh_v_put(EA(ADDR_rr(1), 16), R_V(O(0)));
  NEXT(24);
L_v128_store_rs:
  zh_v_put(EA(ADDR_rs(1), 16), R_V(O(0)));
  NEXT(28);
  /* Binary ops with the second operand in memory: dst, a, addr, offset. */
#define DEF_VM(id)                                                                                 \
  L_vm_##id : W_V(O(0), zh_v_##id(R_V(O(1)), zh_v_get(EA(ADDR(2), 16))));                          \
  NEXT(24);
  ZH_V128_MEM_BINOPS(DEF_VM)
  // NOLINTEND(clang-analyzer-core.NullDereference)
  /* Shifts by a constant count: dst, a, count. */
#define DEF_VI(id)                                                                                 \
  L_vi_##id : W_V(O(0), zh_v_##id(R_V(O(1)), O(2)));                                               \
  NEXT(20);
  ZH_V128_SHIFTS(DEF_VI)
L_f32x4_muladd: /* dst, a, b, c: a * b + c, rounded after each operation as wasm does */
  W_V(O(0), zh_v_f32x4_add(zh_v_f32x4_mul(R_V(O(1)), R_V(O(2))), R_V(O(3))));
  NEXT(24);
L_f64x2_muladd:
  W_V(O(0), zh_v_f64x2_add(zh_v_f64x2_mul(R_V(O(1)), R_V(O(2))), R_V(O(3))));
  NEXT(24);
  /* The SIMD instructions, by shape (opcodes_simd.h); semantics in simd.h. */
#define SZ_IMM_MEMARG_1 1
#define SZ_IMM_MEMARG_2 2
#define SZ_IMM_MEMARG_4 4
#define SZ_IMM_MEMARG_8 8
#define SZ_IMM_MEMARG_16 16
#define SZ_IMM_MEMLANE_1 1
#define SZ_IMM_MEMLANE_2 2
#define SZ_IMM_MEMLANE_4 4
#define SZ_IMM_MEMLANE_8 8
#define SH_UN(id, imm) /* dst, a */                                                                \
  W_V(O(0), zh_v_##id(R_V(O(1))));                                                                 \
  NEXT(16);
#define SH_BIN(id, imm) /* dst, a, b */                                                            \
  W_V(O(0), zh_v_##id(R_V(O(1)), R_V(O(2))));                                                      \
  NEXT(20);
#define SH_TERN(id, imm) /* dst, a, b, c */                                                        \
  W_V(O(0), zh_v_##id(R_V(O(1)), R_V(O(2)), R_V(O(3))));                                           \
  NEXT(24);
#define SH_TEST(id, imm) /* dst, a */                                                              \
  W_I32(O(0), zh_v_##id(R_V(O(1))));                                                               \
  NEXT(16);
#define SH_SPLAT(id, imm) /* dst, scalar */                                                        \
  W_V(O(0), zh_v_##id(fp[O(1)]));                                                                  \
  NEXT(16);
#define SH_SHIFT(id, imm) /* dst, a, count */                                                      \
  W_V(O(0), zh_v_##id(R_V(O(1)), R_I32(O(2))));                                                    \
  NEXT(20);
#define SH_EXTRACT(id, imm) /* dst, a, lane */                                                     \
  fp[O(0)] = zh_v_##id(R_V(O(1)), O(2));                                                           \
  NEXT(20);
#define SH_REPLACE(id, imm) /* dst, a, scalar, lane */                                             \
  W_V(O(0), zh_v_##id(R_V(O(1)), fp[O(2)], O(3)));                                                 \
  NEXT(24);
#define SH_SHUFFLE(id, imm) /* dst, a, b, 16 lane bytes */                                         \
  W_V(O(0), zh_v_##id(R_V(O(1)), R_V(O(2)), pc + 20));                                             \
  NEXT(36);
#define SH_CONST(id, imm) /* dst, 16 bytes */                                                      \
  W_V(O(0), zh_v_##id(pc + 12));                                                                   \
  NEXT(28);
#define SH_LOAD(id, imm) /* dst, addr, offset */                                                   \
  W_V(O(0), zh_v_##id(EA(ADDR(1), SZ_##imm)));                                                     \
  NEXT(20);
#define SH_LOADLANE(id, imm) /* dst, v, addr, offset, lane */                                      \
  W_V(O(0), zh_v_##id(R_V(O(1)), EA(ADDR(2), SZ_##imm), O(4)));                                    \
  NEXT(28);
#define SH_STORE(id, imm) /* v, addr, offset */                                                    \
  zh_v_##id(EA(ADDR(1), SZ_##imm), R_V(O(0)));                                                     \
  NEXT(20);
#define SH_STORELANE(id, imm) /* v, addr, offset, lane */                                          \
  zh_v_##id(EA(ADDR(1), SZ_##imm), R_V(O(0)), O(3));                                               \
  NEXT(24);
#define DEF_SIMD(code, id, text, imm, sig, shape) L_v_##id : SH_##shape(id, imm)
  // NOLINTBEGIN(clang-analyzer-core.NullDereference)
  ZH_OPCODES_FD(DEF_SIMD)
  // NOLINTEND(clang-analyzer-core.NullDereference)

L_lazy : { /* a body's first call, through its stub: compile it, then enter it */
  /* The frame was pushed for the stub's frame size: check the real one. The code object
   * is the module's, shared; only its compiled form is written, under its lock. */
  zh_code *c = (zh_code *)frames[depth].code;
  const uint8_t *ops = zh_code_compile(c, &err);
  if (UNLIKELY(!ops))
    goto done;
  if (UNLIKELY(fp + atomic_load_explicit(&c->frame_slots, memory_order_relaxed) > stack_end))
    goto exhausted;
  pc = ops;
  DISPATCH();
}

exhausted:
  trap = ZH_TRAP_STACK_OVERFLOW;
  goto trapped;
#ifndef ZH_NO_INTERRUPT_CHECKS
interrupted:
  trap = ZH_TRAP_INTERRUPTED;
  goto trapped;
#endif
trapped:
  err = trap_error(trap, frames, base_depth, depth, inst);
done:
  return err;
#undef RELOAD_MEM
}

const void *const *zh_interp_handlers(void) {
  const void *const *h = NULL;
  run(NULL, NULL, NULL, NULL, &h);
  return h;
}

#ifdef ZH_OP_STATS
static const char *const op_names[ZH_OP_COUNT] = {
#define N_RR_RI(name, ...) #name "_rr", #name "_ri",
#define N_CMP(name, ...) #name "_rr", #name "_ri", "br_" #name "_rr", "br_" #name "_ri",
#define N_ONE(name, ...) #name,
#define N_MEM(name, ...) #name, #name "_ri", #name "_rr", #name "_rs",
#define N_LOOP(name) "br_inc_" #name,
#define N_LOOP2(name) "br_inc2_" #name,
#define N_SIMD(code, id, text, ...) text,
#define N_VI(id) #id "_imm",
#define N_VM(id) #id "_m",
    ZH_INT_BINOPS(N_RR_RI) ZH_INT_CMPS(N_CMP) ZH_OTHER_BINOPS(N_ONE) ZH_UNOPS(N_ONE) ZH_LOADS(N_MEM)
        ZH_STORES(N_MEM) ZH_MISC_OPS(N_ONE) ZH_LOOP_CMPS(N_LOOP) ZH_LOOP_CMPS(N_LOOP2)
            ZH_V128_OPS(N_ONE) ZH_OPCODES_FD(N_SIMD) ZH_V128_SHIFTS(N_VI) ZH_V128_MEM_BINOPS(N_VM)};
static uint64_t op_counts[ZH_OP_COUNT], pair_counts[ZH_OP_COUNT][ZH_OP_COUNT];
static int op_prev = -1;

static void op_stats_dump(void) {
  uint64_t total = 0;
  for (int i = 0; i < ZH_OP_COUNT; i++)
    total += op_counts[i];
  fprintf(stderr, "op stats: %llu dispatches\n", (unsigned long long)total);
  for (int k = 0; k < 25; k++) {
    int best = 0;
    for (int i = 1; i < ZH_OP_COUNT; i++)
      if (op_counts[i] > op_counts[best])
        best = i;
    if (!op_counts[best])
      break;
    fprintf(stderr, "  %5.1f%% %s\n", 100.0 * (double)op_counts[best] / (double)total,
            op_names[best]);
    op_counts[best] = 0;
  }
  fprintf(stderr, "op pairs:\n");
  for (int k = 0; k < 25; k++) {
    int bi = 0, bj = 0;
    for (int i = 0; i < ZH_OP_COUNT; i++)
      for (int j = 0; j < ZH_OP_COUNT; j++)
        if (pair_counts[i][j] > pair_counts[bi][bj])
          bi = i, bj = j;
    if (!pair_counts[bi][bj])
      break;
    fprintf(stderr, "  %5.1f%% %s -> %s\n", 100.0 * (double)pair_counts[bi][bj] / (double)total,
            op_names[bi], op_names[bj]);
    pair_counts[bi][bj] = 0;
  }
}

static void op_stats_hit(const void *handler) {
  const void *const *h = zh_interp_handlers();
  static bool registered;
  if (!registered) {
    registered = true;
    atexit(op_stats_dump);
  }
  for (int i = 0; i < ZH_OP_COUNT; i++)
    if (h[i] == handler) {
      op_counts[i]++;
      if (op_prev >= 0)
        pair_counts[op_prev][i]++;
      op_prev = i;
      return;
    }
}
#endif

/* ---- entry from the host ---- */

zh_error *zh_invoke(zh_store *s, zh_func *f, const uint64_t *args, uint64_t *results) {
  uint32_t np = f->no_v128 ? f->nparams : zh_slots_of(f->types, f->nparams);
  uint32_t span = f->no_v128 ? f->nresults : zh_slots_of(f->types + f->nparams, f->nresults);
  if (span < np)
    span = np;
  uint64_t *fp = s->host_depth ? s->host_sp : s->stack;
  if (!fp || fp + span + 1 > s->stack_end)
    return zh_error_trap_new(ZH_TRAP_STACK_OVERFLOW, NULL);
  for (uint32_t i = 0; i < np; i++)
    fp[i] = args[i];

  zh_error *err;
  if (!f->code) {
    s->host_sp = fp + span;
    err = call_host(s, NULL, f, fp);
  } else {
    if (s->depth + 1 >= s->max_depth)
      return zh_error_trap_new(ZH_TRAP_STACK_OVERFLOW, NULL);
    if (!zh_trap_prepare())
      return zh_error_new(ZH_ERR_RESOURCE, "cannot install the signal handlers for traps");
    zh_trap_scope scope;
    zh_instance *volatile saved_inst = s->cur_inst;
    volatile uint32_t saved_depth = s->depth;
    zh_trap_enter(&scope, s);
    s->host_depth++;
    s->cur_inst = f->inst;
    if (sigsetjmp(scope.env, 0) == 0) {
      err = run(s, f->code, f->inst, fp, NULL);
    } else {
      /* A guest access faulted in the guard region: the interpreter kept cur_depth and
       * cur_inst current, so the backtrace is still available. */
      err = trap_error(ZH_TRAP_MEMORY_OOB, s->frames, saved_depth, s->cur_depth, s->cur_inst);
    }
    zh_trap_leave(&scope);
    s->host_depth--;
    s->depth = saved_depth;
    s->cur_inst = saved_inst;
  }
  if (s->host_depth == 0)
    atomic_store_explicit(&s->interrupt, 0, memory_order_relaxed);
  if (err)
    return err;
  for (uint32_t i = 0,
                nr = f->no_v128 ? f->nresults : zh_slots_of(f->types + f->nparams, f->nresults);
       i < nr; i++)
    results[i] = fp[i];
  return NULL;
}
