;; expect: unknown memory 2 (in memory.fill)
;; at: fc 0b 02
(module (memory 1) (memory 1)
  (func (memory.fill 2 (i32.const 0) (i32.const 0) (i32.const 0))))
