;; Valid, but imports an interface that no host defines.
(component
  (import "wasi:zerohop/absent@0.2.0" (instance (export "f" (func))))
)
