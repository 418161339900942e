;; expect: unknown memory 1 (in memory.grow)
;; at: 40 01
(module (memory 1) (func (result i32) (memory.grow 1 (i32.const 1))))
