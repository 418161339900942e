;; expect: unknown memory 2 (in i32.load)
;; at: 28 42 02 00
(module (memory 1) (func (result i32) (i32.load 2 (i32.const 0))))
