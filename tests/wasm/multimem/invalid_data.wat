;; expect: data 0: unknown memory 2
(module (memory 1) (memory 1) (data (memory 2) (i32.const 0) "x"))
