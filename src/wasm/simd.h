/* The semantics of the SIMD instructions (opcodes_simd.h): one static inline function
 * zh_v_<ident> per instruction, over 128-bit values held in GCC vector types.
 *
 * Vector extensions compile to SSE on x86-64 and to plain lane loops elsewhere, so this
 * file is portable as it stands. Where the vector form would be slow or wrong (saturating
 * arithmetic, averages, 8/16-bit min/max, narrowing, bitmask, dot product), SSE2
 * intrinsics are used when the compiler targets SSE2, unless ZH_SIMD_PORTABLE is defined,
 * which keeps the generic code (a build flag, so that path is tested too).
 *
 * Lanes are numbered as in memory: lane i of an iNxM value is bytes i*N/8.. of its
 * little-endian 16 bytes. Like the rest of the engine this assumes a little-endian host.
 * Float lanes follow the spec's NaN rules: arithmetic goes through the host's IEEE
 * operations, which only ever produce quiet NaNs, and the rounding functions, min and max
 * quiet a NaN explicitly. */
#ifndef ZH_WASM_SIMD_H
#define ZH_WASM_SIMD_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__) && !defined(ZH_SIMD_PORTABLE)
#define ZH_SIMD_SSE2 1
#include <emmintrin.h>
#else
#define ZH_SIMD_SSE2 0
#endif

#define ZH_VEC(T) __attribute__((vector_size(16), may_alias)) T
typedef ZH_VEC(uint8_t) zh_u8x16;
typedef ZH_VEC(int8_t) zh_i8x16;
typedef ZH_VEC(uint16_t) zh_u16x8;
typedef ZH_VEC(int16_t) zh_i16x8;
typedef ZH_VEC(uint32_t) zh_u32x4;
typedef ZH_VEC(int32_t) zh_i32x4;
typedef ZH_VEC(uint64_t) zh_u64x2;
typedef ZH_VEC(int64_t) zh_i64x2;
typedef ZH_VEC(float) zh_f32x4;
typedef ZH_VEC(double) zh_f64x2;
#undef ZH_VEC
typedef zh_u64x2 zh_v128; /* the carrier type: every function takes and returns this */

/* Unaligned 16-byte access to frame slots and memory. */
static inline zh_v128 zh_v_get(const void *p) {
  zh_v128 v;
  memcpy(&v, p, sizeof v);
  return v;
}
static inline void zh_v_put(void *p, zh_v128 v) { memcpy(p, &v, sizeof v); }

/* ---- constructors, lanes, memory ---- */

#define ZH_V_SPLAT(name, V, T)                                                                     \
  static inline zh_v128 zh_v_##name(uint64_t x) {                                                  \
    T s;                                                                                           \
    memcpy(&s, &x, sizeof s);                                                                      \
    V r = {0};                                                                                     \
    r += s;                                                                                        \
    return (zh_v128)r;                                                                             \
  }
ZH_V_SPLAT(i8x16_splat, zh_u8x16, uint8_t)
ZH_V_SPLAT(i16x8_splat, zh_u16x8, uint16_t)
ZH_V_SPLAT(i32x4_splat, zh_u32x4, uint32_t)
ZH_V_SPLAT(i64x2_splat, zh_u64x2, uint64_t)
ZH_V_SPLAT(f32x4_splat, zh_u32x4, uint32_t)
ZH_V_SPLAT(f64x2_splat, zh_u64x2, uint64_t)
#undef ZH_V_SPLAT

/* Lanes travel as slot bits: 32-bit results zero-extended, as everywhere in the engine. */
#define ZH_V_EXTRACT(name, V, CAST)                                                                \
  static inline uint64_t zh_v_##name(zh_v128 a, uint32_t lane) { return CAST((V)a)[lane]; }
ZH_V_EXTRACT(i8x16_extract_lane_s, zh_i8x16, (uint32_t)(int32_t))
ZH_V_EXTRACT(i8x16_extract_lane_u, zh_u8x16, (uint32_t))
ZH_V_EXTRACT(i16x8_extract_lane_s, zh_i16x8, (uint32_t)(int32_t))
ZH_V_EXTRACT(i16x8_extract_lane_u, zh_u16x8, (uint32_t))
ZH_V_EXTRACT(i32x4_extract_lane, zh_u32x4, (uint32_t))
ZH_V_EXTRACT(i64x2_extract_lane, zh_u64x2, (uint64_t))
ZH_V_EXTRACT(f32x4_extract_lane, zh_u32x4, (uint32_t))
ZH_V_EXTRACT(f64x2_extract_lane, zh_u64x2, (uint64_t))
#undef ZH_V_EXTRACT

#define ZH_V_REPLACE(name, V, T)                                                                   \
  static inline zh_v128 zh_v_##name(zh_v128 a, uint64_t x, uint32_t lane) {                        \
    V r = (V)a;                                                                                    \
    r[lane] = (T)x;                                                                                \
    return (zh_v128)r;                                                                             \
  }
ZH_V_REPLACE(i8x16_replace_lane, zh_u8x16, uint8_t)
ZH_V_REPLACE(i16x8_replace_lane, zh_u16x8, uint16_t)
ZH_V_REPLACE(i32x4_replace_lane, zh_u32x4, uint32_t)
ZH_V_REPLACE(i64x2_replace_lane, zh_u64x2, uint64_t)
ZH_V_REPLACE(f32x4_replace_lane, zh_u32x4, uint32_t)
ZH_V_REPLACE(f64x2_replace_lane, zh_u64x2, uint64_t)
#undef ZH_V_REPLACE

