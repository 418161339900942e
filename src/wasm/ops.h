/* The interpreter's instruction set. compile.c emits these, interp.c implements them.
 *
 * Every instruction is an 8-byte handler address followed by packed 32-bit operands
 * (slot indices, immediates, branch offsets relative to the instruction's start) and,
 * for 64-bit immediates, 8-byte fields. Slot operands index 8-byte cells from the frame
 * pointer; results of 32-bit types are stored zero-extended. A v128 takes two adjacent
 * slots, named by the first.
 *
 * Lists are X-macros so that the op enum, the handler table and the compiler's opcode
 * maps stay in step: a list entry without a handler fails to compile. */
#ifndef ZH_WASM_OPS_H
#define ZH_WASM_OPS_H

#include "wasm/opcodes_simd.h"

/* Operand types: I32 (uint32_t), I64 (uint64_t), F32 (float), F64 (double). */

/* X(name, wasm opcode, commutative) — integer ops with a register-immediate form. */
#define ZH_INT_BINOPS(X)                                                                           \
  X(i32_add, 0x6a, 1, I32)                                                                         \
  X(i32_sub, 0x6b, 0, I32)                                                                         \
  X(i32_mul, 0x6c, 1, I32)                                                                         \
  X(i32_and, 0x71, 1, I32)                                                                         \
  X(i32_or, 0x72, 1, I32)                                                                          \
  X(i32_xor, 0x73, 1, I32)                                                                         \
  X(i32_shl, 0x74, 0, I32)                                                                         \
  X(i32_shr_s, 0x75, 0, I32)                                                                       \
  X(i32_shr_u, 0x76, 0, I32)                                                                       \
  X(i32_rotl, 0x77, 0, I32)                                                                        \
  X(i32_rotr, 0x78, 0, I32)                                                                        \
  X(i64_add, 0x7c, 1, I64)                                                                         \
  X(i64_sub, 0x7d, 0, I64)                                                                         \
  X(i64_mul, 0x7e, 1, I64)                                                                         \
  X(i64_and, 0x83, 1, I64)                                                                         \
  X(i64_or, 0x84, 1, I64)                                                                          \
  X(i64_xor, 0x85, 1, I64)                                                                         \
  X(i64_shl, 0x86, 0, I64)                                                                         \
  X(i64_shr_s, 0x87, 0, I64)                                                                       \
  X(i64_shr_u, 0x88, 0, I64)                                                                       \
  X(i64_rotl, 0x89, 0, I64)                                                                        \
  X(i64_rotr, 0x8a, 0, I64)

/* X(name, wasm opcode, swapped-operands twin, negated twin, operand type) — integer
 * comparisons: register-immediate forms and fused compare-and-branch forms. */
#define ZH_INT_CMPS(X)                                                                             \
  X(i32_eq, 0x46, i32_eq, i32_ne, I32)                                                             \
  X(i32_ne, 0x47, i32_ne, i32_eq, I32)                                                             \
  X(i32_lt_s, 0x48, i32_gt_s, i32_ge_s, I32)                                                       \
  X(i32_lt_u, 0x49, i32_gt_u, i32_ge_u, I32)                                                       \
  X(i32_gt_s, 0x4a, i32_lt_s, i32_le_s, I32)                                                       \
  X(i32_gt_u, 0x4b, i32_lt_u, i32_le_u, I32)                                                       \
  X(i32_le_s, 0x4c, i32_ge_s, i32_gt_s, I32)                                                       \
  X(i32_le_u, 0x4d, i32_ge_u, i32_gt_u, I32)                                                       \
  X(i32_ge_s, 0x4e, i32_le_s, i32_lt_s, I32)                                                       \
  X(i32_ge_u, 0x4f, i32_le_u, i32_lt_u, I32)                                                       \
  X(i64_eq, 0x51, i64_eq, i64_ne, I64)                                                             \
  X(i64_ne, 0x52, i64_ne, i64_eq, I64)                                                             \
  X(i64_lt_s, 0x53, i64_gt_s, i64_ge_s, I64)                                                       \
  X(i64_lt_u, 0x54, i64_gt_u, i64_ge_u, I64)                                                       \
  X(i64_gt_s, 0x55, i64_lt_s, i64_le_s, I64)                                                       \
  X(i64_gt_u, 0x56, i64_lt_u, i64_le_u, I64)                                                       \
  X(i64_le_s, 0x57, i64_ge_s, i64_gt_s, I64)                                                       \
  X(i64_le_u, 0x58, i64_ge_u, i64_gt_u, I64)                                                       \
  X(i64_ge_s, 0x59, i64_le_s, i64_lt_s, I64)                                                       \
  X(i64_ge_u, 0x5a, i64_le_u, i64_lt_u, I64)

