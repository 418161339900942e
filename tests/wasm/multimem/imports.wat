;; Two imported memories; tests/wasm/test_multimem.c gives it two memories, then one
;; memory under both names.
(module
  (import "p1" "mem" (memory $x 1))
  (import "p2" "mem" (memory $y 1))
  (func (export "poke_x") (param i32 i32) (i32.store8 $x (local.get 0) (local.get 1)))
  (func (export "poke_y") (param i32 i32) (i32.store8 $y (local.get 0) (local.get 1)))
  (func (export "peek_x") (param i32) (result i32) (i32.load8_u $x (local.get 0)))
  (func (export "peek_y") (param i32) (result i32) (i32.load8_u $y (local.get 0)))
  (func (export "size_x") (result i32) (memory.size $x))
  (func (export "grow_y") (param i32) (result i32) (memory.grow $y (local.get 0)))
)
