;; expect: unknown memory 2 (in i64.store16)
;; at: 3d 41 02 00
(module (memory 1) (memory 1)
  (func (i64.store16 2 (i32.const 0) (i64.const 7))))
