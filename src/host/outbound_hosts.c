/* allowed_outbound_hosts: each entry becomes one rule of three independent parts (scheme,
 * host, port); a connection is allowed when some rule matches all three. Parsing keeps
 * Spin's split of an entry: the port is what follows the last ':' of the authority, so a CIDR
 * network (`10.0.0.0/8:443`) keeps its '/', and an IPv6 address needs brackets. */
#include "outbound_hosts.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum { HOST_ANY, HOST_SELF, HOST_SUFFIX, HOST_EXACT, HOST_NET } host_kind;

typedef struct rule {
  char *scheme; /* NULL: any scheme */
  host_kind host;
  char *name;      /* HOST_SUFFIX (".example.com") and HOST_EXACT, lowercased */
  int family;      /* HOST_NET: AF_INET or AF_INET6 */
  uint8_t net[16]; /* HOST_NET: the network address, host bits cleared */
  unsigned prefix; /* HOST_NET: prefix length in bits */
  bool any_port;   /* else lo <= port < hi */
  uint32_t lo, hi;
} rule;

struct zh_host_outbound {
  rule *rules;
  size_t n;
};

uint16_t zh_host_outbound_default_port(const char *scheme) {
  static const struct {
    const char *scheme;
    uint16_t port;
  } known[] = {{"http", 80},    {"https", 443},     {"redis", 6379},
               {"mysql", 3306}, {"postgres", 5432}, {"mqtt", 1883}};
  for (size_t i = 0; scheme && i < sizeof known / sizeof known[0]; i++)
    if (strcasecmp(scheme, known[i].scheme) == 0)
      return known[i].port;
  return 0;
}

static void lower(char *s) {
  for (; *s; s++)
    *s = (char)tolower((unsigned char)*s);
}

static char *dup_range(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (d) {
    memcpy(d, s, n);
    d[n] = 0;
  }
  return d;
}

/* ---- parsing ---- */

typedef struct entry_ctx {
  const char *component;
  size_t index;
  const char *text;
} entry_ctx;

static zh_error *bad(const entry_ctx *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static zh_error *bad(const entry_ctx *e, const char *fmt, ...) {
  char why[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  if (e->component)
    return zh_error_new(ZH_ERR_INVALID, "component \"%s\": allowed_outbound_hosts[%zu] \"%s\": %s",
                        e->component, e->index, e->text, why);
  return zh_error_new(ZH_ERR_INVALID, "allowed_outbound_hosts[%zu] \"%s\": %s", e->index, e->text,
                      why);
}

static bool parse_u16(const char *s, size_t n, uint32_t *out) {
  if (n == 0 || n > 5)
    return false;
  uint32_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isdigit((unsigned char)s[i]))
      return false;
    v = v * 10 + (uint32_t)(s[i] - '0');
  }
  if (v > 65535)
    return false;
  *out = v;
  return true;
}

static zh_error *parse_scheme(const entry_ctx *e, const char *s, size_t n, rule *r) {
  if (n == 1 && s[0] == '*')
    return NULL;
  if (n && s[0] == '{')
    return bad(e, "scheme lists are not supported");
  if (n == 0)
    return bad(e, "the scheme is empty");
  for (size_t i = 0; i < n; i++)
    if (!isalpha((unsigned char)s[i]))
      return bad(e, "the scheme \"%.*s\" has a character that is not a letter", (int)n, s);
  if (!(r->scheme = dup_range(s, n)))
    return zh_error_new(ZH_ERR_RESOURCE, "out of memory");
  lower(r->scheme);
  return NULL;
}

/* An IP address, optionally with "/prefix": host bits past the prefix are cleared, as Spin
 * truncates them. False if `s` is not one (then it is a name). */
static bool parse_net(const char *s, size_t n, bool bracketed, rule *r) {
  char buf[64];
  const char *slash = memchr(s, '/', n);
  size_t alen = slash ? (size_t)(slash - s) : n;
  if (alen == 0 || alen >= sizeof buf)
    return false;
  memcpy(buf, s, alen);
  buf[alen] = 0;
  if (!bracketed && inet_pton(AF_INET, buf, r->net) == 1) {
    r->family = AF_INET;
    r->prefix = 32;
  } else if (bracketed && inet_pton(AF_INET6, buf, r->net) == 1) {
    r->family = AF_INET6;
    r->prefix = 128;
  } else {
    return false;
  }
  if (slash) {
    uint32_t p;
    if (!parse_u16(slash + 1, n - alen - 1, &p) || p > r->prefix)
      return false;
    r->prefix = p;
  }
  size_t bytes = r->family == AF_INET ? 4 : 16;
  for (size_t i = 0; i < bytes; i++) {
    unsigned keep = r->prefix > i * 8 ? r->prefix - (unsigned)i * 8 : 0;
    r->net[i] &= keep >= 8 ? 0xff : (uint8_t)(0xff << (8 - keep));
  }
  r->host = HOST_NET;
  return true;
}

