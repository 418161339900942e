;; expect: unknown memory 3 (in memory.init)
;; at: fc 08 00 03
(module (memory 1) (data "x")
  (func (memory.init 3 0 (i32.const 0) (i32.const 0) (i32.const 0))))
