// The JS Redis guest: Spin's fermyon:spin/redis@2.0.0 from componentize-js, imported from
// the WIT directly. `run` runs the same script as the C guest (tests/host/guests/redis_c) and
// answers the same transcript, one line per command; the inbound-redis handler appends each
// message to the list "got:<COMPONENT>" at REDIS_ADDRESS (both from the environment) and
// answers `error` for the message "fail".
import { Connection } from 'fermyon:spin/redis@2.0.0';
import { getEnvironment } from 'wasi:cli/environment@0.2.10';

const enc = new TextEncoder();
const dec = new TextDecoder();

// A rejected call throws; its payload is the interface's error variant.
function describe(e) {
  const err = e && e.payload !== undefined ? e.payload : e;
  if (!err || typeof err !== 'object') return `err:thrown:${e}`;
  if (err.tag === 'other') return `err:other:${String(err.val).split(' ')[0]}`;
  return `err:${err.tag}`;
}

function line(out, name, f) {
  try {
    out.push(`${name}=${f()}`);
  } catch (e) {
    out.push(`${name}=${describe(e)}`);
  }
}

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function results(list) {
  return list
    .map((r) => {
      switch (r.tag) {
        case 'nil':
          return 'nil';
        case 'status':
          return `status:${r.val}`;
        case 'int64':
          return `int:${r.val}`;
        default:
          return `bin:${dec.decode(r.val)}`;
      }
    })
    .join(',');
}

function script(c, p, out) {
  line(out, 'set', () => (c.set(`${p}k`, enc.encode('v1')), 'ok'));
  line(out, 'get', () => dec.decode(c.get(`${p}k`)));
  line(out, 'get-missing', () => (c.get(`${p}missing`) === undefined ? 'none' : 'some'));
  line(out, 'set-bin', () => (c.set(`${p}bin`, new Uint8Array([0, 0xff, 0x61, 0])), 'ok'));
  line(out, 'get-bin', () => hex(c.get(`${p}bin`)));
  line(out, 'incr', () => String(c.incr(`${p}n`)));
  line(out, 'incr', () => String(c.incr(`${p}n`)));
  line(out, 'incr', () => String(c.incr(`${p}k`)));
  line(out, 'sadd', () => String(c.sadd(`${p}s`, ['a', 'b', 'c'])));
  line(out, 'sadd-again', () => String(c.sadd(`${p}s`, ['a', 'd'])));
  line(out, 'srem', () => String(c.srem(`${p}s`, ['b', 'zz'])));
  line(out, 'smembers', () => c.smembers(`${p}s`).sort().join(','));
  line(out, 'get-set', () => String(c.get(`${p}s`)));
  line(out, 'del', () => String(c.del([`${p}k`, `${p}nothing`])));
  const h = { tag: 'binary', val: enc.encode(`${p}h`) };
  line(out, 'execute', () =>
    results(c.execute('HSET', [h, { tag: 'binary', val: enc.encode('f') }, { tag: 'int64', val: -42n }])),
  );
  line(out, 'execute', () => results(c.execute('HGETALL', [h])));
  line(out, 'execute', () => results(c.execute('PING', [])));
  line(out, 'execute', () =>
    results(c.execute('GET', [{ tag: 'binary', val: enc.encode(`${p}missing`) }])),
  );
  line(out, 'execute', () => results(c.execute('NOSUCHCOMMAND', [])));
  line(out, 'publish', () => (c.publish(`${p}chan`, enc.encode('hello subscriber')), 'ok'));
}

export function run(address, prefix) {
  const out = [];
  let c;
  try {
    c = Connection.open(address);
  } catch (e) {
    return `open=${describe(e)}\n`;
  }
  out.push('open=ok');
  script(c, prefix, out);
  c[Symbol.dispose]?.();
  return out.join('\n') + '\n';
}

// A failure (Redis unreachable while the test restarts it) becomes the interface's `error`
// result: a thrown value that is not one of its cases would trap instead.
export const inboundRedis = {
  handleMessage(message) {
    if (dec.decode(message) === 'fail') throw 'error';
    try {
      const env = new Map(getEnvironment());
      const c = Connection.open(env.get('REDIS_ADDRESS'));
      c.execute('RPUSH', [
        { tag: 'binary', val: enc.encode(`got:${env.get('COMPONENT')}`) },
        { tag: 'binary', val: message },
      ]);
    } catch {
      throw 'error';
    }
  },
};
