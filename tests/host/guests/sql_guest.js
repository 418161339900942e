// A componentize-js guest of fermyon:spin/sqlite@2.0.0, the same world as sql_guest.c
// (sql_guest.wit): it imports Spin's WIT interface directly, as the JS SDK's host-API package
// would. tests/host/test_sqlite.c runs the same checks on both guests.
import { Connection } from 'fermyon:spin/sqlite@2.0.0';

// An error variant of the interface comes out of an import as a thrown value whose payload
// is the variant; letting it propagate out of an export answers err with the same variant.
function describe(e) {
  const p = e && e.payload !== undefined ? e.payload : e;
  if (p && p.tag === 'io') return `io: ${p.val}`;
  return p && p.tag ? p.tag : String(e);
}

export const runner = {
  exec(db, statement, params) {
    const conn = Connection.open(db);
    try {
      return conn.execute(statement, params);
    } finally {
      conn[Symbol.dispose]();
    }
  },

  execAndKeep(db, statement) {
    // Kept in a global, so the connection outlives the call: the instance ends holding it.
    globalThis.kept = globalThis.kept || [];
    const conn = Connection.open(db);
    globalThis.kept.push(conn);
    return conn.execute(statement, []);
  },

  twoConnections(db) {
    let a, b;
    try {
      a = Connection.open(db);
      b = Connection.open(db);
    } catch (e) {
      return `open: ${describe(e)}`;
    }
    try {
      a.execute('CREATE TABLE IF NOT EXISTS two (x INTEGER)', []);
    } catch (e) {
      return `create: ${describe(e)}`;
    }
    a[Symbol.dispose]();
    try {
      b.execute('INSERT INTO two VALUES (2)', []);
    } catch (e) {
      return `insert: ${describe(e)}`;
    }
    b[Symbol.dispose]();
    return 'ok';
  },

  selftest(db) {
    const blob = new Uint8Array([0, 1, 2, 0xfe, 0xff]);
    const text = 'h\u00e9llo, \u4e16\u754c';
    const input = [
      { tag: 'integer', val: -9007199254740993n },
      { tag: 'real', val: 2.5e-300 },
      { tag: 'text', val: text },
      { tag: 'blob', val: blob },
      { tag: 'null' },
    ];
    let conn;
    try {
      conn = Connection.open(db);
    } catch (e) {
      return `open: ${describe(e)}`;
    }
    let res;
    try {
      conn.execute('CREATE TABLE IF NOT EXISTS kinds (i, r, t, b, n)', []);
      conn.execute('INSERT INTO kinds VALUES (?, ?, ?, ?, ?)', input);
      res = conn.execute('SELECT i, r, t, b, n FROM kinds ORDER BY rowid DESC LIMIT 1', []);
    } catch (e) {
      return `execute: ${describe(e)}`;
    } finally {
      conn[Symbol.dispose]();
    }
    if (res.columns.length !== 5 || res.rows.length !== 1) return 'unexpected shape of the result';
    const out = res.rows[0].values;
    for (let k = 0; k < 5; k++) {
      if (out[k].tag !== input[k].tag) return `a different kind came back in column ${k}`;
    }
    if (out[0].val !== input[0].val) return `integer came back as ${out[0].val}`;
    if (out[1].val !== input[1].val) return `real came back as ${out[1].val}`;
    if (out[2].val !== text) return `text came back as ${out[2].val}`;
    const b = out[3].val;
    if (b.length !== blob.length || b.some((x, i) => x !== blob[i])) return 'blob differs';
    if (res.columns[2] !== 't') return `column 2 is named ${res.columns[2]}`;
    return 'ok';
  },
};
