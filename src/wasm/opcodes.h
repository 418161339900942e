/* The WebAssembly 2.0 instruction set as X-macro tables (SIMD in opcodes_simd.h).
 *
 *   ZH_OPCODES(X)    single-byte opcodes 0x00-0xd2
 *   ZH_OPCODES_FC(X) the 0xfc-prefixed opcodes; the code is the u32 LEB128 after 0xfc
 *
 * Each entry is X(code, ident, "text name", immediate kind, signature):
 *   - the immediate kind (zh_imm) says which immediates follow the opcode;
 *   - the signature (zh_sig) gives the operand and result types of the instructions whose
 *     typing is fixed; SIG_SPECIAL marks those typed by hand (control, parametric,
 *     variable, table and reference instructions).
 * Codes absent from the tables are illegal. Some idents are C keywords (if, else, return):
 * paste them (ZH_OPCODE_##ident), never use them bare. */
#ifndef ZH_WASM_OPCODES_H
#define ZH_WASM_OPCODES_H

#include "zerohop/engine.h"

/* Immediates, in encoding order. */
typedef enum zh_imm {
  IMM_NONE,
  IMM_BLOCK,         /* blocktype: 0x40, a value type, or an s33 type index */
  IMM_LABEL,         /* u32 label depth */
  IMM_BR_TABLE,      /* u32 count, count label depths, default depth */
  IMM_FUNC,          /* u32 function index */
  IMM_CALL_INDIRECT, /* u32 type index, u32 table index */
  IMM_SELECT_T,      /* u32 count, count value types (valid only with count 1) */
  IMM_LOCAL,         /* u32 local index */
  IMM_GLOBAL,        /* u32 global index */
  IMM_TABLE,         /* u32 table index */
  IMM_MEMARG_1,      /* memarg (u32 flags, [u32 memory], u32 offset) of a 1-byte access */
  IMM_MEMARG_2,      /* ... 2-byte access */
  IMM_MEMARG_4,      /* ... 4-byte access */
  IMM_MEMARG_8,      /* ... 8-byte access */
  IMM_MEMORY,        /* a memory index (Wasm 2.0: one reserved 0x00 byte) */
  IMM_I32,           /* s32 */
  IMM_I64,           /* s64 */
  IMM_F32,           /* 4 bytes, little endian */
  IMM_F64,           /* 8 bytes, little endian */
  IMM_REFTYPE,       /* one byte: 0x70 funcref or 0x6f externref */
  IMM_MEMORY_INIT,   /* u32 data index, a memory index */
  IMM_DATA,          /* u32 data index */
  IMM_MEMORY_COPY,   /* destination and source memory indices */
  IMM_TABLE_INIT,    /* u32 elem index, u32 table index */
  IMM_ELEM,          /* u32 elem index */
  IMM_TABLE_COPY,    /* u32 destination table index, u32 source table index */
  IMM_MEMARG_16,     /* memarg of a 16-byte access (SIMD) */
  IMM_MEMLANE_1,     /* memarg of a 1-byte access, then a lane index byte (< 16) */
  IMM_MEMLANE_2,     /* ... 2-byte, lane < 8 */
  IMM_MEMLANE_4,     /* ... 4-byte, lane < 4 */
  IMM_MEMLANE_8,     /* ... 8-byte, lane < 2 */
  IMM_LANE_2,        /* one lane index byte, < 2 */
  IMM_LANE_4,        /* ... < 4 */
  IMM_LANE_8,        /* ... < 8 */
  IMM_LANE_16,       /* ... < 16 */
  IMM_V128,          /* 16 bytes, little endian */
  IMM_SHUFFLE,       /* 16 lane index bytes, each < 32 */
} zh_imm;

/* Fixed signatures: X(sig, nparams, param0, param1, param2, result or 0). Parameters are
 * listed bottom of the stack first. */
