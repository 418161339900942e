// For `jco run --jco-import tests/components/jco-preopen.mjs C.wasm ...`: preopens the host
// directory $ZH_PREOPEN_HOST as $ZH_PREOPEN_GUEST (default "/data") in the WASI shim that jco
// runs components on. jco 1.35.0's `run` preopens nothing and has no flag for it. The shim is
// the copy that jco itself resolves (it keeps its preopens in module state), so it is found
// from jco's package, not from this file.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const host = process.env.ZH_PREOPEN_HOST;
if (host) {
  const fromJco = createRequire(createRequire(import.meta.url).resolve('@bytecodealliance/jco'));
  const fs = await import(pathToFileURL(fromJco.resolve('@bytecodealliance/preview2-shim/filesystem')));
  fs._setPreopens({ [process.env.ZH_PREOPEN_GUEST || '/data']: host });
}