static inline zh_v128 zh_v_v128_const(const uint8_t *imm) { return zh_v_get(imm); }

static inline zh_v128 zh_v_i8x16_shuffle(zh_v128 a, zh_v128 b, const uint8_t *lanes) {
  uint8_t in[32];
  zh_u8x16 r = {0};
  memcpy(in, &a, 16);
  memcpy(in + 16, &b, 16);
  for (int i = 0; i < 16; i++)
    r[i] = in[lanes[i] & 31];
  return (zh_v128)r;
}
static inline zh_v128 zh_v_i8x16_swizzle(zh_v128 a, zh_v128 s) {
  zh_u8x16 x = (zh_u8x16)a, i = (zh_u8x16)s, r = {0};
  for (int k = 0; k < 16; k++)
    r[k] = i[k] < 16 ? x[i[k] & 15] : 0;
  return (zh_v128)r;
}

static inline zh_v128 zh_v_v128_load(const uint8_t *p) { return zh_v_get(p); }
#define ZH_V_LOAD_EXT(name, NARROW, WIDE, T)                                                       \
  static inline zh_v128 zh_v_##name(const uint8_t *p) {                                            \
    NARROW n;                                                                                      \
    memcpy(&n, p, 8);                                                                              \
    WIDE r = {0};                                                                                  \
    for (unsigned i = 0; i < sizeof r / sizeof r[0]; i++)                                          \
      r[i] = (T)n[i];                                                                              \
    return (zh_v128)r;                                                                             \
  }
typedef int8_t zh_i8x8_ __attribute__((vector_size(8)));
typedef uint8_t zh_u8x8_ __attribute__((vector_size(8)));
typedef int16_t zh_i16x4_ __attribute__((vector_size(8)));
typedef uint16_t zh_u16x4_ __attribute__((vector_size(8)));
typedef int32_t zh_i32x2_ __attribute__((vector_size(8)));
typedef uint32_t zh_u32x2_ __attribute__((vector_size(8)));
ZH_V_LOAD_EXT(v128_load8x8_s, zh_i8x8_, zh_i16x8, int16_t)
ZH_V_LOAD_EXT(v128_load8x8_u, zh_u8x8_, zh_u16x8, uint16_t)
ZH_V_LOAD_EXT(v128_load16x4_s, zh_i16x4_, zh_i32x4, int32_t)
ZH_V_LOAD_EXT(v128_load16x4_u, zh_u16x4_, zh_u32x4, uint32_t)
ZH_V_LOAD_EXT(v128_load32x2_s, zh_i32x2_, zh_i64x2, int64_t)
ZH_V_LOAD_EXT(v128_load32x2_u, zh_u32x2_, zh_u64x2, uint64_t)
#undef ZH_V_LOAD_EXT

#define ZH_V_LOAD_SPLAT(name, N, T)                                                                \
  static inline zh_v128 zh_v_##name(const uint8_t *p) {                                            \
    uint64_t x = 0;                                                                                \
    memcpy(&x, p, N);                                                                              \
    return zh_v_##T##_splat(x);                                                                    \
  }
ZH_V_LOAD_SPLAT(v128_load8_splat, 1, i8x16)
ZH_V_LOAD_SPLAT(v128_load16_splat, 2, i16x8)
ZH_V_LOAD_SPLAT(v128_load32_splat, 4, i32x4)
ZH_V_LOAD_SPLAT(v128_load64_splat, 8, i64x2)
#undef ZH_V_LOAD_SPLAT

static inline zh_v128 zh_v_v128_load32_zero(const uint8_t *p) {
  zh_u32x4 r = {0};
  memcpy(&r, p, 4);
  return (zh_v128)r;
}
static inline zh_v128 zh_v_v128_load64_zero(const uint8_t *p) {
  zh_u64x2 r = {0};
  memcpy(&r, p, 8);
  return r;
}

#define ZH_V_LANE_MEM(bits, V, T)                                                                  \
  static inline zh_v128 zh_v_v128_load##bits##_lane(zh_v128 a, const uint8_t *p, uint32_t lane) {  \
    V r = (V)a;                                                                                    \
    T x;                                                                                           \
    memcpy(&x, p, sizeof x);                                                                       \
    r[lane] = x;                                                                                   \
    return (zh_v128)r;                                                                             \
  }                                                                                                \
  static inline void zh_v_v128_store##bits##_lane(uint8_t *p, zh_v128 a, uint32_t lane) {          \
    T x = ((V)a)[lane];                                                                            \
    memcpy(p, &x, sizeof x);                                                                       \
  }
ZH_V_LANE_MEM(8, zh_u8x16, uint8_t)
ZH_V_LANE_MEM(16, zh_u16x8, uint16_t)
ZH_V_LANE_MEM(32, zh_u32x4, uint32_t)
ZH_V_LANE_MEM(64, zh_u64x2, uint64_t)
#undef ZH_V_LANE_MEM

static inline void zh_v_v128_store(uint8_t *p, zh_v128 a) { zh_v_put(p, a); }

/* ---- bitwise ---- */

