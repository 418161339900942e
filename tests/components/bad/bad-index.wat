;; Invalid: a core instance instantiates core module 5; only module 0 exists.
(component
  (core module $m (func (export "f")))
  (core instance $i (instantiate 5))
)
