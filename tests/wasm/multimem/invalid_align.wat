;; expect: alignment must not be larger than natural (2**3 > 4 bytes) (in i32.load)
;; at: 28 43 01 00
(module (memory 1) (memory 1) (func (result i32) (i32.load 1 align=8 (i32.const 0))))
