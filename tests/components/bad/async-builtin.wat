;; Invalid in the stable model: task.return is an async built-in.
(component
  (core func $t (canon task.return))
)
