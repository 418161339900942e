;; Memories 0 and 1 imported (from two instances of provider.wat), memory 2 its own: with
;; the providers, a snapshot group.
(module
  (import "p" "mem" (memory $p 1))
  (import "q" "mem" (memory $q 1))
  (memory $own 1)
  (data (memory $own) (i32.const 0) "own")
  (func (export "peek_p") (param i32) (result i32) (i32.load8_u $p (local.get 0)))
  (func (export "peek_q") (param i32) (result i32) (i32.load8_u $q (local.get 0)))
  (func (export "peek_own") (param i32) (result i32) (i32.load8_u $own (local.get 0)))
  (func (export "poke_q") (param i32 i32) (i32.store8 $q (local.get 0) (local.get 1)))
  (func (export "poke_own") (param i32 i32) (i32.store8 $own (local.get 0) (local.get 1))))
