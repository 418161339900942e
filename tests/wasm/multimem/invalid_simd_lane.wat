;; expect: unknown memory 2 (in v128.store8_lane)
;; at: fd 58 40 02 00 00
(module (memory 1) (memory 1)
  (func (v128.store8_lane 2 0 (i32.const 0) (v128.const i64x2 0 0))))