static inline zh_v128 zh_v_v128_not(zh_v128 a) { return ~a; }
static inline zh_v128 zh_v_v128_and(zh_v128 a, zh_v128 b) { return a & b; }
static inline zh_v128 zh_v_v128_andnot(zh_v128 a, zh_v128 b) { return a & ~b; }
static inline zh_v128 zh_v_v128_or(zh_v128 a, zh_v128 b) { return a | b; }
static inline zh_v128 zh_v_v128_xor(zh_v128 a, zh_v128 b) { return a ^ b; }
static inline zh_v128 zh_v_v128_bitselect(zh_v128 a, zh_v128 b, zh_v128 c) {
  return (a & c) | (b & ~c);
}
static inline uint32_t zh_v_v128_any_true(zh_v128 a) { return (a[0] | a[1]) != 0; }

/* ---- integer lanes ---- */

/* Wrapping arithmetic on unsigned lanes (no signed overflow in C). */
#define ZH_V_BIN(name, V, op)                                                                      \
  static inline zh_v128 zh_v_##name(zh_v128 a, zh_v128 b) { return (zh_v128)((V)a op(V) b); }
#define ZH_V_INT_ARITH(S, U) ZH_V_BIN(S##_add, U, +) ZH_V_BIN(S##_sub, U, -)
ZH_V_INT_ARITH(i8x16, zh_u8x16)
ZH_V_INT_ARITH(i16x8, zh_u16x8)
ZH_V_INT_ARITH(i32x4, zh_u32x4)
ZH_V_INT_ARITH(i64x2, zh_u64x2)
ZH_V_BIN(i16x8_mul, zh_u16x8, *)
ZH_V_BIN(i32x4_mul, zh_u32x4, *)
ZH_V_BIN(i64x2_mul, zh_u64x2, *)

