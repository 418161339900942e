// Embeds a WIT world into a core module (a `component-type` custom section), as `jco embed`
// does, through jco's own API (componentEmbed, i.e. wasm-tools' `component embed`).
//
//   node tests/components/embed.mjs CORE.wasm WORLD.wit WORLD-NAME OUT.wasm DEP.wit...
//
// Why not `jco embed --wit DIR`: in jco 1.35.0 it fails with "failed to get path metadata
// (os error 44)", because the WASI shim that runs wasm-tools inside jco preopens no host
// directory. The API also takes the WIT as text (witSource), which needs no filesystem, so
// this script appends to WORLD.wit each dependency package (one `package x:y@v;` file each,
// as jco ships them in lib/wit/builtin/) rewritten as a nested `package x:y@v { ... }` block,
// which is WIT's syntax for several packages in one file.
import { readFile, writeFile } from 'node:fs/promises';
import { componentEmbed } from '@bytecodealliance/jco';

const HEADER = /^\s*package\s+([^;{\s]+)\s*;/m;

async function nested(path) {
  const text = await readFile(path, 'utf8');
  const m = HEADER.exec(text);
  if (!m) throw new Error(`${path}: no "package NAME;" header`);
  return `package ${m[1]} {\n${text.slice(0, m.index)}${text.slice(m.index + m[0].length)}\n}\n`;
}

const [core, world, worldName, out, ...deps] = process.argv.slice(2);
if (!out) {
  console.error('usage: embed.mjs CORE.wasm WORLD.wit WORLD-NAME OUT.wasm DEP.wit...');
  process.exit(2);
}
const parts = [await readFile(world, 'utf8'), ...(await Promise.all(deps.map(nested)))];
const bytes = await componentEmbed({
  binary: await readFile(core),
  witSource: parts.join('\n'),
  world: worldName,
});
await writeFile(out, bytes);