#define ZH_SIGS(X)                                                                                 \
  X(SIG_SPECIAL, 0, 0, 0, 0, 0)                                                                    \
  X(SIG_0_0, 0, 0, 0, 0, 0)                                                                        \
  X(SIG_0_I, 0, 0, 0, 0, ZH_I32)                                                                   \
  X(SIG_0_L, 0, 0, 0, 0, ZH_I64)                                                                   \
  X(SIG_0_F, 0, 0, 0, 0, ZH_F32)                                                                   \
  X(SIG_0_D, 0, 0, 0, 0, ZH_F64)                                                                   \
  X(SIG_I_I, 1, ZH_I32, 0, 0, ZH_I32)                                                              \
  X(SIG_I_L, 1, ZH_I32, 0, 0, ZH_I64)                                                              \
  X(SIG_I_F, 1, ZH_I32, 0, 0, ZH_F32)                                                              \
  X(SIG_I_D, 1, ZH_I32, 0, 0, ZH_F64)                                                              \
  X(SIG_L_I, 1, ZH_I64, 0, 0, ZH_I32)                                                              \
  X(SIG_L_L, 1, ZH_I64, 0, 0, ZH_I64)                                                              \
  X(SIG_L_F, 1, ZH_I64, 0, 0, ZH_F32)                                                              \
  X(SIG_L_D, 1, ZH_I64, 0, 0, ZH_F64)                                                              \
  X(SIG_F_I, 1, ZH_F32, 0, 0, ZH_I32)                                                              \
  X(SIG_F_L, 1, ZH_F32, 0, 0, ZH_I64)                                                              \
  X(SIG_F_F, 1, ZH_F32, 0, 0, ZH_F32)                                                              \
  X(SIG_F_D, 1, ZH_F32, 0, 0, ZH_F64)                                                              \
  X(SIG_D_I, 1, ZH_F64, 0, 0, ZH_I32)                                                              \
  X(SIG_D_L, 1, ZH_F64, 0, 0, ZH_I64)                                                              \
  X(SIG_D_F, 1, ZH_F64, 0, 0, ZH_F32)                                                              \
  X(SIG_D_D, 1, ZH_F64, 0, 0, ZH_F64)                                                              \
  X(SIG_II_I, 2, ZH_I32, ZH_I32, 0, ZH_I32)                                                        \
  X(SIG_LL_I, 2, ZH_I64, ZH_I64, 0, ZH_I32)                                                        \
  X(SIG_LL_L, 2, ZH_I64, ZH_I64, 0, ZH_I64)                                                        \
  X(SIG_FF_I, 2, ZH_F32, ZH_F32, 0, ZH_I32)                                                        \
  X(SIG_FF_F, 2, ZH_F32, ZH_F32, 0, ZH_F32)                                                        \
  X(SIG_DD_I, 2, ZH_F64, ZH_F64, 0, ZH_I32)                                                        \
  X(SIG_DD_D, 2, ZH_F64, ZH_F64, 0, ZH_F64)                                                        \
  X(SIG_II_0, 2, ZH_I32, ZH_I32, 0, 0)                                                             \
  X(SIG_IL_0, 2, ZH_I32, ZH_I64, 0, 0)                                                             \
  X(SIG_IF_0, 2, ZH_I32, ZH_F32, 0, 0)                                                             \
  X(SIG_ID_0, 2, ZH_I32, ZH_F64, 0, 0)                                                             \
  X(SIG_III_0, 3, ZH_I32, ZH_I32, ZH_I32, 0)                                                       \
  X(SIG_0_V, 0, 0, 0, 0, ZH_V128)                                                                  \
  X(SIG_I_V, 1, ZH_I32, 0, 0, ZH_V128)                                                             \
  X(SIG_L_V, 1, ZH_I64, 0, 0, ZH_V128)                                                             \
  X(SIG_F_V, 1, ZH_F32, 0, 0, ZH_V128)                                                             \
  X(SIG_D_V, 1, ZH_F64, 0, 0, ZH_V128)                                                             \
  X(SIG_V_V, 1, ZH_V128, 0, 0, ZH_V128)                                                            \
  X(SIG_V_I, 1, ZH_V128, 0, 0, ZH_I32)                                                             \
  X(SIG_V_L, 1, ZH_V128, 0, 0, ZH_I64)                                                             \
  X(SIG_V_F, 1, ZH_V128, 0, 0, ZH_F32)                                                             \
  X(SIG_V_D, 1, ZH_V128, 0, 0, ZH_F64)                                                             \
  X(SIG_VV_V, 2, ZH_V128, ZH_V128, 0, ZH_V128)                                                     \
  X(SIG_VI_V, 2, ZH_V128, ZH_I32, 0, ZH_V128)                                                      \
  X(SIG_VL_V, 2, ZH_V128, ZH_I64, 0, ZH_V128)                                                      \
  X(SIG_VF_V, 2, ZH_V128, ZH_F32, 0, ZH_V128)                                                      \
  X(SIG_VD_V, 2, ZH_V128, ZH_F64, 0, ZH_V128)                                                      \
  X(SIG_IV_V, 2, ZH_I32, ZH_V128, 0, ZH_V128)                                                      \
  X(SIG_IV_0, 2, ZH_I32, ZH_V128, 0, 0)                                                            \
  X(SIG_VVV_V, 3, ZH_V128, ZH_V128, ZH_V128, ZH_V128)