static zh_error *parse_host(const entry_ctx *e, const char *s, size_t n, bool bracketed, rule *r) {
  if (bracketed) {
    if (!parse_net(s, n, true, r))
      return bad(e, "\"[%.*s]\" is not an IPv6 address or network", (int)n, s);
    return NULL;
  }
  if (n == 0)
    return bad(e, "the host is empty");
  if (n == 1 && s[0] == '*') {
    r->host = HOST_ANY;
    return NULL;
  }
  if ((n == 4 && strncasecmp(s, "self", 4) == 0) ||
      (n == 8 && strncasecmp(s, "self.alt", 8) == 0)) {
    r->host = HOST_SELF;
    return NULL;
  }
  if (s[0] == '{')
    return bad(e, "host lists are not supported");
  if (parse_net(s, n, false, r))
    return NULL;
  const char *slash = memchr(s, '/', n);
  if (slash) {
    if (slash + 1 != s + n)
      return bad(e, "has a path (only SCHEME://HOST[:PORT] is allowed)");
    n--; /* a trailing '/' is allowed */
  }
  if (memchr(s, ':', n))
    return bad(e, "IPv6 addresses go in brackets, as in \"http://[::1]:8080\"");
  if (n >= 2 && s[0] == '*' && s[1] == '.') {
    if (n == 2 || memchr(s + 2, '*', n - 2))
      return bad(e, "a wildcard host is \"*\" or \"*.DOMAIN\"");
    r->host = HOST_SUFFIX;
    s++, n--; /* keep the dot: ".example.com" */
  } else if (memchr(s, '*', n)) {
    return bad(e, "wildcards are allowed only as a leading \"*.\" or as the whole host");
  } else {
    r->host = HOST_EXACT;
  }
  if (!(r->name = dup_range(s, n)))
    return zh_error_new(ZH_ERR_RESOURCE, "out of memory");
  lower(r->name);
  return NULL;
}

static zh_error *parse_port(const entry_ctx *e, const char *s, size_t n, rule *r,
                            const char *scheme) {
  const char *slash = memchr(s, '/', n);
  if (slash) {
    if (slash + 1 != s + n)
      return bad(e, "has a path (only SCHEME://HOST[:PORT] is allowed)");
    n--;
  }
  if (n == 0) {
    uint16_t def = zh_host_outbound_default_port(scheme);
    if (!def)
      return bad(
          e, "no port, and the scheme \"%s\" has no well-known port (write \":PORT\" or \":*\")",
          scheme ? scheme : "*");
    r->lo = def;
    r->hi = (uint32_t)def + 1;
    return NULL;
  }
  if (n == 1 && s[0] == '*') {
    r->any_port = true;
    return NULL;
  }
  if (s[0] == '{')
    return bad(e, "port lists are not supported");
  const char *dots = NULL;
  for (size_t i = 0; i + 1 < n && !dots; i++)
    if (s[i] == '.' && s[i + 1] == '.')
      dots = s + i;
  if (dots) {
    size_t a = (size_t)(dots - s);
    if (!parse_u16(s, a, &r->lo) || !parse_u16(dots + 2, n - a - 2, &r->hi))
      return bad(e, "the port range \"%.*s\" is not LO..HI with numbers up to 65535", (int)n, s);
    if (r->lo >= r->hi)
      return bad(e, "the port range \"%.*s\" is empty (LO..HI excludes HI)", (int)n, s);
    return NULL;
  }
  if (!parse_u16(s, n, &r->lo))
    return bad(e, "the port \"%.*s\" is not a number up to 65535", (int)n, s);
  r->hi = r->lo + 1;
  return NULL;
}

