/* Component dependencies ([component.X.dependencies], Spin 3's syntax): X's imports linked
 * to another component's exports, in-process.
 *
 * At load, app_deps_load resolves every dependency of every component (another component of
 * the app, a file, a file: URL with its digest), matches the key against X's imports ("ns:pkg"
 * takes every interface of that package X imports, "ns:pkg/iface@v" one), checks each
 * function against the dependency's export (zh_link_check: one line naming X, the interface,
 * the function and both types) and defines the import on a linker of X's own. Each
 * (caller, dependency) pair is a "unit": the dependency's binary, its template and the
 * capabilities it runs with, which are none (deny-all) unless the caller sets
 * `dependencies_inherit_configuration = true`, and then exactly the caller's. A dependency
 * that is itself a component of the app brings its own dependencies, so units form a tree;
 * a cycle is a load error.
 *
 * At run time a unit's instance is made on the first call within a request, in a store of
 * its own (so its memory is its own), reused by later calls of that request and freed with
 * the request's (app_call_end). A call is one type-directed copy each way, memory to memory
 * (zh_link_plan_call), and is recorded as a ZH_HOP_CALL hop with the bytes copied. */
#ifndef ZH_HOST_APP_DEPS_H
#define ZH_HOST_APP_DEPS_H

#include "zerohop/engine.h"

#include <stdint.h>

struct zh_app;
struct app_call;
struct app_deps;

/* Links every component that has dependencies and makes its template (after every component
 * is loaded, since a dependency may be a later one). */
zh_error *app_deps_load(struct zh_app *app);
void app_deps_free(struct app_deps *deps); /* accepts NULL */

/* How many dependency instances the app has made, over all requests. */
uint64_t app_deps_instances(const struct zh_app *app);

/* Frees the dependency instances a request made (none if it called none). */
void app_deps_call_end(struct zh_app *app, struct app_call *call);

#endif