#define ZH_SIG_ENUM_(sig, n, p0, p1, p2, r) sig,
typedef enum zh_sig { ZH_SIGS(ZH_SIG_ENUM_) ZH_SIG_COUNT } zh_sig;
#undef ZH_SIG_ENUM_

#define ZH_OPCODES(X)                                                                              \
  /* control */                                                                                    \
  X(0x00, unreachable, "unreachable", IMM_NONE, SIG_SPECIAL)                                       \
  X(0x01, nop, "nop", IMM_NONE, SIG_0_0)                                                           \
  X(0x02, block, "block", IMM_BLOCK, SIG_SPECIAL)                                                  \
  X(0x03, loop, "loop", IMM_BLOCK, SIG_SPECIAL)                                                    \
  X(0x04, if, "if", IMM_BLOCK, SIG_SPECIAL)                                                        \
  X(0x05, else, "else", IMM_NONE, SIG_SPECIAL)                                                     \
  X(0x0b, end, "end", IMM_NONE, SIG_SPECIAL)                                                       \
  X(0x0c, br, "br", IMM_LABEL, SIG_SPECIAL)                                                        \
  X(0x0d, br_if, "br_if", IMM_LABEL, SIG_SPECIAL)                                                  \
  X(0x0e, br_table, "br_table", IMM_BR_TABLE, SIG_SPECIAL)                                         \
  X(0x0f, return, "return", IMM_NONE, SIG_SPECIAL)                                                 \
  X(0x10, call, "call", IMM_FUNC, SIG_SPECIAL)                                                     \
  X(0x11, call_indirect, "call_indirect", IMM_CALL_INDIRECT, SIG_SPECIAL)                          \
  /* parametric */                                                                                 \
  X(0x1a, drop, "drop", IMM_NONE, SIG_SPECIAL)                                                     \
  X(0x1b, select, "select", IMM_NONE, SIG_SPECIAL)                                                 \
  X(0x1c, select_t, "select", IMM_SELECT_T, SIG_SPECIAL)                                           \
  /* variables */                                                                                  \
  X(0x20, local_get, "local.get", IMM_LOCAL, SIG_SPECIAL)                                          \
  X(0x21, local_set, "local.set", IMM_LOCAL, SIG_SPECIAL)                                          \
  X(0x22, local_tee, "local.tee", IMM_LOCAL, SIG_SPECIAL)                                          \
  X(0x23, global_get, "global.get", IMM_GLOBAL, SIG_SPECIAL)                                       \
  X(0x24, global_set, "global.set", IMM_GLOBAL, SIG_SPECIAL)                                       \
  /* tables */                                                                                     \
  X(0x25, table_get, "table.get", IMM_TABLE, SIG_SPECIAL)                                          \
  X(0x26, table_set, "table.set", IMM_TABLE, SIG_SPECIAL)                                          \
  /* memory */                                                                                     \
  X(0x28, i32_load, "i32.load", IMM_MEMARG_4, SIG_I_I)                                             \
  X(0x29, i64_load, "i64.load", IMM_MEMARG_8, SIG_I_L)                                             \
  X(0x2a, f32_load, "f32.load", IMM_MEMARG_4, SIG_I_F)                                             \
  X(0x2b, f64_load, "f64.load", IMM_MEMARG_8, SIG_I_D)                                             \
  X(0x2c, i32_load8_s, "i32.load8_s", IMM_MEMARG_1, SIG_I_I)                                       \
  X(0x2d, i32_load8_u, "i32.load8_u", IMM_MEMARG_1, SIG_I_I)                                       \
  X(0x2e, i32_load16_s, "i32.load16_s", IMM_MEMARG_2, SIG_I_I)                                     \
  X(0x2f, i32_load16_u, "i32.load16_u", IMM_MEMARG_2, SIG_I_I)                                     \
  X(0x30, i64_load8_s, "i64.load8_s", IMM_MEMARG_1, SIG_I_L)                                       \
  X(0x31, i64_load8_u, "i64.load8_u", IMM_MEMARG_1, SIG_I_L)                                       \
  X(0x32, i64_load16_s, "i64.load16_s", IMM_MEMARG_2, SIG_I_L)                                     \
  X(0x33, i64_load16_u, "i64.load16_u", IMM_MEMARG_2, SIG_I_L)                                     \
  X(0x34, i64_load32_s, "i64.load32_s", IMM_MEMARG_4, SIG_I_L)                                     \
  X(0x35, i64_load32_u, "i64.load32_u", IMM_MEMARG_4, SIG_I_L)                                     \
  X(0x36, i32_store, "i32.store", IMM_MEMARG_4, SIG_II_0)                                          \
  X(0x37, i64_store, "i64.store", IMM_MEMARG_8, SIG_IL_0)                                          \
  X(0x38, f32_store, "f32.store", IMM_MEMARG_4, SIG_IF_0)                                          \
  X(0x39, f64_store, "f64.store", IMM_MEMARG_8, SIG_ID_0)                                          \
  X(0x3a, i32_store8, "i32.store8", IMM_MEMARG_1, SIG_II_0)                                        \
  X(0x3b, i32_store16, "i32.store16", IMM_MEMARG_2, SIG_II_0)                                      \
  X(0x3c, i64_store8, "i64.store8", IMM_MEMARG_1, SIG_IL_0)                                        \
  X(0x3d, i64_store16, "i64.store16", IMM_MEMARG_2, SIG_IL_0)                                      \
  X(0x3e, i64_store32, "i64.store32", IMM_MEMARG_4, SIG_IL_0)                                      \
  X(0x3f, memory_size, "memory.size", IMM_MEMORY, SIG_0_I)                                         \
  X(0x40, memory_grow, "memory.grow", IMM_MEMORY, SIG_I_I)                                         \
  /* constants */                                                                                  \
  X(0x41, i32_const, "i32.const", IMM_I32, SIG_0_I)                                                \
  X(0x42, i64_const, "i64.const", IMM_I64, SIG_0_L)                                                \
  X(0x43, f32_const, "f32.const", IMM_F32, SIG_0_F)                                                \
  X(0x44, f64_const, "f64.const", IMM_F64, SIG_0_D)                                                \
  /* comparisons */                                                                                \
  X(0x45, i32_eqz, "i32.eqz", IMM_NONE, SIG_I_I)                                                   \
  X(0x46, i32_eq, "i32.eq", IMM_NONE, SIG_II_I)                                                    \
  X(0x47, i32_ne, "i32.ne", IMM_NONE, SIG_II_I)                                                    \
  X(0x48, i32_lt_s, "i32.lt_s", IMM_NONE, SIG_II_I)                                                \
  X(0x49, i32_lt_u, "i32.lt_u", IMM_NONE, SIG_II_I)                                                \
  X(0x4a, i32_gt_s, "i32.gt_s", IMM_NONE, SIG_II_I)                                                \
  X(0x4b, i32_gt_u, "i32.gt_u", IMM_NONE, SIG_II_I)                                                \
  X(0x4c, i32_le_s, "i32.le_s", IMM_NONE, SIG_II_I)                                                \
  X(0x4d, i32_le_u, "i32.le_u", IMM_NONE, SIG_II_I)                                                \
  X(0x4e, i32_ge_s, "i32.ge_s", IMM_NONE, SIG_II_I)                                                \
  X(0x4f, i32_ge_u, "i32.ge_u", IMM_NONE, SIG_II_I)                                                \
  X(0x50, i64_eqz, "i64.eqz", IMM_NONE, SIG_L_I)                                                   \
  X(0x51, i64_eq, "i64.eq", IMM_NONE, SIG_LL_I)                                                    \
  X(0x52, i64_ne, "i64.ne", IMM_NONE, SIG_LL_I)                                                    \
  X(0x53, i64_lt_s, "i64.lt_s", IMM_NONE, SIG_LL_I)                                                \
  X(0x54, i64_lt_u, "i64.lt_u", IMM_NONE, SIG_LL_I)                                                \
  X(0x55, i64_gt_s, "i64.gt_s", IMM_NONE, SIG_LL_I)                                                \
  X(0x56, i64_gt_u, "i64.gt_u", IMM_NONE, SIG_LL_I)                                                \
  X(0x57, i64_le_s, "i64.le_s", IMM_NONE, SIG_LL_I)                                                \
  X(0x58, i64_le_u, "i64.le_u", IMM_NONE, SIG_LL_I)                                                \
  X(0x59, i64_ge_s, "i64.ge_s", IMM_NONE, SIG_LL_I)                                                \
  X(0x5a, i64_ge_u, "i64.ge_u", IMM_NONE, SIG_LL_I)                                                \
  X(0x5b, f32_eq, "f32.eq", IMM_NONE, SIG_FF_I)                                                    \
  X(0x5c, f32_ne, "f32.ne", IMM_NONE, SIG_FF_I)                                                    \
  X(0x5d, f32_lt, "f32.lt", IMM_NONE, SIG_FF_I)                                                    \
  X(0x5e, f32_gt, "f32.gt", IMM_NONE, SIG_FF_I)                                                    \
  X(0x5f, f32_le, "f32.le", IMM_NONE, SIG_FF_I)                                                    \
  X(0x60, f32_ge, "f32.ge", IMM_NONE, SIG_FF_I)                                                    \
  X(0x61, f64_eq, "f64.eq", IMM_NONE, SIG_DD_I)                                                    \
  X(0x62, f64_ne, "f64.ne", IMM_NONE, SIG_DD_I)                                                    \
  X(0x63, f64_lt, "f64.lt", IMM_NONE, SIG_DD_I)                                                    \
  X(0x64, f64_gt, "f64.gt", IMM_NONE, SIG_DD_I)                                                    \
  X(0x65, f64_le, "f64.le", IMM_NONE, SIG_DD_I)                                                    \
  X(0x66, f64_ge, "f64.ge", IMM_NONE, SIG_DD_I)                                                    \
  /* integer arithmetic */                                                                         \
  X(0x67, i32_clz, "i32.clz", IMM_NONE, SIG_I_I)                                                   \
  X(0x68, i32_ctz, "i32.ctz", IMM_NONE, SIG_I_I)                                                   \
  X(0x69, i32_popcnt, "i32.popcnt", IMM_NONE, SIG_I_I)                                             \
  X(0x6a, i32_add, "i32.add", IMM_NONE, SIG_II_I)                                                  \
  X(0x6b, i32_sub, "i32.sub", IMM_NONE, SIG_II_I)                                                  \
  X(0x6c, i32_mul, "i32.mul", IMM_NONE, SIG_II_I)                                                  \
  X(0x6d, i32_div_s, "i32.div_s", IMM_NONE, SIG_II_I)                                              \
  X(0x6e, i32_div_u, "i32.div_u", IMM_NONE, SIG_II_I)                                              \
  X(0x6f, i32_rem_s, "i32.rem_s", IMM_NONE, SIG_II_I)                                              \
  X(0x70, i32_rem_u, "i32.rem_u", IMM_NONE, SIG_II_I)                                              \
  X(0x71, i32_and, "i32.and", IMM_NONE, SIG_II_I)                                                  \
  X(0x72, i32_or, "i32.or", IMM_NONE, SIG_II_I)                                                    \
  X(0x73, i32_xor, "i32.xor", IMM_NONE, SIG_II_I)                                                  \
  X(0x74, i32_shl, "i32.shl", IMM_NONE, SIG_II_I)                                                  \
  X(0x75, i32_shr_s, "i32.shr_s", IMM_NONE, SIG_II_I)                                              \
  X(0x76, i32_shr_u, "i32.shr_u", IMM_NONE, SIG_II_I)                                              \
  X(0x77, i32_rotl, "i32.rotl", IMM_NONE, SIG_II_I)                                                \
  X(0x78, i32_rotr, "i32.rotr", IMM_NONE, SIG_II_I)                                                \
  X(0x79, i64_clz, "i64.clz", IMM_NONE, SIG_L_L)                                                   \
  X(0x7a, i64_ctz, "i64.ctz", IMM_NONE, SIG_L_L)                                                   \
  X(0x7b, i64_popcnt, "i64.popcnt", IMM_NONE, SIG_L_L)                                             \
  X(0x7c, i64_add, "i64.add", IMM_NONE, SIG_LL_L)                                                  \
  X(0x7d, i64_sub, "i64.sub", IMM_NONE, SIG_LL_L)                                                  \
  X(0x7e, i64_mul, "i64.mul", IMM_NONE, SIG_LL_L)                                                  \
  X(0x7f, i64_div_s, "i64.div_s", IMM_NONE, SIG_LL_L)                                              \
  X(0x80, i64_div_u, "i64.div_u", IMM_NONE, SIG_LL_L)                                              \
  X(0x81, i64_rem_s, "i64.rem_s", IMM_NONE, SIG_LL_L)                                              \
  X(0x82, i64_rem_u, "i64.rem_u", IMM_NONE, SIG_LL_L)                                              \
  X(0x83, i64_and, "i64.and", IMM_NONE, SIG_LL_L)                                                  \
  X(0x84, i64_or, "i64.or", IMM_NONE, SIG_LL_L)                                                    \
  X(0x85, i64_xor, "i64.xor", IMM_NONE, SIG_LL_L)                                                  \
  X(0x86, i64_shl, "i64.shl", IMM_NONE, SIG_LL_L)                                                  \
  X(0x87, i64_shr_s, "i64.shr_s", IMM_NONE, SIG_LL_L)                                              \
  X(0x88, i64_shr_u, "i64.shr_u", IMM_NONE, SIG_LL_L)                                              \
  X(0x89, i64_rotl, "i64.rotl", IMM_NONE, SIG_LL_L)                                                \
  X(0x8a, i64_rotr, "i64.rotr", IMM_NONE, SIG_LL_L)                                                \
  /* float arithmetic */                                                                           \
  X(0x8b, f32_abs, "f32.abs", IMM_NONE, SIG_F_F)                                                   \
  X(0x8c, f32_neg, "f32.neg", IMM_NONE, SIG_F_F)                                                   \
  X(0x8d, f32_ceil, "f32.ceil", IMM_NONE, SIG_F_F)                                                 \
  X(0x8e, f32_floor, "f32.floor", IMM_NONE, SIG_F_F)                                               \
  X(0x8f, f32_trunc, "f32.trunc", IMM_NONE, SIG_F_F)                                               \
  X(0x90, f32_nearest, "f32.nearest", IMM_NONE, SIG_F_F)                                           \
  X(0x91, f32_sqrt, "f32.sqrt", IMM_NONE, SIG_F_F)                                                 \
  X(0x92, f32_add, "f32.add", IMM_NONE, SIG_FF_F)                                                  \
  X(0x93, f32_sub, "f32.sub", IMM_NONE, SIG_FF_F)                                                  \
  X(0x94, f32_mul, "f32.mul", IMM_NONE, SIG_FF_F)                                                  \
  X(0x95, f32_div, "f32.div", IMM_NONE, SIG_FF_F)                                                  \
  X(0x96, f32_min, "f32.min", IMM_NONE, SIG_FF_F)                                                  \
  X(0x97, f32_max, "f32.max", IMM_NONE, SIG_FF_F)                                                  \
  X(0x98, f32_copysign, "f32.copysign", IMM_NONE, SIG_FF_F)                                        \
  X(0x99, f64_abs, "f64.abs", IMM_NONE, SIG_D_D)                                                   \
  X(0x9a, f64_neg, "f64.neg", IMM_NONE, SIG_D_D)                                                   \
  X(0x9b, f64_ceil, "f64.ceil", IMM_NONE, SIG_D_D)                                                 \
  X(0x9c, f64_floor, "f64.floor", IMM_NONE, SIG_D_D)                                               \
  X(0x9d, f64_trunc, "f64.trunc", IMM_NONE, SIG_D_D)                                               \
  X(0x9e, f64_nearest, "f64.nearest", IMM_NONE, SIG_D_D)                                           \
  X(0x9f, f64_sqrt, "f64.sqrt", IMM_NONE, SIG_D_D)                                                 \
  X(0xa0, f64_add, "f64.add", IMM_NONE, SIG_DD_D)                                                  \
  X(0xa1, f64_sub, "f64.sub", IMM_NONE, SIG_DD_D)                                                  \
  X(0xa2, f64_mul, "f64.mul", IMM_NONE, SIG_DD_D)                                                  \
  X(0xa3, f64_div, "f64.div", IMM_NONE, SIG_DD_D)                                                  \
  X(0xa4, f64_min, "f64.min", IMM_NONE, SIG_DD_D)                                                  \
  X(0xa5, f64_max, "f64.max", IMM_NONE, SIG_DD_D)                                                  \
  X(0xa6, f64_copysign, "f64.copysign", IMM_NONE, SIG_DD_D)                                        \
  /* conversions */                                                                                \
  X(0xa7, i32_wrap_i64, "i32.wrap_i64", IMM_NONE, SIG_L_I)                                         \
  X(0xa8, i32_trunc_f32_s, "i32.trunc_f32_s", IMM_NONE, SIG_F_I)                                   \
  X(0xa9, i32_trunc_f32_u, "i32.trunc_f32_u", IMM_NONE, SIG_F_I)                                   \
  X(0xaa, i32_trunc_f64_s, "i32.trunc_f64_s", IMM_NONE, SIG_D_I)                                   \
  X(0xab, i32_trunc_f64_u, "i32.trunc_f64_u", IMM_NONE, SIG_D_I)                                   \
  X(0xac, i64_extend_i32_s, "i64.extend_i32_s", IMM_NONE, SIG_I_L)                                 \
  X(0xad, i64_extend_i32_u, "i64.extend_i32_u", IMM_NONE, SIG_I_L)                                 \
  X(0xae, i64_trunc_f32_s, "i64.trunc_f32_s", IMM_NONE, SIG_F_L)                                   \
  X(0xaf, i64_trunc_f32_u, "i64.trunc_f32_u", IMM_NONE, SIG_F_L)                                   \
  X(0xb0, i64_trunc_f64_s, "i64.trunc_f64_s", IMM_NONE, SIG_D_L)                                   \
  X(0xb1, i64_trunc_f64_u, "i64.trunc_f64_u", IMM_NONE, SIG_D_L)                                   \
  X(0xb2, f32_convert_i32_s, "f32.convert_i32_s", IMM_NONE, SIG_I_F)                               \
  X(0xb3, f32_convert_i32_u, "f32.convert_i32_u", IMM_NONE, SIG_I_F)                               \
  X(0xb4, f32_convert_i64_s, "f32.convert_i64_s", IMM_NONE, SIG_L_F)                               \
  X(0xb5, f32_convert_i64_u, "f32.convert_i64_u", IMM_NONE, SIG_L_F)                               \
  X(0xb6, f32_demote_f64, "f32.demote_f64", IMM_NONE, SIG_D_F)                                     \
  X(0xb7, f64_convert_i32_s, "f64.convert_i32_s", IMM_NONE, SIG_I_D)                               \
  X(0xb8, f64_convert_i32_u, "f64.convert_i32_u", IMM_NONE, SIG_I_D)                               \
  X(0xb9, f64_convert_i64_s, "f64.convert_i64_s", IMM_NONE, SIG_L_D)                               \
  X(0xba, f64_convert_i64_u, "f64.convert_i64_u", IMM_NONE, SIG_L_D)                               \
  X(0xbb, f64_promote_f32, "f64.promote_f32", IMM_NONE, SIG_F_D)                                   \
  X(0xbc, i32_reinterpret_f32, "i32.reinterpret_f32", IMM_NONE, SIG_F_I)                           \
  X(0xbd, i64_reinterpret_f64, "i64.reinterpret_f64", IMM_NONE, SIG_D_L)                           \
  X(0xbe, f32_reinterpret_i32, "f32.reinterpret_i32", IMM_NONE, SIG_I_F)                           \
  X(0xbf, f64_reinterpret_i64, "f64.reinterpret_i64", IMM_NONE, SIG_L_D)                           \
  /* sign extension */                                                                             \
  X(0xc0, i32_extend8_s, "i32.extend8_s", IMM_NONE, SIG_I_I)                                       \
  X(0xc1, i32_extend16_s, "i32.extend16_s", IMM_NONE, SIG_I_I)                                     \
  X(0xc2, i64_extend8_s, "i64.extend8_s", IMM_NONE, SIG_L_L)                                       \
  X(0xc3, i64_extend16_s, "i64.extend16_s", IMM_NONE, SIG_L_L)                                     \
  X(0xc4, i64_extend32_s, "i64.extend32_s", IMM_NONE, SIG_L_L)                                     \
  /* references */                                                                                 \
  X(0xd0, ref_null, "ref.null", IMM_REFTYPE, SIG_SPECIAL)                                          \
  X(0xd1, ref_is_null, "ref.is_null", IMM_NONE, SIG_SPECIAL)                                       \
  X(0xd2, ref_func, "ref.func", IMM_FUNC, SIG_SPECIAL)