static zh_error *parse_entry(const entry_ctx *e, const char *s, rule *r) {
  size_t n = strlen(s);
  while (n && isspace((unsigned char)*s))
    s++, n--;
  while (n && isspace((unsigned char)s[n - 1]))
    n--;
  const char *sep = NULL;
  for (size_t i = 0; i + 3 <= n && !sep; i++)
    if (memcmp(s + i, "://", 3) == 0)
      sep = s + i;
  if (!sep) {
    if (n == 0 || (n == 1 && (s[0] == '*' || s[0] == ':' || s[0] == '?')))
      return bad(e, "not an outbound host: write SCHEME://HOST[:PORT], with '*' wildcards "
                    "('*://*:*' allows all outbound traffic)");
    if (n == 18 && strncmp(s, "insecure:allow-all", 18) == 0)
      return bad(e, "is no longer allowed: write '*://*:*' to allow all outbound traffic");
    return bad(e, "has no scheme (write e.g. 'https://' or '*://' before the host)");
  }
  zh_error *err = parse_scheme(e, s, (size_t)(sep - s), r);
  if (err)
    return err;
  const char *a = sep + 3, *end = s + n;
  const char *host = a, *hend, *port;
  bool bracketed = a < end && *a == '[';
  if (bracketed) {
    const char *close = memchr(a, ']', (size_t)(end - a));
    if (!close)
      return bad(e, "the '[' of an IPv6 address is not closed");
    host = a + 1;
    hend = close;
    const char *after = close + 1;
    /* "[net]/prefix" keeps the prefix with the address */
    if (after < end && *after == '/') {
      const char *q = after + 1;
      while (q < end && isdigit((unsigned char)*q))
        q++;
      if (q > after + 1) {
        char buf[80];
        size_t hn = (size_t)(hend - host);
        if (hn + (size_t)(q - after) >= sizeof buf)
          return bad(e, "the IPv6 network is too long");
        memcpy(buf, host, hn);
        memcpy(buf + hn, after, (size_t)(q - after));
        buf[hn + (size_t)(q - after)] = 0;
        if (!parse_net(buf, strlen(buf), true, r))
          return bad(e, "\"%s\" is not an IPv6 network", buf);
        after = q;
        host = hend = NULL;
      }
    }
    if (host && (err = parse_host(e, host, (size_t)(hend - host), true, r)))
      return err;
    if (after < end && *after == ':')
      port = after + 1;
    else if (after == end || (*after == '/' && after + 1 == end))
      port = end;
    else
      return bad(e, "unexpected text after the IPv6 address");
  } else {
    const char *colon = NULL;
    for (const char *p = a; p < end; p++)
      if (*p == ':')
        colon = p;
    /* "a:b:c" is a bare IPv6 address: it gets the bracket message below */
    if (colon && memchr(a, ':', (size_t)(colon - a)))
      colon = NULL;
    hend = colon ? colon : end;
    port = colon ? colon + 1 : end;
    if ((err = parse_host(e, host, (size_t)(hend - host), false, r)))
      return err;
  }
  return parse_port(e, port, (size_t)(end - port), r, r->scheme);
}

static void rules_free(rule *rules, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(rules[i].scheme);
    free(rules[i].name);
  }
  free(rules);
}

/* Spin 1's allowed_http_hosts forms, rewritten to Spin 2's with a warning; NULL if `s` is
 * already in Spin 2's form. */
static char *legacy_rewrite(const char *component, const char *s, zh_host_outbound_warn_fn warn,
                            void *env) {
  const char *to = NULL;
  char buf[512];
  if (strstr(s, "://"))
    return NULL;
  if (strcmp(s, "insecure:allow-all") == 0)
    to = "*://*:*";
  else if (strcmp(s, "self") == 0)
    to = "http://self";
  else if (snprintf(buf, sizeof buf, "https://%s", s) < (int)sizeof buf)
    to = buf;
  else
    return NULL;
  char line[700];
  snprintf(line, sizeof line,
           "warning: component \"%s\": allowed_http_hosts entry \"%.200s\" is deprecated; it "
           "means \"%.220s\" in allowed_outbound_hosts",
           component ? component : "?", s, to);
  if (warn)
    warn(env, line);
  else
    fprintf(stderr, "%s\n", line);
  return strdup(to);
}