/* Loop control: `x = y + k; if (x CMP imm) branch`, the increment-test-branch that closes
 * most counted loops, one instruction: dst, src, k, imm, offset. In ZH_INT_CMPS order.
 * br_inc2_* does another increment first (a pointer stepping with the count, as in libc's
 * memchr and memcmp): dst1, src1, k1, then the five operands of br_inc_*. */
#define ZH_LOOP_CMPS(X)                                                                            \
  X(i32_eq)                                                                                        \
  X(i32_ne)                                                                                        \
  X(i32_lt_s) X(i32_lt_u) X(i32_gt_s) X(i32_gt_u) X(i32_le_s) X(i32_le_u) X(i32_ge_s) X(i32_ge_u)

/* X(name, wasm opcode, in, out) — register-only binary ops (traps, floats). */
#define ZH_OTHER_BINOPS(X)                                                                         \
  X(i32_div_s, 0x6d, I32, I32)                                                                     \
  X(i32_div_u, 0x6e, I32, I32)                                                                     \
  X(i32_rem_s, 0x6f, I32, I32)                                                                     \
  X(i32_rem_u, 0x70, I32, I32)                                                                     \
  X(i64_div_s, 0x7f, I64, I64)                                                                     \
  X(i64_div_u, 0x80, I64, I64)                                                                     \
  X(i64_rem_s, 0x81, I64, I64)                                                                     \
  X(i64_rem_u, 0x82, I64, I64)                                                                     \
  X(f32_eq, 0x5b, F32, I32)                                                                        \
  X(f32_ne, 0x5c, F32, I32)                                                                        \
  X(f32_lt, 0x5d, F32, I32)                                                                        \
  X(f32_gt, 0x5e, F32, I32)                                                                        \
  X(f32_le, 0x5f, F32, I32)                                                                        \
  X(f32_ge, 0x60, F32, I32)                                                                        \
  X(f64_eq, 0x61, F64, I32)                                                                        \
  X(f64_ne, 0x62, F64, I32)                                                                        \
  X(f64_lt, 0x63, F64, I32)                                                                        \
  X(f64_gt, 0x64, F64, I32)                                                                        \
  X(f64_le, 0x65, F64, I32)                                                                        \
  X(f64_ge, 0x66, F64, I32)                                                                        \
  X(f32_add, 0x92, F32, F32)                                                                       \
  X(f32_sub, 0x93, F32, F32)                                                                       \
  X(f32_mul, 0x94, F32, F32)                                                                       \
  X(f32_div, 0x95, F32, F32)                                                                       \
  X(f32_min, 0x96, F32, F32)                                                                       \
  X(f32_max, 0x97, F32, F32)                                                                       \
  X(f32_copysign, 0x98, F32, F32)                                                                  \
  X(f64_add, 0xa0, F64, F64)                                                                       \
  X(f64_sub, 0xa1, F64, F64)                                                                       \
  X(f64_mul, 0xa2, F64, F64)                                                                       \
  X(f64_div, 0xa3, F64, F64)                                                                       \
  X(f64_min, 0xa4, F64, F64)                                                                       \
  X(f64_max, 0xa5, F64, F64)                                                                       \
  X(f64_copysign, 0xa6, F64, F64)