/* The 0xfc prefix: saturating truncation, bulk memory and table instructions. */
#define ZH_PREFIX_FC 0xfc

#define ZH_OPCODES_FC(X)                                                                           \
  X(0, i32_trunc_sat_f32_s, "i32.trunc_sat_f32_s", IMM_NONE, SIG_F_I)                              \
  X(1, i32_trunc_sat_f32_u, "i32.trunc_sat_f32_u", IMM_NONE, SIG_F_I)                              \
  X(2, i32_trunc_sat_f64_s, "i32.trunc_sat_f64_s", IMM_NONE, SIG_D_I)                              \
  X(3, i32_trunc_sat_f64_u, "i32.trunc_sat_f64_u", IMM_NONE, SIG_D_I)                              \
  X(4, i64_trunc_sat_f32_s, "i64.trunc_sat_f32_s", IMM_NONE, SIG_F_L)                              \
  X(5, i64_trunc_sat_f32_u, "i64.trunc_sat_f32_u", IMM_NONE, SIG_F_L)                              \
  X(6, i64_trunc_sat_f64_s, "i64.trunc_sat_f64_s", IMM_NONE, SIG_D_L)                              \
  X(7, i64_trunc_sat_f64_u, "i64.trunc_sat_f64_u", IMM_NONE, SIG_D_L)                              \
  X(8, memory_init, "memory.init", IMM_MEMORY_INIT, SIG_III_0)                                     \
  X(9, data_drop, "data.drop", IMM_DATA, SIG_0_0)                                                  \
  X(10, memory_copy, "memory.copy", IMM_MEMORY_COPY, SIG_III_0)                                    \
  X(11, memory_fill, "memory.fill", IMM_MEMORY, SIG_III_0)                                         \
  X(12, table_init, "table.init", IMM_TABLE_INIT, SIG_III_0)                                       \
  X(13, elem_drop, "elem.drop", IMM_ELEM, SIG_0_0)                                                 \
  X(14, table_copy, "table.copy", IMM_TABLE_COPY, SIG_III_0)                                       \
  X(15, table_grow, "table.grow", IMM_TABLE, SIG_SPECIAL)                                          \
  X(16, table_size, "table.size", IMM_TABLE, SIG_0_I)                                              \
  X(17, table_fill, "table.fill", IMM_TABLE, SIG_SPECIAL)

