// The key-value test guest in JavaScript, built by componentize-js on kv_world.wit (Spin's WIT
// imported directly: the JS SDK's host-API packages are not on the npm registry reachable
// here). `run` understands the commands of kv_guest.c and answers in the same text, so
// tests/host/test_kv.c runs one table of expectations against both guests.
import { Store } from 'fermyon:spin/key-value@2.0.0';
import { open } from 'wasi:keyvalue/store@0.2.0-draft2';
import { increment, swap, Cas } from 'wasi:keyvalue/atomics@0.2.0-draft2';
import { getMany, setMany, deleteMany } from 'wasi:keyvalue/batch@0.2.0-draft2';

const enc = new TextEncoder();
const dec = new TextDecoder();

// A thrown interface error (a ComponentError whose payload is the variant) as text.
function errorText(e) {
  const p = e && e.payload;
  if (!p || typeof p.tag !== 'string') return `exception:${e}`; // the test shows it
  return p.tag === 'other' ? `error:other:${p.val}` : `error:${p.tag}`;
}

const opt = (v) => (v === undefined || v === null ? 'none' : `some:${dec.decode(v)}`);
const sorted = (keys) => [...keys].sort().join(',');

function spin(op, args) {
  const store = Store.open(args[0]);
  try {
    switch (op) {
      case 'spin-open':
        return 'ok';
      case 'spin-set':
        store.set(args[1], enc.encode(args[2]));
        return 'ok';
      case 'spin-get':
        return opt(store.get(args[1]));
      case 'spin-delete':
        store.delete(args[1]);
        return 'ok';
      case 'spin-exists':
        return store.exists(args[1]) ? 'true' : 'false';
      case 'spin-keys':
        return sorted(store.getKeys());
      default:
        return 'bad command';
    }
  } finally {
    store[Symbol.dispose]();
  }
}

function casText(bucket, args) {
  let cas = Cas.new(bucket, args[1]);
  let out = `current=${opt(cas.current())}`;
  if (args.length === 4) bucket.set(args[1], enc.encode(args[3])); // wasi-cas-race
  for (let attempt = 0; attempt < 2; attempt++) {
    out += attempt ? ' second=' : ' swap=';
    try {
      swap(cas, enc.encode(args[2]));
      return out + 'ok';
    } catch (e) {
      const p = e && e.payload;
      if (!p || p.tag !== 'cas-failed') throw e;
      cas = p.val;
      out += `cas-failed current=${opt(cas.current())}`;
    }
  }
  cas[Symbol.dispose]();
  return out;
}

function listAll(bucket) {
  let cursor, pages = 0;
  const keys = [];
  do {
    const page = bucket.listKeys(cursor);
    pages++;
    keys.push(...page.keys);
    cursor = page.cursor;
  } while (cursor !== undefined && cursor !== null);
  return `pages=${pages} keys=${sorted(keys)}`;
}

function wasi(op, args) {
  const bucket = open(args[0]);
  try {
    switch (op) {
      case 'wasi-open':
        return 'ok';
      case 'wasi-set':
        bucket.set(args[1], enc.encode(args[2]));
        return 'ok';
      case 'wasi-get':
        return opt(bucket.get(args[1]));
      case 'wasi-delete':
        bucket.delete(args[1]);
        return 'ok';
      case 'wasi-exists':
        return bucket.exists(args[1]) ? 'true' : 'false';
      case 'wasi-list':
        return listAll(bucket);
      case 'wasi-incr':
        // A negative delta aborts inside componentize-js 0.22's s64 lowering ("Internal
        // bindgen error in coreabi_from_bigint64"), as unsigned too: the test keeps JS's
        // deltas positive and checks negative ones with the C guest.
        return String(increment(bucket, args[1], BigInt(args[2])));
      case 'wasi-cas':
      case 'wasi-cas-race':
        return casText(bucket, args);
      case 'wasi-get-many':
        return getMany(bucket, args.slice(1))
          .map(([k, v]) => `${k}=${opt(v)}`)
          .join(';');
      case 'wasi-set-many': {
        const pairs = [];
        for (let i = 1; i + 1 < args.length; i += 2) pairs.push([args[i], enc.encode(args[i + 1])]);
        setMany(bucket, pairs);
        return 'ok';
      }
      case 'wasi-delete-many':
        deleteMany(bucket, args.slice(1));
        return 'ok';
      default:
        return 'bad command';
    }
  } finally {
    bucket[Symbol.dispose]();
  }
}

export function run(cmd) {
  const [op, ...args] = cmd;
  try {
    if (op.startsWith('spin-') && op !== 'spin-leak') return spin(op, args);
    if (op.startsWith('wasi-')) return wasi(op, args);
    return 'bad command';
  } catch (e) {
    return errorText(e);
  }
}
