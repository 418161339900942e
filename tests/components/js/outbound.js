// Outbound HTTP: fetches the URL named by the request header x-zerohop-outbound-url (through
// wasi:http/outgoing-handler) and answers 200 with the upstream's status in
// x-upstream-status and its body as the body. When the host refuses or the fetch fails, it
// answers 502 with the error's text, so a test can tell an allowed request from a denied one.
async function handle(req) {
  const url = req.headers.get('x-zerohop-outbound-url');
  if (!url) return new Response('missing x-zerohop-outbound-url\n', { status: 400 });
  try {
    const upstream = await fetch(url);
    return new Response(upstream.body, {
      status: 200,
      headers: {
        'x-upstream-status': String(upstream.status),
        'content-type': upstream.headers.get('content-type') || 'application/octet-stream',
      },
    });
  } catch (err) {
    return new Response(`outbound request failed: ${err}\n`, {
      status: 502,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    });
  }
}

addEventListener('fetch', (event) => event.respondWith(handle(event.request)));
