// A Spin HTTP component in the JS SDK's style: a fetch event listener. `/` answers 200 with a
// greeting and two headers, `/echo` echoes a POST body back, anything else is a 404. Written
// without a router package, so it needs no bundler before j2w.
function handle(req) {
  const path = new URL(req.url).pathname;
  if (path === '/') {
    return new Response('hello from a Spin JS app\n', {
      status: 200,
      headers: { 'content-type': 'text/plain; charset=utf-8', 'x-zerohop-test': 'spin-hello' },
    });
  }
  if (path === '/echo' && req.method === 'POST') {
    return new Response(req.body, {
      headers: { 'content-type': req.headers.get('content-type') || 'application/octet-stream' },
    });
  }
  return new Response(`not found: ${path}\n`, { status: 404 });
}

addEventListener('fetch', (event) => event.respondWith(handle(event.request)));
