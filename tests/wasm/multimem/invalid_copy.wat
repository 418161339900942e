;; expect: unknown memory 4 (in memory.copy)
;; at: fc 0a 01 04
(module (memory 1) (memory 1)
  (func (memory.copy 1 4 (i32.const 0) (i32.const 0) (i32.const 0))))