/* Comparisons yield all-ones or zero lanes, as vector comparisons do. */
#define ZH_V_CMPS(S, I, U)                                                                         \
  ZH_V_BIN(S##_eq, U, ==)                                                                          \
  ZH_V_BIN(S##_ne, U, !=)                                                                          \
  ZH_V_BIN(S##_lt_s, I, <)                                                                         \
  ZH_V_BIN(S##_lt_u, U, <)                                                                         \
  ZH_V_BIN(S##_gt_s, I, >)                                                                         \
  ZH_V_BIN(S##_gt_u, U, >)                                                                         \
  ZH_V_BIN(S##_le_s, I, <=)                                                                        \
  ZH_V_BIN(S##_le_u, U, <=) ZH_V_BIN(S##_ge_s, I, >=) ZH_V_BIN(S##_ge_u, U, >=)
ZH_V_CMPS(i8x16, zh_i8x16, zh_u8x16)
ZH_V_CMPS(i16x8, zh_i16x8, zh_u16x8)
ZH_V_CMPS(i32x4, zh_i32x4, zh_u32x4)
ZH_V_BIN(i64x2_eq, zh_u64x2, ==)
ZH_V_BIN(i64x2_ne, zh_u64x2, !=)
ZH_V_BIN(i64x2_lt_s, zh_i64x2, <)
ZH_V_BIN(i64x2_gt_s, zh_i64x2, >)
ZH_V_BIN(i64x2_le_s, zh_i64x2, <=)
ZH_V_BIN(i64x2_ge_s, zh_i64x2, >=)

/* Selects lanes by a comparison mask: m ? a : b. */
static inline zh_v128 zh_v_select_(zh_v128 m, zh_v128 a, zh_v128 b) { return (a & m) | (b & ~m); }

#define ZH_V_MINMAX(name, V, op)                                                                   \
  static inline zh_v128 zh_v_##name(zh_v128 a, zh_v128 b) {                                        \
    return zh_v_select_((zh_v128)((V)a op(V) b), a, b);                                            \
  }
ZH_V_MINMAX(i8x16_min_s_g_, zh_i8x16, <)
ZH_V_MINMAX(i8x16_max_s, zh_i8x16, >)
ZH_V_MINMAX(i8x16_min_u_g_, zh_u8x16, <)
ZH_V_MINMAX(i8x16_max_u_g_, zh_u8x16, >)
ZH_V_MINMAX(i16x8_min_s_g_, zh_i16x8, <)
ZH_V_MINMAX(i16x8_max_s_g_, zh_i16x8, >)
ZH_V_MINMAX(i16x8_min_u, zh_u16x8, <)
ZH_V_MINMAX(i16x8_max_u, zh_u16x8, >)
ZH_V_MINMAX(i32x4_min_s, zh_i32x4, <)
ZH_V_MINMAX(i32x4_max_s, zh_i32x4, >)
ZH_V_MINMAX(i32x4_min_u, zh_u32x4, <)
ZH_V_MINMAX(i32x4_max_u, zh_u32x4, >)
#undef ZH_V_MINMAX
#if ZH_SIMD_SSE2
static inline zh_v128 zh_v_i8x16_min_s(zh_v128 a, zh_v128 b) { return zh_v_i8x16_min_s_g_(a, b); }
static inline zh_v128 zh_v_i8x16_min_u(zh_v128 a, zh_v128 b) {
  return (zh_v128)_mm_min_epu8((__m128i)a, (__m128i)b);
}
static inline zh_v128 zh_v_i8x16_max_u(zh_v128 a, zh_v128 b) {
  return (zh_v128)_mm_max_epu8((__m128i)a, (__m128i)b);
}
static inline zh_v128 zh_v_i16x8_min_s(zh_v128 a, zh_v128 b) {
  return (zh_v128)_mm_min_epi16((__m128i)a, (__m128i)b);
}
static inline zh_v128 zh_v_i16x8_max_s(zh_v128 a, zh_v128 b) {
  return (zh_v128)_mm_max_epi16((__m128i)a, (__m128i)b);
}
#else
static inline zh_v128 zh_v_i8x16_min_s(zh_v128 a, zh_v128 b) { return zh_v_i8x16_min_s_g_(a, b); }
static inline zh_v128 zh_v_i8x16_min_u(zh_v128 a, zh_v128 b) { return zh_v_i8x16_min_u_g_(a, b); }
static inline zh_v128 zh_v_i8x16_max_u(zh_v128 a, zh_v128 b) { return zh_v_i8x16_max_u_g_(a, b); }
static inline zh_v128 zh_v_i16x8_min_s(zh_v128 a, zh_v128 b) { return zh_v_i16x8_min_s_g_(a, b); }
static inline zh_v128 zh_v_i16x8_max_s(zh_v128 a, zh_v128 b) { return zh_v_i16x8_max_s_g_(a, b); }
#endif

/* abs and neg wrap: abs of the most negative lane is itself. */
#define ZH_V_ABSNEG(S, I, U, bits)                                                                 \
  static inline zh_v128 zh_v_##S##_neg(zh_v128 a) { return (zh_v128)(-(U)a); }                     \
  static inline zh_v128 zh_v_##S##_abs(zh_v128 a) {                                                \
    U m = (U)((I)a >> ((bits)-1));                                                                 \
    return (zh_v128)(((U)a ^ m) - m);                                                              \
  }
ZH_V_ABSNEG(i8x16, zh_i8x16, zh_u8x16, 8)
ZH_V_ABSNEG(i16x8, zh_i16x8, zh_u16x8, 16)
ZH_V_ABSNEG(i32x4, zh_i32x4, zh_u32x4, 32)
ZH_V_ABSNEG(i64x2, zh_i64x2, zh_u64x2, 64)
#undef ZH_V_ABSNEG

/* Shift counts are taken modulo the lane width. */
#define ZH_V_SHIFTS(S, I, U, bits)                                                                 \
  static inline zh_v128 zh_v_##S##_shl(zh_v128 a, uint32_t n) {                                    \
    return (zh_v128)((U)a << (int)(n & ((bits)-1)));                                               \
  }                                                                                                \
  static inline zh_v128 zh_v_##S##_shr_s(zh_v128 a, uint32_t n) {                                  \
    return (zh_v128)((I)a >> (int)(n & ((bits)-1)));                                               \
  }                                                                                                \
  static inline zh_v128 zh_v_##S##_shr_u(zh_v128 a, uint32_t n) {                                  \
    return (zh_v128)((U)a >> (int)(n & ((bits)-1)));                                               \
  }
ZH_V_SHIFTS(i8x16, zh_i8x16, zh_u8x16, 8)
ZH_V_SHIFTS(i16x8, zh_i16x8, zh_u16x8, 16)
ZH_V_SHIFTS(i32x4, zh_i32x4, zh_u32x4, 32)
ZH_V_SHIFTS(i64x2, zh_i64x2, zh_u64x2, 64)
#undef ZH_V_SHIFTS

/* Saturating add/sub, rounding average: lane loops, or SSE2's own instructions. */
#define ZH_V_SAT(name, V, W, lo, hi, op)                                                           \
  static inline zh_v128 zh_v_##name##_g_(zh_v128 a, zh_v128 b) {                                   \
    V x = (V)a, y = (V)b, r = {0};                                                                 \
    for (unsigned i = 0; i < sizeof r / sizeof r[0]; i++) {                                        \
      W s = (W)x[i] op(W) y[i];                                                                    \
      r[i] = s < (lo) ? (lo) : s > (hi) ? (hi) : s;                                                \
    }                                                                                              \
    return (zh_v128)r;                                                                             \
  }
ZH_V_SAT(i8x16_add_sat_s, zh_i8x16, int32_t, -128, 127, +)
ZH_V_SAT(i8x16_add_sat_u, zh_u8x16, int32_t, 0, 255, +)
ZH_V_SAT(i8x16_sub_sat_s, zh_i8x16, int32_t, -128, 127, -)
ZH_V_SAT(i8x16_sub_sat_u, zh_u8x16, int32_t, 0, 255, -)
ZH_V_SAT(i16x8_add_sat_s, zh_i16x8, int32_t, -32768, 32767, +)
ZH_V_SAT(i16x8_add_sat_u, zh_u16x8, int32_t, 0, 65535, +)
ZH_V_SAT(i16x8_sub_sat_s, zh_i16x8, int32_t, -32768, 32767, -)
ZH_V_SAT(i16x8_sub_sat_u, zh_u16x8, int32_t, 0, 65535, -)
#undef ZH_V_SAT
#define ZH_V_AVGR(name, V, W)                                                                      \
  static inline zh_v128 zh_v_##name##_g_(zh_v128 a, zh_v128 b) {                                   \
    V x = (V)a, y = (V)b, r = {0};                                                                 \
    for (unsigned i = 0; i < sizeof r / sizeof r[0]; i++)                                          \
      r[i] = (((W)x[i] + (W)y[i] + 1) >> 1);                                                       \
    return (zh_v128)r;                                                                             \
  }
ZH_V_AVGR(i8x16_avgr_u, zh_u8x16, uint32_t)
ZH_V_AVGR(i16x8_avgr_u, zh_u16x8, uint32_t)
#undef ZH_V_AVGR
#if ZH_SIMD_SSE2
#define ZH_V_SSE_BIN(name, intr)                                                                   \
  static inline zh_v128 zh_v_##name(zh_v128 a, zh_v128 b) {                                        \
    return (zh_v128)intr((__m128i)a, (__m128i)b);                                                  \
  }