/* X(name, opcode, in, out) — unary ops; 0xfc-prefixed ones use 0xfc00 | subopcode. */
#define ZH_UNOPS(X)                                                                                \
  X(i32_eqz, 0x45, I32, I32)                                                                       \
  X(i64_eqz, 0x50, I64, I32)                                                                       \
  X(i32_clz, 0x67, I32, I32)                                                                       \
  X(i32_ctz, 0x68, I32, I32)                                                                       \
  X(i32_popcnt, 0x69, I32, I32)                                                                    \
  X(i64_clz, 0x79, I64, I64)                                                                       \
  X(i64_ctz, 0x7a, I64, I64)                                                                       \
  X(i64_popcnt, 0x7b, I64, I64)                                                                    \
  X(f32_abs, 0x8b, F32, F32)                                                                       \
  X(f32_neg, 0x8c, F32, F32)                                                                       \
  X(f32_ceil, 0x8d, F32, F32)                                                                      \
  X(f32_floor, 0x8e, F32, F32)                                                                     \
  X(f32_trunc, 0x8f, F32, F32)                                                                     \
  X(f32_nearest, 0x90, F32, F32)                                                                   \
  X(f32_sqrt, 0x91, F32, F32)                                                                      \
  X(f64_abs, 0x99, F64, F64)                                                                       \
  X(f64_neg, 0x9a, F64, F64)                                                                       \
  X(f64_ceil, 0x9b, F64, F64)                                                                      \
  X(f64_floor, 0x9c, F64, F64)                                                                     \
  X(f64_trunc, 0x9d, F64, F64)                                                                     \
  X(f64_nearest, 0x9e, F64, F64)                                                                   \
  X(f64_sqrt, 0x9f, F64, F64)                                                                      \
  X(i32_trunc_f32_s, 0xa8, F32, I32)                                                               \
  X(i32_trunc_f32_u, 0xa9, F32, I32)                                                               \
  X(i32_trunc_f64_s, 0xaa, F64, I32)                                                               \
  X(i32_trunc_f64_u, 0xab, F64, I32)                                                               \
  X(i64_extend_i32_s, 0xac, I32, I64)                                                              \
  X(i64_extend_i32_u, 0xad, I32, I64)                                                              \
  X(i64_trunc_f32_s, 0xae, F32, I64)                                                               \
  X(i64_trunc_f32_u, 0xaf, F32, I64)                                                               \
  X(i64_trunc_f64_s, 0xb0, F64, I64)                                                               \
  X(i64_trunc_f64_u, 0xb1, F64, I64)                                                               \
  X(f32_convert_i32_s, 0xb2, I32, F32)                                                             \
  X(f32_convert_i32_u, 0xb3, I32, F32)                                                             \
  X(f32_convert_i64_s, 0xb4, I64, F32)                                                             \
  X(f32_convert_i64_u, 0xb5, I64, F32)                                                             \
  X(f32_demote_f64, 0xb6, F64, F32)                                                                \
  X(f64_convert_i32_s, 0xb7, I32, F64)                                                             \
  X(f64_convert_i32_u, 0xb8, I32, F64)                                                             \
  X(f64_convert_i64_s, 0xb9, I64, F64)                                                             \
  X(f64_convert_i64_u, 0xba, I64, F64)                                                             \
  X(f64_promote_f32, 0xbb, F32, F64)                                                               \
  X(i32_extend8_s, 0xc0, I32, I32)                                                                 \
  X(i32_extend16_s, 0xc1, I32, I32)                                                                \
  X(i64_extend8_s, 0xc2, I64, I64)                                                                 \
  X(i64_extend16_s, 0xc3, I64, I64)                                                                \
  X(i64_extend32_s, 0xc4, I64, I64)                                                                \
  X(i32_trunc_sat_f32_s, 0xfc00, F32, I32)                                                         \
  X(i32_trunc_sat_f32_u, 0xfc01, F32, I32)                                                         \
  X(i32_trunc_sat_f64_s, 0xfc02, F64, I32)                                                         \
  X(i32_trunc_sat_f64_u, 0xfc03, F64, I32)                                                         \
  X(i64_trunc_sat_f32_s, 0xfc04, F32, I64)                                                         \
  X(i64_trunc_sat_f32_u, 0xfc05, F32, I64)                                                         \
  X(i64_trunc_sat_f64_s, 0xfc06, F64, I64)                                                         \
  X(i64_trunc_sat_f64_u, 0xfc07, F64, I64)

/* X(name, access bytes) — loads: dst, then an address. Results are zero-extended to 64
 * bits, so f32.load and i64.load32_u share l32, i32/i64 load8_u share l8u...
 * Every load and store comes in four addressing modes, so that the address arithmetic
 * C compilers emit before an access runs inside it (with wasm's 32-bit wrap kept):
 *   NAME     a, off          ea = a + off
 *   NAME_ri  a, imm, off     ea = (u32)(a + imm) + off
 *   NAME_rr  a, b, off       ea = (u32)(a + b) + off
 *   NAME_rs  a, b, k, off    ea = (u32)(a + (b << k)) + off */
