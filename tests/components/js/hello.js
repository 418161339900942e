// GET anything: 200, two headers, a fixed body. The simplest handler, for `zerohop serve` and
// its benchmark.
addEventListener('fetch', (event) => {
  event.respondWith(
    new Response('hello from componentize-js\n', {
      status: 200,
      headers: { 'content-type': 'text/plain; charset=utf-8', 'x-zerohop-test': 'hello' },
    }),
  );
});
