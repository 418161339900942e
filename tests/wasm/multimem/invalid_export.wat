;; expect: export 0: unknown memory 3
(module (memory 1) (export "m" (memory 3)))