#define ZH_LOADS(X)                                                                                \
  X(l32, 4)                                                                                        \
  X(l64, 8)                                                                                        \
  X(l8s32, 1)                                                                                      \
  X(l8u, 1)                                                                                        \
  X(l16s32, 2)                                                                                     \
  X(l16u, 2)                                                                                       \
  X(l8s64, 1)                                                                                      \
  X(l16s64, 2)                                                                                     \
  X(l32s64, 4)

/* Stores: value, then an address as for loads. */
#define ZH_STORES(X)                                                                               \
  X(s8, 1)                                                                                         \
  X(s16, 2)                                                                                        \
  X(s32, 4)                                                                                        \
  X(s64, 8)

/* Everything else; operands are documented at each handler in interp.c. */
#define ZH_MISC_OPS(X)                                                                             \
  X(copy)                                                                                          \
  X(copy2)                                                                                         \
  X(i32_add_shl)                                                                                   \
  X(i32_xor_rotl)                                                                                  \
  X(i32_add3)                                                                                      \
  X(i32_add_gset)                                                                                  \
  X(i32_andn_add)                                                                                  \
  X(i32_zbytes)                                                                                    \
  X(br_zbyte)                                                                                      \
  X(br_nozbyte)                                                                                    \
  X(l32_br_zbyte)                                                                                  \
  X(l32_br_nozbyte)                                                                                \
  X(l32x_br_zbyte)                                                                                 \
  X(l32x_br_nozbyte)                                                                               \
  X(br_l8u2_eq)                                                                                    \
  X(br_l8u2_ne)                                                                                    \
  X(br_and_z)                                                                                      \
  X(br_and_nz)                                                                                     \
  X(l32_k)                                                                                         \
  X(s32_k)                                                                                         \
  X(f64_add_m)                                                                                     \
  X(f64_sub_m)                                                                                     \
  X(f64_rsub_m)                                                                                    \
  X(f64_mul_m)                                                                                     \
  X(f64_addto_m)                                                                                   \
  X(const32)                                                                                       \
  X(const64)                                                                                       \
  X(unreachable)                                                                                   \
  X(br)                                                                                            \
  X(br_z)                                                                                          \
  X(br_nz)                                                                                         \
  X(br_i64_z)                                                                                      \
  X(br_i64_nz)                                                                                     \
  X(br_table)                                                                                      \
  X(ret)                                                                                           \
  X(ret1)                                                                                          \
  X(call)                                                                                          \
  X(call_import)                                                                                   \
  X(call_indirect)                                                                                 \
  X(select)                                                                                        \
  X(global_get)                                                                                    \
  X(global_set)                                                                                    \
  X(memory_size)                                                                                   \
  X(memory_grow)                                                                                   \
  X(memory_copy)                                                                                   \
  X(memory_fill)                                                                                   \
  X(memory_init)                                                                                   \
  X(data_drop)                                                                                     \
  X(table_get)                                                                                     \
  X(table_set)                                                                                     \
  X(table_size)                                                                                    \
  X(table_grow)                                                                                    \
  X(table_fill)                                                                                    \
  X(table_copy)                                                                                    \
  X(table_init)                                                                                    \
  X(elem_drop)                                                                                     \
  X(ref_is_null)                                                                                   \
  X(ref_func)                                                                                      \
  X(mem_select)                                                                                    \
  X(mem_restore)                                                                                   \
  X(memory_x)                                                                                      \
  X(lazy)

/* v128 moves and the SIMD instructions' fused forms; operands at each handler. */
#define ZH_V128_OPS(X)                                                                             \
  X(global_get_v)                                                                                  \
  X(global_set_v)                                                                                  \
  X(select_v)                                                                                      \
  X(v128_load_ri)                                                                                  \
  X(v128_load_rr)                                                                                  \
  X(v128_load_rs)                                                                                  \
  X(v128_store_ri)                                                                                 \
  X(v128_store_rr)                                                                                 \
  X(v128_store_rs)                                                                                 \
  X(f32x4_muladd)                                                                                  \
  X(f64x2_muladd)

