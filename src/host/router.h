/* The HTTP trigger's router: which [[trigger.http]] a request path goes to, as Spin decides.
 *
 * Routes are added in manifest order as (route, target) pairs, where target is the
 * caller's index of the trigger. The forms, all Spin's:
 *   /exact            only that path (a trailing slash in the path is ignored)
 *   /prefix/...       /prefix itself (empty path-info) and everything under it
 *   /...              everything
 *   /users/:id/edit   `:name` matches one segment and is captured
 *   /files/:name.json a capture may stop at a dot
 *   /prefix/ + "*"    the same as /prefix/... (routefinder's own spelling)
 * Precedence: the routes are ordered once, at build, by Spin's rule (routefinder 0.5): walk
 * both routes segment by segment and the first difference decides, an exact segment beating
 * a `:capture` beating the wildcard; then more dots first; then fewer segments first. So an
 * exact route beats any wildcard and the longest prefix wins, whatever the manifest order.
 * Routes that tie keep manifest order. A request takes the first route that matches.
 *
 * Duplicates: a route whose text (as written, before the base) was added before replaces the
 * earlier one in place, and the warn callback names both targets, as Spin does.
 * Private components ({ private = true }) have no route: the caller simply does not add them.
 * No match: the caller answers 404 with an empty body.
 *
 * The base (`[application.trigger.http] base`, "/" by default) is prepended: "/api" and
 * "/users/..." make "/api/users/...". spin-matched-route shows the based route,
 * spin-component-route and spin-raw-component-route the route as written.
 *
 * Where zerohop is stricter than Spin: a `*` that is not a whole last segment (followed by
 * more of the route, or glued to a dot) is refused at build, where Spin accepts it and
 * then fails each request that reaches it or hands it a path-info without its slash; and a
 * path that does not start with '/' (the asterisk-form of OPTIONS) matches nothing.
 *
 * Ownership: the router owns copies of the routes and the base. A match borrows from both
 * the router and the path: it is valid while both are. Not thread-safe to build; matching
 * is read-only and may run on any number of threads at once.
 */
#ifndef ZH_HOST_ROUTER_H
#define ZH_HOST_ROUTER_H

#include "zerohop/engine.h"

#include <stdbool.h>
#include <stddef.h>

/* Captures beyond this many in one route are refused at build (ZH_ERR_RESOURCE). */
#define ZH_ROUTER_MAX_CAPTURES 16u

typedef struct zh_router zh_router;

/* Called for a duplicate route: `route` is the based route ("/" for the empty one),
 * `replaced` the earlier target, `effective` the later one that now serves it. */
typedef void (*zh_router_warn_fn)(void *env, const char *route, size_t replaced, size_t effective);

typedef struct zh_router_capture {
  const char *name;  /* the name after ':' in the route, NUL-terminated (the router's) */
  const char *value; /* a slice of the path: not NUL-terminated */
  size_t value_len;
} zh_router_capture;

typedef struct zh_router_result {
  size_t target;                   /* the index passed to zh_router_add */
  const char *route;               /* spin-matched-route: base + route ("/api/users/...") */
  const char *component_route;     /* spin-component-route: as written, without "/..." */
  const char *raw_component_route; /* spin-raw-component-route: as written */
  const char *base;                /* spin-base-path: the base as given ("/" by default) */
  /* spin-path-info: what the trailing wildcard matched, with the slashes Spin keeps ("" for
   * /prefix, "/" for /prefix/, "/a/b" for /prefix/a/b); empty for other routes. A slice of
   * the path or a static string: not NUL-terminated. */
  const char *path_info;
  size_t path_info_len;
  zh_router_capture captures[ZH_ROUTER_MAX_CAPTURES]; /* in route order */
  size_t ncaptures;
} zh_router_result;

/* An empty router with the application's base (NULL means "/"). */
zh_error *zh_router_new(const char *base, zh_router_warn_fn warn, void *warn_env, zh_router **out);
/* Adds one route for target. A bad pattern is ZH_ERR_INVALID naming the route and the
 * reason ("route \"/a/:\": params must be named"); the router is unchanged then. */
zh_error *zh_router_add(zh_router *router, const char *route, size_t target);
/* Orders the routes for matching; after this, no more zh_router_add (ZH_ERR_USAGE). */
zh_error *zh_router_build(zh_router *router);
/* The route for path (the request path without the query, as sent, percent-encoding kept).
 * True and *match filled when one matches; false for no match (answer an empty 404). */
bool zh_router_match(const zh_router *router, const char *path, size_t path_len,
                     zh_router_result *match);
/* Routes in precedence order, for `zerohop up` to print: the based route and its target. */
size_t zh_router_count(const zh_router *router);
const char *zh_router_route_at(const zh_router *router, size_t i, size_t *target);
/* Route i as Spin prints it at start: the based route, or for a trailing wildcard its
 * prefix and " (wildcard)" ("/whee/..." prints "/whee (wildcard)", "/..." " (wildcard)"). */
const char *zh_router_route_display(const zh_router *router, size_t i);
/* True when a route lies under /.well-known/spin/, which the reserved paths shadow. */
bool zh_router_has_reserved(const zh_router *router);
void zh_router_free(zh_router *router); /* accepts NULL */

/* ---- the reserved paths, answered before routing ---------------------------------- */

#define ZH_ROUTER_WELL_KNOWN "/.well-known/spin/"

typedef struct zh_router_reserved {
  int status;               /* 200 or 404 */
  const char *content_type; /* "application/json" for info, else NULL (no header) */
  char *body;               /* owned: free with zh_router_reserved_free; "" for 404 */
  size_t body_len;
} zh_router_reserved;

/* For a path under /.well-known/spin/: health is 200 "OK", info is 200 with Spin's JSON
 * ({"name": ..., "version": ...} pretty-printed, version left out when NULL), anything
 * else 404 with an empty body. Returns false (and leaves *out alone) for other paths, which
 * go on to routing. ZH_ERR_RESOURCE only when memory runs out. */
zh_error *zh_router_reserved_answer(const char *path, size_t path_len, const char *app_name,
                                    const char *app_version, bool *handled,
                                    zh_router_reserved *out);
void zh_router_reserved_free(zh_router_reserved *r);

#endif
