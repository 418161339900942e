;; Canonical ABI options naming memory 1 of a core instance: the strings a lifted function
;; returns and takes live in that memory, not in memory 0 (which holds a decoy). Assembled
;; with `jco parse` (mk/multimem.mk).
(component
  (core module $M
    (memory (export "m0") 1)
    (memory (export "m1") 1)
    (data (memory 0) (i32.const 8) "\10\00\00\00\05\00\00\00")
    (data (memory 0) (i32.const 16) "wrong")
    (data (memory 1) (i32.const 8) "\10\00\00\00\05\00\00\00")
    (data (memory 1) (i32.const 16) "multi")
    (global $next (mut i32) (i32.const 1024))
    ;; a bump allocator in memory 1's address space
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (global.get $next))
      (global.set $next (i32.add (local.get $p) (local.get 3)))
      (local.get $p))
    (func (export "get") (result i32) (i32.const 8))
    ;; the first byte of the string, read from memory 1; memory 0 stays untouched
    (func (export "first") (param i32 i32) (result i32)
      (i32.add (i32.load8_u 1 (local.get 0)) (i32.load8_u 0 (local.get 0)))))
  (core instance $m (instantiate $M))
  (func (export "get") (result string)
    (canon lift (core func $m "get") (memory (core memory $m "m1"))))
  (func (export "first") (param "s" string) (result u32)
    (canon lift (core func $m "first") (memory (core memory $m "m1"))
      (realloc (core func $m "realloc")))))
