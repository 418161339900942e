// Makes a copy of a core module whose entry returns at once: a new function of type
// () -> i32 that returns 0 (run's ok) is appended, and the module's export of
// wasi:cli/run (any 0.2.x) is pointed at it. Everything else (code, data, names) is unchanged, so `zerohop
// run` of the copy times loading the module, linking and instantiating it, and nothing of
// what the program would run. bench/startup_large.sh uses it on SpiderMonkey.
//
//   node bench/return_at_once.mjs IN.wasm OUT.wasm
import { readFileSync, writeFileSync } from "node:fs";

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error("usage: node bench/return_at_once.mjs IN.wasm OUT.wasm");
  process.exit(2);
}
const bytes = readFileSync(input);

function uleb(buf, pos) {
  let value = 0, shift = 0, b;
  do {
    b = buf[pos++];
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80);
  return [value, pos];
}

function encodeUleb(value) {
  const out = [];
  do {
    let b = value & 0x7f;
    value = Math.floor(value / 128);
    if (value) b |= 0x80;
    out.push(b);
  } while (value);
  return Buffer.from(out);
}

function skipLimits(buf, pos) {
  const flags = buf[pos++];
  [, pos] = uleb(buf, pos);
  if (flags & 1) [, pos] = uleb(buf, pos);
  return pos;
}

// Sections as [id, content] in file order.
const sections = [];
for (let pos = 8; pos < bytes.length;) {
  const id = bytes[pos++];
  let size;
  [size, pos] = uleb(bytes, pos);
  sections.push([id, bytes.subarray(pos, pos + size)]);
  pos += size;
}
const find = (id) => sections.find((s) => s[0] === id);
if (!find(1) || !find(3) || !find(7) || !find(10)) {
  console.error(`${input}: needs type, function, export and code sections`);
  process.exit(1);
}

// Imported functions come first in the function index space.
let funcImports = 0;
const imports = find(2);
if (imports) {
  const c = imports[1];
  let [n, pos] = uleb(c, 0);
  for (let i = 0; i < n; i++) {
    let len;
    [len, pos] = uleb(c, pos);
    pos += len;
    [len, pos] = uleb(c, pos);
    pos += len;
    const kind = c[pos++];
    if (kind === 0) {
      [, pos] = uleb(c, pos);
      funcImports++;
    } else if (kind === 1) pos = skipLimits(c, pos + 1);
    else if (kind === 2) pos = skipLimits(c, pos);
    else pos += 2;
  }
}

// A new type () -> i32 at the end of the type section.
const types = find(1);
let [ntypes, tpos] = uleb(types[1], 0);
types[1] = Buffer.concat([encodeUleb(ntypes + 1), types[1].subarray(tpos),
  Buffer.from([0x60, 0x00, 0x01, 0x7f])]);

const funcs = find(3);
let [nfuncs, fpos] = uleb(funcs[1], 0);
funcs[1] = Buffer.concat([encodeUleb(nfuncs + 1), funcs[1].subarray(fpos), encodeUleb(ntypes)]);
const newIndex = funcImports + nfuncs;

const code = find(10);
let [ncode, cpos] = uleb(code[1], 0);
// Body: no locals, i32.const 0, end.
code[1] = Buffer.concat([encodeUleb(ncode + 1), code[1].subarray(cpos),
  Buffer.from([0x04, 0x00, 0x41, 0x00, 0x0b])]);

// Re-point the entry's export; the section is written anew, since the new index may
// take more bytes than the old one.
const exps = find(7);
const e = exps[1];
let [nexp, epos] = uleb(e, 0);
const out = [encodeUleb(nexp)];
let pointed = 0;
for (let i = 0; i < nexp; i++) {
  let len, index;
  [len, epos] = uleb(e, epos);
  const name = e.subarray(epos, epos + len);
  epos += len;
  const kind = e[epos++];
  [index, epos] = uleb(e, epos);
  if (kind === 0 && name.toString().startsWith("wasi:cli/run@")) {
    index = newIndex;
    pointed++;
  }
  out.push(encodeUleb(len), name, Buffer.from([kind]), encodeUleb(index));
}
if (!pointed) {
  console.error(`${input}: does not export wasi:cli/run`);
  process.exit(1);
}
exps[1] = Buffer.concat(out);

const parts = [bytes.subarray(0, 8)];
for (const [id, content] of sections)
  parts.push(Buffer.from([id]), encodeUleb(content.length), content);
writeFileSync(output, Buffer.concat(parts));
