// deps_callee.c's zerohop:deps/text in JavaScript, built by componentize-js (mk/deps.mk)
// against a world that only exports it: a dependency from another toolchain for a C caller
// (tests/host/test_deps.c). kv-open and fetch have no capability to reach here: they answer
// "js".
let counter = 0;

export const text = {
  shout(s) {
    return s.replace(/[a-z]/g, (c) => c.toUpperCase()) + '!';
  },
  reverse(b) {
    return Uint8Array.from(b).reverse();
  },
  echo(b) {
    return b;
  },
  merge(a, b) {
    return { name: a.name + '+' + b.name, qty: a.qty + b.qty, tags: [...a.tags, ...b.tags] };
  },
  count() {
    counter += 1;
    return counter;
  },
  kvOpen() {
    return 'js';
  },
  fetch() {
    return 'js';
  },
  boom() {
    throw new Error('boom');
  },
};
