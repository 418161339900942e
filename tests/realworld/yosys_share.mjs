// Writes the share/ tree that @yowasp/yosys ships inside its JavaScript resources module
// (gen/resources-yosys.js: nested objects of file texts, with URLs for the large files)
// out as plain files, so a WASI runtime can pre-open it.
// Usage: node yosys_share.mjs node_modules/@yowasp/yosys/gen OUT
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [gen, out] = process.argv.slice(2);
const { filesystem } = await import(pathToFileURL(path.resolve(gen, 'resources-yosys.js')).href);

function write(node, dir) {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, value] of Object.entries(node)) {
    const p = path.join(dir, name);
    if (typeof value === 'string' || value instanceof Uint8Array) fs.writeFileSync(p, value);
    else if (value instanceof URL) fs.copyFileSync(value, p);
    else write(value, p);
  }
}
write(filesystem, out);
