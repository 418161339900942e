;; Invalid: canon lift of a core function whose type is not the lowered form of the lifted one.
(component
  (type $t (func (param "x" u32)))
  (core module $m (func (export "f") (param i64)))
  (core instance $i (instantiate $m))
  (func (export "f") (type $t) (canon lift (core func $i "f")))
)
