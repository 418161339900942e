/* libcurl, loaded when the first outbound HTTP request is made rather than at process start.
 *
 * Linking libcurl pulled some thirty shared libraries and their constructors (TLS, Kerberos,
 * LDAP) into every start of the CLI: `zerohop --version` took 5.3 ms instead of about 1 ms.
 * So the library is opened with dlopen on first use and its functions are called through a
 * table. Including this header after <curl/curl.h> maps the curl_* names used by
 * http_out.c onto that table; they may only be reached after wp2_curl_load() succeeded. */
#ifndef ZH_WASIP2_CURL_DL_H
#define ZH_WASIP2_CURL_DL_H

#include <curl/curl.h>

typedef struct wp2_curl_api {
  CURL *(*easy_init)(void);
  CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
  CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
  CURLcode (*easy_pause)(CURL *, int);
  void (*easy_cleanup)(CURL *);
  const char *(*easy_strerror)(CURLcode);
  CURLM *(*multi_init)(void);
  CURLMcode (*multi_add_handle)(CURLM *, CURL *);
  CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
  CURLMcode (*multi_perform)(CURLM *, int *);
  CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd *, unsigned int, int, int *);
  CURLMsg *(*multi_info_read)(CURLM *, int *);
  CURLMcode (*multi_cleanup)(CURLM *);
  struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
  void (*slist_free_all)(struct curl_slist *);
  void (*free)(void *);
} wp2_curl_api;

/* Opens and initialises libcurl once per process (thread-safe). NULL when it cannot be
 * loaded, with the reason in *why (a static string or dlerror()'s). */
const wp2_curl_api *wp2_curl_load(const char **why);
/* The loaded table: only after wp2_curl_load() has returned it. */
const wp2_curl_api *wp2_curl_api_loaded(void);

#ifndef WP2_CURL_DL_IMPL
/* curl.h's type-checking wrappers (GCC) are macros of the same names. */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_easy_init (wp2_curl_api_loaded()->easy_init)
#define curl_easy_setopt (wp2_curl_api_loaded()->easy_setopt)
#define curl_easy_getinfo (wp2_curl_api_loaded()->easy_getinfo)
#define curl_easy_pause (wp2_curl_api_loaded()->easy_pause)
#define curl_easy_cleanup (wp2_curl_api_loaded()->easy_cleanup)
#define curl_easy_strerror (wp2_curl_api_loaded()->easy_strerror)
#define curl_multi_init (wp2_curl_api_loaded()->multi_init)
#define curl_multi_add_handle (wp2_curl_api_loaded()->multi_add_handle)
#define curl_multi_remove_handle (wp2_curl_api_loaded()->multi_remove_handle)
#define curl_multi_perform (wp2_curl_api_loaded()->multi_perform)
#define curl_multi_poll (wp2_curl_api_loaded()->multi_poll)
#define curl_multi_info_read (wp2_curl_api_loaded()->multi_info_read)
#define curl_multi_cleanup (wp2_curl_api_loaded()->multi_cleanup)
#define curl_slist_append (wp2_curl_api_loaded()->slist_append)
#define curl_slist_free_all (wp2_curl_api_loaded()->slist_free_all)
#define curl_free (wp2_curl_api_loaded()->free)
#endif

#endif