#define ZH_FC_COUNT 18u

/* Opcode constants: ZH_OPCODE_i32_add, ZH_OPCODE_FC_memory_copy, ... (the ZH_OP_ prefix
 * belongs to the interpreter's zh_op in ops.h). */
#define ZH_OPCODE_ENUM_(code, id, name, imm, sig) ZH_OPCODE_##id = (code),
enum { ZH_OPCODES(ZH_OPCODE_ENUM_) };
#undef ZH_OPCODE_ENUM_
#define ZH_OPCODE_FC_ENUM_(code, id, name, imm, sig) ZH_OPCODE_FC_##id = (code),
enum { ZH_OPCODES_FC(ZH_OPCODE_FC_ENUM_) };
#undef ZH_OPCODE_FC_ENUM_

/* Natural alignment (log2 of the access width in bytes) of a memarg immediate kind. */
static inline unsigned zh_imm_natural_align(zh_imm imm) {
  switch (imm) {
  case IMM_MEMARG_16:
    return 4u;
  case IMM_MEMARG_8:
  case IMM_MEMLANE_8:
    return 3u;
  case IMM_MEMARG_4:
  case IMM_MEMLANE_4:
    return 2u;
  case IMM_MEMARG_2:
  case IMM_MEMLANE_2:
    return 1u;
  default:
    return 0u;
  }
}

