;; expect: unknown memory 3 (in memory.size)
;; at: 3f 03
(module (memory 1) (func (result i32) (memory.size 3)))