/* SIMD shifts by a constant count: X(ident of opcodes_simd.h) -> ZH_OP_vi_<ident>. */
#define ZH_V128_SHIFTS(X)                                                                          \
  X(i8x16_shl)                                                                                     \
  X(i8x16_shr_s)                                                                                   \
  X(i8x16_shr_u)                                                                                   \
  X(i16x8_shl)                                                                                     \
  X(i16x8_shr_s)                                                                                   \
  X(i16x8_shr_u)                                                                                   \
  X(i32x4_shl)                                                                                     \
  X(i32x4_shr_s)                                                                                   \
  X(i32x4_shr_u)                                                                                   \
  X(i64x2_shl)                                                                                     \
  X(i64x2_shr_s)                                                                                   \
  X(i64x2_shr_u)

/* Binary SIMD ops that also come with the second operand loaded from memory,
 * ZH_OP_vm_<ident>: dst, a, addr, offset. Only the common arithmetic: every handler added
 * to the interpreter's one function costs the others registers (fib's call path spilled
 * two with a memory form for all 100 binary ops). */
#define ZH_V128_MEM_BINOPS(X)                                                                      \
  X(v128_and)                                                                                      \
  X(v128_or)                                                                                       \
  X(v128_xor)                                                                                      \
  X(i8x16_add)                                                                                     \
  X(i16x8_add)                                                                                     \
  X(i32x4_add)                                                                                     \
  X(i32x4_sub)                                                                                     \
  X(i32x4_mul)                                                                                     \
  X(f32x4_add)                                                                                     \
  X(f32x4_sub)                                                                                     \
  X(f32x4_mul)                                                                                     \
  X(f64x2_add)                                                                                     \
  X(f64x2_sub)                                                                                     \
  X(f64x2_mul)

typedef enum zh_op {
#define ZH_OP_RR_RI(name, ...) ZH_OP_##name##_rr, ZH_OP_##name##_ri,
#define ZH_OP_CMP(name, ...)                                                                       \
  ZH_OP_##name##_rr, ZH_OP_##name##_ri, ZH_OP_br_##name##_rr, ZH_OP_br_##name##_ri,
#define ZH_OP_ONE(name, ...) ZH_OP_##name,
#define ZH_OP_MEM(name, ...) ZH_OP_##name, ZH_OP_##name##_ri, ZH_OP_##name##_rr, ZH_OP_##name##_rs,
#define ZH_OP_LOOP(name) ZH_OP_br_inc_##name,
#define ZH_OP_LOOP2(name) ZH_OP_br_inc2_##name,
#define ZH_OP_SIMD(code, id, ...) ZH_OP_v_##id,
#define ZH_OP_VI(id) ZH_OP_vi_##id,
#define ZH_OP_VM(id) ZH_OP_vm_##id,
  ZH_INT_BINOPS(ZH_OP_RR_RI) ZH_INT_CMPS(ZH_OP_CMP) ZH_OTHER_BINOPS(ZH_OP_ONE) ZH_UNOPS(ZH_OP_ONE)
      ZH_LOADS(ZH_OP_MEM) ZH_STORES(ZH_OP_MEM) ZH_MISC_OPS(ZH_OP_ONE) ZH_LOOP_CMPS(ZH_OP_LOOP)
          ZH_LOOP_CMPS(ZH_OP_LOOP2) ZH_V128_OPS(ZH_OP_ONE) ZH_OPCODES_FD(ZH_OP_SIMD)
              ZH_V128_SHIFTS(ZH_OP_VI) ZH_V128_MEM_BINOPS(ZH_OP_VM)
#undef ZH_OP_SIMD
#undef ZH_OP_VI
#undef ZH_OP_VM
#undef ZH_OP_MEM
#undef ZH_OP_LOOP
#undef ZH_OP_LOOP2
#undef ZH_OP_RR_RI
#undef ZH_OP_CMP
#undef ZH_OP_ONE
                  ZH_OP_COUNT
} zh_op;

/* What memory_x does (its first operand). */
enum { ZH_MEMX_SIZE, ZH_MEMX_GROW, ZH_MEMX_FILL, ZH_MEMX_COPY, ZH_MEMX_INIT };

/* The handler address of every op (interp.c). */
const void *const *zh_interp_handlers(void);

#endif
