;; Two defined memories with data, for templates.
(module
  (memory $a (export "a") 1)
  (memory $b (export "b") 1 4)
  (data (memory $a) (i32.const 0) "first")
  (data (memory $b) (i32.const 0) "second")
  (func (export "poke_b") (param i32 i32) (i32.store8 $b (local.get 0) (local.get 1)))
  (func (export "peek_b") (param i32) (result i32) (i32.load8_u $b (local.get 0)))
  (func (export "grow_b") (param i32) (result i32) (memory.grow $b (local.get 0)))
  (func (export "size_b") (result i32) (memory.size $b)))