#else
#define ZH_V_SSE_BIN(name, intr)                                                                   \
  static inline zh_v128 zh_v_##name(zh_v128 a, zh_v128 b) { return zh_v_##name##_g_(a, b); }
#endif
ZH_V_SSE_BIN(i8x16_add_sat_s, _mm_adds_epi8)
ZH_V_SSE_BIN(i8x16_add_sat_u, _mm_adds_epu8)
ZH_V_SSE_BIN(i8x16_sub_sat_s, _mm_subs_epi8)
ZH_V_SSE_BIN(i8x16_sub_sat_u, _mm_subs_epu8)
ZH_V_SSE_BIN(i16x8_add_sat_s, _mm_adds_epi16)
ZH_V_SSE_BIN(i16x8_add_sat_u, _mm_adds_epu16)
ZH_V_SSE_BIN(i16x8_sub_sat_s, _mm_subs_epi16)
ZH_V_SSE_BIN(i16x8_sub_sat_u, _mm_subs_epu16)
ZH_V_SSE_BIN(i8x16_avgr_u, _mm_avg_epu8)
ZH_V_SSE_BIN(i16x8_avgr_u, _mm_avg_epu16)

/* Narrowing: both inputs' lanes, signed, saturated into the half-width range. */
#define ZH_V_NARROW(name, IN, OUT, lo, hi)                                                         \
  static inline zh_v128 zh_v_##name##_g_(zh_v128 a, zh_v128 b) {                                   \
    IN x = (IN)a, y = (IN)b;                                                                       \
    OUT r = {0};                                                                                   \
    const unsigned n = sizeof x / sizeof x[0];                                                     \
    for (unsigned i = 0; i < 2 * n; i++) {                                                         \
      int32_t s = i < n ? x[i] : y[i - n];                                                         \
      r[i] = s < (lo) ? (lo) : s > (hi) ? (hi) : s;                                                \
    }                                                                                              \
    return (zh_v128)r;                                                                             \
  }
ZH_V_NARROW(i8x16_narrow_i16x8_s, zh_i16x8, zh_i8x16, -128, 127)
ZH_V_NARROW(i8x16_narrow_i16x8_u, zh_i16x8, zh_u8x16, 0, 255)
ZH_V_NARROW(i16x8_narrow_i32x4_s, zh_i32x4, zh_i16x8, -32768, 32767)
ZH_V_NARROW(i16x8_narrow_i32x4_u, zh_i32x4, zh_u16x8, 0, 65535)
#undef ZH_V_NARROW
ZH_V_SSE_BIN(i8x16_narrow_i16x8_s, _mm_packs_epi16)
ZH_V_SSE_BIN(i8x16_narrow_i16x8_u, _mm_packus_epi16)
ZH_V_SSE_BIN(i16x8_narrow_i32x4_s, _mm_packs_epi32)
static inline zh_v128 zh_v_i16x8_narrow_i32x4_u(zh_v128 a, zh_v128 b) {
  return zh_v_i16x8_narrow_i32x4_u_g_(a, b);
}

/* Widening: extend, extended multiply, pairwise add, dot product. */
#define ZH_V_EXTEND(name, IN, OUT, T, off)                                                         \
  static inline zh_v128 zh_v_##name(zh_v128 a) {                                                   \
    IN x = (IN)a;                                                                                  \
    OUT r = {0};                                                                                   \
    for (unsigned i = 0; i < sizeof r / sizeof r[0]; i++)                                          \
      r[i] = (T)x[i + (off) * (sizeof r / sizeof r[0])];                                           \
    return (zh_v128)r;                                                                             \
  }
