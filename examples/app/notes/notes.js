// The example's JavaScript component: a small notes service over Spin's key-value store.
//
//   GET    /notes         the ids of every note, one per line
//   GET    /notes/ID      the note (404 if there is none)
//   PUT    /notes/ID      stores the request body as the note (201)
//   DELETE /notes/ID      removes it (204)
//
// The path below the route comes from the `spin-path-info` header that the host sets, so the
// component does not depend on where the app mounts it. A note may be at most `max_note_bytes`
// (a component variable) long.
import { Store } from 'fermyon:spin/key-value@2.0.0';
import { get as getVariable } from 'fermyon:spin/variables@2.0.0';

const PREFIX = 'note:';
const text = (body, status = 200) =>
  new Response(body, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } });

function maxNoteBytes() {
  try {
    const n = Number.parseInt(getVariable('max_note_bytes'), 10);
    return Number.isFinite(n) && n > 0 ? n : 4096;
  } catch {
    return 4096; // not configured
  }
}

async function handle(request) {
  const info = request.headers.get('spin-path-info') || '/';
  const id = decodeURIComponent(info.replace(/^\/+/, ''));
  const store = Store.open('default');
  if (id === '') {
    if (request.method !== 'GET') return text('method not allowed\n', 405);
    const ids = store.getKeys().filter((k) => k.startsWith(PREFIX)).map((k) => k.slice(PREFIX.length));
    return text(ids.sort().map((k) => `${k}\n`).join(''));
  }
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) return text('bad note id\n', 400);
  const key = PREFIX + id;
  switch (request.method) {
    case 'GET': {
      const value = store.get(key);
      return value === undefined ? text('no such note\n', 404) : text(value);
    }
    case 'PUT':
    case 'POST': {
      const body = new Uint8Array(await request.arrayBuffer());
      if (body.length > maxNoteBytes()) return text('note too large\n', 413);
      store.set(key, body);
      return text('stored\n', 201);
    }
    case 'DELETE':
      store.delete(key);
      return new Response(null, { status: 204 });
    default:
      return text('method not allowed\n', 405);
  }
}

addEventListener('fetch', (event) =>
  event.respondWith(
    handle(event.request).catch((e) => text(`error: ${e && e.payload ? JSON.stringify(e.payload) : e}\n`, 500)),
  ),
);
