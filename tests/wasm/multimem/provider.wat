;; A memory for others to import, with initial contents.
(module
  (memory (export "mem") 1)
  (data (i32.const 0) "provided")
  (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0))))
