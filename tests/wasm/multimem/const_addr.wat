;; tests/wasm/test_const_addr.c: 32-bit loads and stores at a constant address on memory 1,
;; the fused forms (l32_k, s32_k) inside mem_select's brackets. Memory 0 and memory 1 hold
;; different words at 16; each function must touch memory 1's only.
(module
  (memory (export "mem0") 1)
  (memory (export "mem1") 1)
  (func (export "swap1") (param i32) (result i32) (local i32)
    (local.set 1 (i32.load 1 offset=8 (i32.const 8)))
    (i32.store 1 offset=8 (i32.const 8) (local.get 0))
    (local.get 1))
  (func (export "read0") (result i32) (i32.load (i32.const 16))))
