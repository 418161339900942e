;; Valid, but imports wasi:cli/environment with a get-arguments of the wrong type.
(component
  (import "wasi:cli/environment@0.2.0" (instance (export "get-arguments" (func (result u32)))))
)
