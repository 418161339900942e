// A few routes and a 404 for everything else:
//   GET /            200 "home"
//   GET /hello/NAME  200 "hello NAME"
//   GET /status/N    status N (200-599), empty body
//   anything else    404 "not found: PATH"
function route(req) {
  const path = new URL(req.url).pathname;
  if (req.method === 'GET' && path === '/') return new Response('home\n');
  const hello = /^\/hello\/([^/]+)$/.exec(path);
  if (req.method === 'GET' && hello) {
    return new Response(`hello ${decodeURIComponent(hello[1])}\n`, {
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    });
  }
  const status = /^\/status\/([0-9]{3})$/.exec(path);
  if (req.method === 'GET' && status && +status[1] >= 200 && +status[1] <= 599) {
    return new Response(null, { status: +status[1] });
  }
  return new Response(`not found: ${path}\n`, {
    status: 404,
    headers: { 'content-type': 'text/plain; charset=utf-8' },
  });
}

addEventListener('fetch', (event) => event.respondWith(route(event.request)));
