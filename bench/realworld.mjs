// Runs a WASI preview1 command under Node.js's node:wasi, the JIT reference for
// bench/realworld.sh, with the same command line shape as `zerohop run`:
//   node bench/realworld.mjs [--dir HOST::GUEST]... MODULE.wasm [ARGS...]
// The guest sees MODULE as argv[0], an empty environment and the given pre-opens; the
// exit status is the guest's.
import fs from 'node:fs';
import { WASI } from 'node:wasi';

const args = process.argv.slice(2);
const preopens = {};
while (args[0] === '--dir') {
  const [host, guest] = args[1].split('::');
  preopens[guest ?? host] = host;
  args.splice(0, 2);
}
const file = args.shift();
const wasi = new WASI({ version: 'preview1', args: [file, ...args], env: {}, preopens,
                        returnOnExit: true });
const module = await WebAssembly.compile(fs.readFileSync(file));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