/* A memarg's flags field: the alignment (log2) in bits 0-5, and bit 6 set when a memory
 * index follows (multi-memory; without it the access is to memory 0). */
#define ZH_MEMARG_ALIGN_MASK 0x3fu
#define ZH_MEMARG_HAS_MEMORY 0x40u

static inline int zh_imm_is_memarg(zh_imm imm) {
  return (imm >= IMM_MEMARG_1 && imm <= IMM_MEMARG_8) ||
         (imm >= IMM_MEMARG_16 && imm <= IMM_MEMLANE_8);
}

/* The number of lanes a lane index immediate may name (0: the kind has no lane). */
static inline unsigned zh_imm_lanes(zh_imm imm) {
  switch (imm) {
  case IMM_MEMLANE_1:
  case IMM_LANE_16:
    return 16u;
  case IMM_MEMLANE_2:
  case IMM_LANE_8:
    return 8u;
  case IMM_MEMLANE_4:
  case IMM_LANE_4:
    return 4u;
  case IMM_MEMLANE_8:
  case IMM_LANE_2:
    return 2u;
  default:
    return 0u;
  }
}

#include "wasm/opcodes_simd.h"

#define ZH_OPCODE_FD_ENUM_(code, id, name, imm, sig, shape) ZH_OPCODE_FD_##id = (code),
enum { ZH_OPCODES_FD(ZH_OPCODE_FD_ENUM_) };
#undef ZH_OPCODE_FD_ENUM_

#endif
