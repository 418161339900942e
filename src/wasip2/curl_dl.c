/* Loading libcurl on first use: see curl_dl.h for why. The table is filled once, under
 * pthread_once, and never changes afterwards, so readers need no lock. */
#define WP2_CURL_DL_IMPL
#include "wasip2/curl_dl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

/* Debian's libcurl4-openssl-dev links libcurl.so to this soname. */
#define CURL_SONAME "libcurl.so.4"

/* Process-wide by nature: one shared library, opened once. */
static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static wp2_curl_api api;
static const wp2_curl_api *loaded;
static const char *load_error = "libcurl not loaded";

#define SYM(field, name)                                                                           \
  do {                                                                                             \
    *(void **)&api.field = dlsym(h, name);                                                         \
    if (!api.field) {                                                                              \
      load_error = "libcurl lacks " name;                                                          \
      return;                                                                                      \
    }                                                                                              \
  } while (0)

static void load(void) {
  void *h = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *e = dlerror();
    load_error = e ? e : "cannot open " CURL_SONAME;
    return;
  }
  CURLcode (*global_init)(long) = NULL;
  *(void **)&global_init = dlsym(h, "curl_global_init");
  if (!global_init) {
    load_error = "libcurl lacks curl_global_init";
    return;
  }
  SYM(easy_init, "curl_easy_init");
  SYM(easy_setopt, "curl_easy_setopt");
  SYM(easy_getinfo, "curl_easy_getinfo");
  SYM(easy_pause, "curl_easy_pause");
  SYM(easy_cleanup, "curl_easy_cleanup");
  SYM(easy_strerror, "curl_easy_strerror");
  SYM(multi_init, "curl_multi_init");
  SYM(multi_add_handle, "curl_multi_add_handle");
  SYM(multi_remove_handle, "curl_multi_remove_handle");
  SYM(multi_perform, "curl_multi_perform");
  SYM(multi_poll, "curl_multi_poll");
  SYM(multi_info_read, "curl_multi_info_read");
  SYM(multi_cleanup, "curl_multi_cleanup");
  SYM(slist_append, "curl_slist_append");
  SYM(slist_free_all, "curl_slist_free_all");
  SYM(free, "curl_free");
  if (global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    load_error = "curl_global_init failed";
    return;
  }
  loaded = &api; /* the handle stays open for the process: curl keeps global state */
}

const wp2_curl_api *wp2_curl_load(const char **why) {
  pthread_once(&load_once, load);
  if (!loaded && why)
    *why = load_error;
  return loaded;
}

const wp2_curl_api *wp2_curl_api_loaded(void) { return loaded; }
