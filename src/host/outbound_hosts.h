/* A component's `allowed_outbound_hosts` in Spin's syntax: parsed once, then matched against
 * every outbound connection (HTTP requests, Redis connections).
 *
 * An entry is `SCHEME://HOST[:PORT]` with an optional trailing `/`:
 *   SCHEME  `*`, or letters only (`http`, `https`, `redis`, `rediss`, `mysql`, `postgres`...);
 *   HOST    `*`; `*.suffix` (every name ending in `.suffix`, not `suffix` itself); `self`
 *           (the app itself: relative requests); an IP address (`[::1]` for IPv6) or a CIDR
 *           network (`10.0.0.0/8`); else an exact name (`*.spin.internal` and
 *           `NAME.spin.internal` are ordinary names: service chaining is the caller's);
 *   PORT    a number, `*`, or a half-open range `LO..HI`; absent, the scheme's well-known port
 *           (http 80, https 443, redis 6379, mysql 3306, postgres 5432, mqtt 1883), and an
 *           error for any other scheme, `*` included.
 * Lists (`{a,b}`), paths, `insecure:allow-all` and entries without a scheme are errors, as in
 * Spin 2 and later. `{{ var }}` templates are rendered by the caller before parsing.
 *
 * Spin 1's `allowed_http_hosts` (the deprecated form) is accepted with
 * ZH_HOST_OUTBOUND_LEGACY_HTTP: a bare `host[:port]` means `https://host[:port]`, `self`
 * means `http://self` and `insecure:allow-all` means "allow everything", each with a warning.
 *
 * The parsed rules are immutable: every thread may match against them concurrently. */
#ifndef ZH_HOST_OUTBOUND_HOSTS_H
#define ZH_HOST_OUTBOUND_HOSTS_H

#include "zerohop/engine.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct zh_host_outbound zh_host_outbound;

/* Receives one warning line (a deprecated form). */
typedef void (*zh_host_outbound_warn_fn)(void *env, const char *line);

enum { ZH_HOST_OUTBOUND_LEGACY_HTTP = 1 };

/* Parses `n` entries for the component `component` (named in messages; may be NULL). A bad
 * entry is ZH_ERR_INVALID, one line naming the component, the entry's index and text and the
 * reason: `component "api": allowed_outbound_hosts[1] "redis://cache:6379/db": has a path`.
 * Warnings go to `warn` (NULL: stderr). n == 0 gives rules that allow nothing. */
zh_error *zh_host_outbound_parse(const char *component, const char *const *entries, size_t n,
                                 int flags, zh_host_outbound_warn_fn warn, void *warn_env,
                                 zh_host_outbound **out);
void zh_host_outbound_free(zh_host_outbound *rules); /* accepts NULL */

/* True if some entry allows `scheme` to `host`:`port`. `host` is a name or an IP address (an
 * IPv6 one with or without brackets); NULL or "" asks about a relative request to the app
 * itself (allowed by a `self` or `*` host). `port` 0 means the scheme's default. Names
 * compare without case. NULL rules allow nothing. */
bool zh_host_outbound_allows(const zh_host_outbound *rules, const char *scheme, const char *host,
                             uint16_t port);

/* The same for a URL `scheme://[user[:pass]@]host[:port][/...]`. A URL that does not parse
 * is not allowed. */
bool zh_host_outbound_allows_url(const zh_host_outbound *rules, const char *url);

/* zh_host_outbound_allows with the rules as an opaque environment: the shape of
 * zh_wasip2_config's http_allowed policy. */
bool zh_host_outbound_policy(void *rules, const char *scheme, const char *host, uint16_t port);

/* The well-known port of a scheme, or 0. */
uint16_t zh_host_outbound_default_port(const char *scheme);

/* Splits an authority `host[:port]` / `[v6]:port` into its host (brackets removed, into
 * `host`, at most `cap` bytes with the NUL) and port (0 when absent). False if malformed. */
bool zh_host_outbound_split_authority(const char *authority, size_t len, char *host, size_t cap,
                                      uint16_t *port);

#endif