zh_error *zh_host_outbound_parse(const char *component, const char *const *entries, size_t n,
                                 int flags, zh_host_outbound_warn_fn warn, void *warn_env,
                                 zh_host_outbound **out) {
  *out = NULL;
  zh_host_outbound *o = calloc(1, sizeof *o);
  if (!o || (n && !(o->rules = calloc(n, sizeof *o->rules)))) {
    free(o);
    return zh_error_new(ZH_ERR_RESOURCE, "out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    entry_ctx e = {component, i, entries[i] ? entries[i] : ""};
    char *legacy = (flags & ZH_HOST_OUTBOUND_LEGACY_HTTP)
                       ? legacy_rewrite(component, e.text, warn, warn_env)
                       : NULL;
    zh_error *err = parse_entry(&e, legacy ? legacy : e.text, &o->rules[i]);
    free(legacy);
    o->n = i + 1;
    if (err) {
      zh_host_outbound_free(o);
      return err;
    }
  }
  *out = o;
  return NULL;
}

void zh_host_outbound_free(zh_host_outbound *rules) {
  if (!rules)
    return;
  rules_free(rules->rules, rules->n);
  free(rules);
}

/* ---- matching ---- */

bool zh_host_outbound_split_authority(const char *authority, size_t len, char *host, size_t cap,
                                      uint16_t *port) {
  const char *end = authority + len, *h = authority, *hend, *p = NULL;
  if (len && authority[0] == '[') {
    const char *close = memchr(authority, ']', len);
    if (!close)
      return false;
    h = authority + 1;
    hend = close;
    if (close + 1 < end) {
      if (close[1] != ':')
        return false;
      p = close + 2;
    }
  } else {
    const char *colon = memchr(authority, ':', len);
    hend = colon ? colon : end;
    p = colon ? colon + 1 : NULL;
    if (colon && memchr(colon + 1, ':', (size_t)(end - colon - 1)))
      return false; /* an unbracketed IPv6 address */
  }
  uint32_t v = 0;
  if (p && p < end && !parse_u16(p, (size_t)(end - p), &v))
    return false;
  if ((size_t)(hend - h) >= cap)
    return false;
  memcpy(host, h, (size_t)(hend - h));
  host[hend - h] = 0;
  *port = (uint16_t)v;
  return true;
}

static bool net_contains(const rule *r, const char *host) {
  uint8_t addr[16];
  if (inet_pton(r->family, host, addr) != 1)
    return false;
  for (unsigned bit = 0; bit < r->prefix; bit++) {
    uint8_t m = (uint8_t)(0x80 >> (bit % 8));
    if ((addr[bit / 8] & m) != (r->net[bit / 8] & m))
      return false;
  }
  return true;
}

static bool host_matches(const rule *r, const char *host) {
  size_t n = strlen(host), sn;
  switch (r->host) {
  case HOST_ANY:
    return true;
  case HOST_SELF:
    return false; /* only relative requests reach the app itself */
  case HOST_SUFFIX:
    sn = strlen(r->name);
    return n > sn && strcasecmp(host + n - sn, r->name) == 0;
  case HOST_EXACT:
    return strcasecmp(host, r->name) == 0;
  case HOST_NET:
    return net_contains(r, host);
  }
  return false;
}

bool zh_host_outbound_allows(const zh_host_outbound *rules, const char *scheme, const char *host,
                             uint16_t port) {
  if (!rules || !scheme)
    return false;
  char h[256];
  bool relative = !host || !host[0];
  if (!relative) {
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']')
      host++, n -= 2;
    if (n >= sizeof h)
      return false;
    memcpy(h, host, n);
    h[n] = 0;
  }
  uint32_t p = port ? port : zh_host_outbound_default_port(scheme);
  for (size_t i = 0; i < rules->n; i++) {
    const rule *r = &rules->rules[i];
    if (r->scheme && strcasecmp(r->scheme, scheme) != 0)
      continue;
    if (relative) {
      if (r->host == HOST_ANY || r->host == HOST_SELF)
        return true;
      continue;
    }
    if (!host_matches(r, h))
      continue;
    if (r->any_port || (p != 0 && p >= r->lo && p < r->hi))
      return true;
  }
  return false;
}

bool zh_host_outbound_allows_url(const zh_host_outbound *rules, const char *url) {
  const char *sep = url ? strstr(url, "://") : NULL;
  if (!sep || sep == url || sep - url > 31)
    return false;
  char scheme[32];
  memcpy(scheme, url, (size_t)(sep - url));
  scheme[sep - url] = 0;
  const char *a = sep + 3;
  size_t alen = strcspn(a, "/?#");
  const char *at = NULL;
  for (size_t i = 0; i < alen; i++)
    if (a[i] == '@')
      at = a + i;
  if (at) {
    alen -= (size_t)(at + 1 - a);
    a = at + 1;
  }
  char host[256];
  uint16_t port;
  if (alen == 0 || !zh_host_outbound_split_authority(a, alen, host, sizeof host, &port))
    return false;
  return zh_host_outbound_allows(rules, scheme, host, port);
}

bool zh_host_outbound_policy(void *rules, const char *scheme, const char *host, uint16_t port) {
  return zh_host_outbound_allows((const zh_host_outbound *)rules, scheme, host, port);
}