#define ZH_V_EXTENDS(S, SI, SU, O, OI, OU, TI, TU)                                                 \
  ZH_V_EXTEND(O##_extend_low_##S##_s, SI, OI, TI, 0)                                               \
  ZH_V_EXTEND(O##_extend_high_##S##_s, SI, OI, TI, 1)                                              \
  ZH_V_EXTEND(O##_extend_low_##S##_u, SU, OU, TU, 0)                                               \
  ZH_V_EXTEND(O##_extend_high_##S##_u, SU, OU, TU, 1)
ZH_V_EXTENDS(i8x16, zh_i8x16, zh_u8x16, i16x8, zh_i16x8, zh_u16x8, int16_t, uint16_t)
ZH_V_EXTENDS(i16x8, zh_i16x8, zh_u16x8, i32x4, zh_i32x4, zh_u32x4, int32_t, uint32_t)
ZH_V_EXTENDS(i32x4, zh_i32x4, zh_u32x4, i64x2, zh_i64x2, zh_u64x2, int64_t, uint64_t)
#undef ZH_V_EXTENDS
#undef ZH_V_EXTEND

/* Products are formed in the unsigned wide type: i32 x i32 fits i64, and the wide lane
 * wraps exactly as the spec's modular result. */
#define ZH_V_EXTMUL(name, IN, OUT, T, UT, off)                                                     \
  static inline zh_v128 zh_v_##name(zh_v128 a, zh_v128 b) {                                        \
    IN x = (IN)a, y = (IN)b;                                                                       \
    OUT r = {0};                                                                                   \
    const unsigned n = sizeof r / sizeof r[0];                                                     \
    for (unsigned i = 0; i < n; i++)                                                               \
      r[i] = (UT)(T)x[i + (off)*n] * (UT)(T)y[i + (off)*n];                                        \
    return (zh_v128)r;                                                                             \
  }
#define ZH_V_EXTMULS(S, SI, SU, O, OU, TI, TU, UT)                                                 \
  ZH_V_EXTMUL(O##_extmul_low_##S##_s, SI, OU, TI, UT, 0)                                           \
  ZH_V_EXTMUL(O##_extmul_high_##S##_s, SI, OU, TI, UT, 1)                                          \
  ZH_V_EXTMUL(O##_extmul_low_##S##_u, SU, OU, TU, UT, 0)                                           \
  ZH_V_EXTMUL(O##_extmul_high_##S##_u, SU, OU, TU, UT, 1)
ZH_V_EXTMULS(i8x16, zh_i8x16, zh_u8x16, i16x8, zh_u16x8, int32_t, uint32_t, uint32_t)
ZH_V_EXTMULS(i16x8, zh_i16x8, zh_u16x8, i32x4, zh_u32x4, int64_t, uint64_t, uint64_t)
ZH_V_EXTMULS(i32x4, zh_i32x4, zh_u32x4, i64x2, zh_u64x2, int64_t, uint64_t, uint64_t)
#undef ZH_V_EXTMULS
#undef ZH_V_EXTMUL

#define ZH_V_EXTADD(name, IN, OUT, T)                                                              \
  static inline zh_v128 zh_v_##name(zh_v128 a) {                                                   \
    IN x = (IN)a;                                                                                  \
    OUT r = {0};                                                                                   \
    for (unsigned i = 0; i < sizeof r / sizeof r[0]; i++)                                          \
      r[i] = (T)((T)x[2 * i] + (T)x[2 * i + 1]);                                                   \
    return (zh_v128)r;                                                                             \
  }
ZH_V_EXTADD(i16x8_extadd_pairwise_i8x16_s, zh_i8x16, zh_i16x8, int16_t)
ZH_V_EXTADD(i16x8_extadd_pairwise_i8x16_u, zh_u8x16, zh_u16x8, uint16_t)
ZH_V_EXTADD(i32x4_extadd_pairwise_i16x8_s, zh_i16x8, zh_i32x4, int32_t)
ZH_V_EXTADD(i32x4_extadd_pairwise_i16x8_u, zh_u16x8, zh_u32x4, uint32_t)
#undef ZH_V_EXTADD

static inline zh_v128 zh_v_i32x4_dot_i16x8_s(zh_v128 a, zh_v128 b) {
#if ZH_SIMD_SSE2
  return (zh_v128)_mm_madd_epi16((__m128i)a, (__m128i)b);
#else
  zh_i16x8 x = (zh_i16x8)a, y = (zh_i16x8)b;
  zh_u32x4 r = {0};
  for (int i = 0; i < 4; i++)
    r[i] =
        (uint32_t)((int32_t)x[2 * i] * y[2 * i]) + (uint32_t)((int32_t)x[2 * i + 1] * y[2 * i + 1]);
  return (zh_v128)r;
#endif
}

static inline zh_v128 zh_v_i16x8_q15mulr_sat_s(zh_v128 a, zh_v128 b) {
  zh_i16x8 x = (zh_i16x8)a, y = (zh_i16x8)b, r = {0};
  for (int i = 0; i < 8; i++) {
    int32_t p = ((int32_t)x[i] * y[i] + 0x4000) >> 15;
    r[i] = (int16_t)(p > 32767 ? 32767 : p);
  }
  return (zh_v128)r;
}

static inline zh_v128 zh_v_i8x16_popcnt(zh_v128 a) {
  zh_u8x16 x = (zh_u8x16)a, r = {0};
  for (int i = 0; i < 16; i++)
    r[i] = (uint8_t)__builtin_popcount(x[i]);
  return (zh_v128)r;
}

/* all_true and bitmask. */
#define ZH_V_TESTS(S, I, U)                                                                        \
  static inline uint32_t zh_v_##S##_all_true(zh_v128 a) {                                          \
    U x = (U)a;                                                                                    \
    for (unsigned i = 0; i < sizeof x / sizeof x[0]; i++)                                          \
      if (!x[i])                                                                                   \
        return 0;                                                                                  \
    return 1;                                                                                      \
  }                                                                                                \
  static inline uint32_t zh_v_##S##_bitmask_g_(zh_v128 a) {                                        \
    I x = (I)a;                                                                                    \
    uint32_t r = 0;                                                                                \
    for (unsigned i = 0; i < sizeof x / sizeof x[0]; i++)                                          \
      r |= (uint32_t)(x[i] < 0) << i;                                                              \
    return r;                                                                                      \
  }
ZH_V_TESTS(i8x16, zh_i8x16, zh_u8x16)
ZH_V_TESTS(i16x8, zh_i16x8, zh_u16x8)
ZH_V_TESTS(i32x4, zh_i32x4, zh_u32x4)
ZH_V_TESTS(i64x2, zh_i64x2, zh_u64x2)
#undef ZH_V_TESTS
static inline uint32_t zh_v_i8x16_bitmask(zh_v128 a) {
#if ZH_SIMD_SSE2
  return (uint32_t)_mm_movemask_epi8((__m128i)a);
#else
  return zh_v_i8x16_bitmask_g_(a);
#endif
}
static inline uint32_t zh_v_i16x8_bitmask(zh_v128 a) { return zh_v_i16x8_bitmask_g_(a); }
static inline uint32_t zh_v_i32x4_bitmask(zh_v128 a) { return zh_v_i32x4_bitmask_g_(a); }
static inline uint32_t zh_v_i64x2_bitmask(zh_v128 a) { return zh_v_i64x2_bitmask_g_(a); }

/* ---- float lanes ---- */

/* abs, neg: the sign bit only, so NaN payloads pass unchanged. */
static inline zh_v128 zh_v_f32x4_abs(zh_v128 a) { return (zh_v128)((zh_u32x4)a & 0x7fffffffu); }
static inline zh_v128 zh_v_f32x4_neg(zh_v128 a) { return (zh_v128)((zh_u32x4)a ^ 0x80000000u); }
static inline zh_v128 zh_v_f64x2_abs(zh_v128 a) { return a & 0x7fffffffffffffffull; }
static inline zh_v128 zh_v_f64x2_neg(zh_v128 a) { return a ^ 0x8000000000000000ull; }

ZH_V_BIN(f32x4_add, zh_f32x4, +)
ZH_V_BIN(f32x4_sub, zh_f32x4, -)
ZH_V_BIN(f32x4_mul, zh_f32x4, *)
ZH_V_BIN(f32x4_div, zh_f32x4, /)
ZH_V_BIN(f64x2_add, zh_f64x2, +)
ZH_V_BIN(f64x2_sub, zh_f64x2, -)
ZH_V_BIN(f64x2_mul, zh_f64x2, *)
ZH_V_BIN(f64x2_div, zh_f64x2, /)
#define ZH_V_FCMPS(S, V)                                                                           \
  ZH_V_BIN(S##_eq, V, ==)                                                                          \
  ZH_V_BIN(S##_ne, V, !=)                                                                          \
  ZH_V_BIN(S##_lt, V, <) ZH_V_BIN(S##_gt, V, >) ZH_V_BIN(S##_le, V, <=) ZH_V_BIN(S##_ge, V, >=)
ZH_V_FCMPS(f32x4, zh_f32x4)
ZH_V_FCMPS(f64x2, zh_f64x2)
#undef ZH_V_FCMPS

/* pmin/pmax are defined by a plain comparison: b < a ? b : a. */
static inline zh_v128 zh_v_f32x4_pmin(zh_v128 a, zh_v128 b) {
  return zh_v_select_((zh_v128)((zh_f32x4)b < (zh_f32x4)a), b, a);
}
static inline zh_v128 zh_v_f32x4_pmax(zh_v128 a, zh_v128 b) {
  return zh_v_select_((zh_v128)((zh_f32x4)a < (zh_f32x4)b), b, a);
}
static inline zh_v128 zh_v_f64x2_pmin(zh_v128 a, zh_v128 b) {
  return zh_v_select_((zh_v128)((zh_f64x2)b < (zh_f64x2)a), b, a);
}
static inline zh_v128 zh_v_f64x2_pmax(zh_v128 a, zh_v128 b) {
  return zh_v_select_((zh_v128)((zh_f64x2)a < (zh_f64x2)b), b, a);
}

/* min/max: a NaN operand gives a NaN (a + b propagates and quiets it); -0 < +0, which
 * for equal operands is the OR (min) or AND (max) of their bits. */
#define ZH_V_FMINMAX(S, V, U)                                                                      \
  static inline zh_v128 zh_v_##S##_min(zh_v128 a, zh_v128 b) {                                     \
    V x = (V)a, y = (V)b;                                                                          \
    zh_v128 lt = (zh_v128)(x < y), eq = (zh_v128)(x == y), un = (zh_v128)((x != x) | (y != y));    \
    zh_v128 r = (a & lt) | (b & ~lt & ~eq) | ((a | b) & eq);                                       \
    return zh_v_select_(un, (zh_v128)(x + y), r);                                                  \
  }                                                                                                \
  static inline zh_v128 zh_v_##S##_max(zh_v128 a, zh_v128 b) {                                     \
    V x = (V)a, y = (V)b;                                                                          \
    zh_v128 gt = (zh_v128)(x > y), eq = (zh_v128)(x == y), un = (zh_v128)((x != x) | (y != y));    \
    zh_v128 r = (a & gt) | (b & ~gt & ~eq) | ((a & b) & eq);                                       \
    return zh_v_select_(un, (zh_v128)(x + y), r);                                                  \
  }
ZH_V_FMINMAX(f32x4, zh_f32x4, zh_u32x4)
ZH_V_FMINMAX(f64x2, zh_f64x2, zh_u64x2)
#undef ZH_V_FMINMAX

/* Lane-wise unary functions; rounding may return a signalling NaN as is, so NaNs are
 * quieted by adding them to themselves. */
#define ZH_V_FUN(name, V, f)                                                                       \
  static inline zh_v128 zh_v_##name(zh_v128 a) {                                                   \
    V x = (V)a, r = {0};                                                                           \
    for (unsigned i = 0; i < sizeof r / sizeof r[0]; i++)                                          \
      r[i] = x[i] != x[i] ? x[i] + x[i] : f(x[i]);                                                 \
    return (zh_v128)r;                                                                             \
  }
ZH_V_FUN(f32x4_ceil, zh_f32x4, ceilf)
ZH_V_FUN(f32x4_floor, zh_f32x4, floorf)
ZH_V_FUN(f32x4_trunc, zh_f32x4, truncf)
ZH_V_FUN(f32x4_nearest, zh_f32x4, nearbyintf)
ZH_V_FUN(f64x2_ceil, zh_f64x2, ceil)
ZH_V_FUN(f64x2_floor, zh_f64x2, floor)
ZH_V_FUN(f64x2_trunc, zh_f64x2, trunc)
ZH_V_FUN(f64x2_nearest, zh_f64x2, nearbyint)
#if ZH_SIMD_SSE2
static inline zh_v128 zh_v_f32x4_sqrt(zh_v128 a) { return (zh_v128)_mm_sqrt_ps((__m128)a); }
static inline zh_v128 zh_v_f64x2_sqrt(zh_v128 a) { return (zh_v128)_mm_sqrt_pd((__m128d)a); }
#else
ZH_V_FUN(f32x4_sqrt, zh_f32x4, sqrtf)
ZH_V_FUN(f64x2_sqrt, zh_f64x2, sqrt)
#endif
#undef ZH_V_FUN

/* Conversions. Saturating truncation: NaN is 0, out of range clamps. */
static inline int32_t zh_v_sat_s32_(double x) {
  return x != x ? 0 : x <= -2147483649.0 ? INT32_MIN : x >= 2147483648.0 ? INT32_MAX : (int32_t)x;
}
static inline uint32_t zh_v_sat_u32_(double x) {
  return x != x ? 0 : x <= -1.0 ? 0 : x >= 4294967296.0 ? UINT32_MAX : (uint32_t)x;
}
static inline zh_v128 zh_v_i32x4_trunc_sat_f32x4_s(zh_v128 a) {
  zh_f32x4 x = (zh_f32x4)a;
  zh_i32x4 r = {0};
  for (int i = 0; i < 4; i++)
    r[i] = zh_v_sat_s32_(x[i]);
  return (zh_v128)r;
}
static inline zh_v128 zh_v_i32x4_trunc_sat_f32x4_u(zh_v128 a) {
  zh_f32x4 x = (zh_f32x4)a;
  zh_u32x4 r = {0};
  for (int i = 0; i < 4; i++)
    r[i] = zh_v_sat_u32_(x[i]);
  return (zh_v128)r;
}
static inline zh_v128 zh_v_i32x4_trunc_sat_f64x2_s_zero(zh_v128 a) {
  zh_f64x2 x = (zh_f64x2)a;
  zh_i32x4 r = {zh_v_sat_s32_(x[0]), zh_v_sat_s32_(x[1]), 0, 0};
  return (zh_v128)r;
}
static inline zh_v128 zh_v_i32x4_trunc_sat_f64x2_u_zero(zh_v128 a) {
  zh_f64x2 x = (zh_f64x2)a;
  zh_u32x4 r = {zh_v_sat_u32_(x[0]), zh_v_sat_u32_(x[1]), 0, 0};
  return (zh_v128)r;
}
static inline zh_v128 zh_v_f32x4_convert_i32x4_s(zh_v128 a) {
  return (zh_v128) __builtin_convertvector((zh_i32x4)a, zh_f32x4);
}
static inline zh_v128 zh_v_f32x4_convert_i32x4_u(zh_v128 a) {
  zh_u32x4 x = (zh_u32x4)a;
  zh_f32x4 r = {0};
  for (int i = 0; i < 4; i++)
    r[i] = (float)x[i];
  return (zh_v128)r;
}
static inline zh_v128 zh_v_f64x2_convert_low_i32x4_s(zh_v128 a) {
  zh_i32x4 x = (zh_i32x4)a;
  zh_f64x2 r = {(double)x[0], (double)x[1]};
  return (zh_v128)r;
}
static inline zh_v128 zh_v_f64x2_convert_low_i32x4_u(zh_v128 a) {
  zh_u32x4 x = (zh_u32x4)a;
  zh_f64x2 r = {(double)x[0], (double)x[1]};
  return (zh_v128)r;
}
static inline zh_v128 zh_v_f32x4_demote_f64x2_zero(zh_v128 a) {
  zh_f64x2 x = (zh_f64x2)a;
  zh_f32x4 r = {(float)x[0], (float)x[1], 0.0f, 0.0f};
  return (zh_v128)r;
}
static inline zh_v128 zh_v_f64x2_promote_low_f32x4(zh_v128 a) {
  zh_f32x4 x = (zh_f32x4)a;
  zh_f64x2 r = {(double)x[0], (double)x[1]};
  return (zh_v128)r;
}

#undef ZH_V_BIN
#undef ZH_V_SSE_BIN
#undef ZH_V_INT_ARITH
#undef ZH_V_CMPS

#endif
