// Echoes the request body back as the response body, as a stream: the request's
// ReadableStream becomes the response's, so no size limit of the guest's own applies and
// nothing is buffered whole. The method and the body's length (when the client sent one)
// come back as headers.
addEventListener('fetch', (event) => {
  const req = event.request;
  const headers = {
    'content-type': req.headers.get('content-type') || 'application/octet-stream',
    'x-echo-method': req.method,
  };
  const length = req.headers.get('content-length');
  if (length !== null) headers['x-echo-content-length'] = length;
  event.respondWith(new Response(req.body, { status: 200, headers }));
});
