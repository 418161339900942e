/* The static wiring of an app (see wiring.h): one pass over the manifest's components and
 * triggers, with the runtime config for channel transports and store kinds. Outbound host
 * entries are read as written (templates are not rendered: this is the app's shape, not a
 * running instance's), so `{{ var }}` hosts appear as they stand. */
#include "host/wiring.h"

#include "wasm/error.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool grow(void **p, size_t *cap, size_t n, size_t size) {
  if (n < *cap)
    return true;
  size_t c = *cap ? *cap * 2 : 16;
  void *q = realloc(*p, c * size);
  if (!q)
    return false;
  *p = q;
  *cap = c;
  return true;
}

long zh_wiring_node_find(const zh_wiring *w, const char *name) {
  for (size_t i = 0; i < w->nnodes; i++)
    if (strcmp(w->nodes[i].name, name) == 0)
      return (long)i;
  return -1;
}

long zh_wiring_node_add(zh_wiring *w, const char *name, const char *label,
                        zh_wiring_node_kind kind) {
  long at = zh_wiring_node_find(w, name);
  if (at >= 0)
    return at;
  if (!grow((void **)&w->nodes, &w->cap_nodes, w->nnodes, sizeof *w->nodes))
    return -1;
  zh_wiring_node *n = &w->nodes[w->nnodes];
  n->name = strdup(name);
  n->label = strdup(label ? label : name);
  n->kind = kind;
  if (!n->name || !n->label) {
    free(n->name);
    free(n->label);
    return -1;
  }
  return (long)w->nnodes++;
}

bool zh_wiring_edge_add(zh_wiring *w, size_t from, size_t to, zh_wiring_edge_kind kind,
                        bool network, const char *note) {
  for (size_t i = 0; i < w->nedges; i++)
    if (w->edges[i].from == from && w->edges[i].to == to && w->edges[i].kind == kind)
      return true;
  if (!grow((void **)&w->edges, &w->cap_edges, w->nedges, sizeof *w->edges))
    return false;
  char *nt = note ? strdup(note) : NULL;
  if (note && !nt)
    return false;
  w->edges[w->nedges++] = (zh_wiring_edge){from, to, kind, network, nt};
  return true;
}

void zh_wiring_free(zh_wiring *w) {
  for (size_t i = 0; i < w->nnodes; i++) {
    free(w->nodes[i].name);
    free(w->nodes[i].label);
  }
  for (size_t i = 0; i < w->nedges; i++)
    free(w->edges[i].note);
  free(w->nodes);
  free(w->edges);
  memset(w, 0, sizeof *w);
}

const char *zh_wiring_edge_kind_name(zh_wiring_edge_kind kind) {
  static const char *const names[] = {"inbound", "call",     "chain",     "bus",   "redis",
                                      "http",    "outbound", "key-value", "sqlite"};
  return (size_t)kind < sizeof names / sizeof *names ? names[kind] : "?";
}

/* A sticky out-of-memory flag: add freely, check once at the end. */
typedef struct builder {
  zh_wiring *w;
  const zh_manifest *m;
  const zh_runtime_config *rc;
  bool oom;
} builder;

static long node(builder *b, const char *name, const char *label, zh_wiring_node_kind kind) {
  long at = b->oom ? -1 : zh_wiring_node_add(b->w, name, label, kind);
  if (at < 0)
    b->oom = true;
  return at;
}

static void edge(builder *b, long from, long to, zh_wiring_edge_kind kind, bool network,
                 const char *note) {
  if (b->oom || from < 0 || to < 0)
    return;
  if (!zh_wiring_edge_add(b->w, (size_t)from, (size_t)to, kind, network, note))
    b->oom = true;
}

/* An outbound entry split: scheme, host and port ("" when absent). False if it has no
 * "scheme://". */
typedef struct target {
  char scheme[32], host[256], port[32];
} target;

static bool split_entry(const char *entry, target *t) {
  memset(t, 0, sizeof *t);
  const char *sep = strstr(entry, "://");
  if (!sep || (size_t)(sep - entry) >= sizeof t->scheme)
    return false;
  memcpy(t->scheme, entry, (size_t)(sep - entry));
  const char *h = sep + 3, *end = h + strcspn(h, "/");
  const char *colon = NULL;
  if (*h == '[') { /* [v6]:port */
    const char *close = memchr(h, ']', (size_t)(end - h));
    colon = close && close + 1 < end && close[1] == ':' ? close + 1 : NULL;
  } else {
    colon = memchr(h, ':', (size_t)(end - h));
  }
  const char *hend = colon ? colon : end;
  snprintf(t->host, sizeof t->host, "%.*s", (int)(hend - h), h);
  if (colon)
    snprintf(t->port, sizeof t->port, "%.*s", (int)(end - colon - 1), colon + 1);
  return true;
}

static const char *default_port(const char *scheme) {
  static const char *const known[][2] = {
      {"http", "80"},    {"https", "443"},     {"redis", "6379"}, {"rediss", "6379"},
      {"mysql", "3306"}, {"postgres", "5432"}, {"mqtt", "1883"}};
  for (size_t i = 0; i < sizeof known / sizeof *known; i++)
    if (strcasecmp(scheme, known[i][0]) == 0)
      return known[i][1];
  return "*";
}

static void host_port(const target *t, char *out, size_t cap) {
  snprintf(out, cap, "%s:%s", t->host, t->port[0] ? t->port : default_port(t->scheme));
}

/* The Redis trigger address as a "host:port" node name, or false. */
static bool redis_node_name(const char *address, char *out, size_t cap) {
  target t;
  if (!address || !split_entry(address, &t))
    return false;
  const char *at = strrchr(t.host, '@'); /* user:pass@host: the credentials are not shown */
  if (at)
    memmove(t.host, at + 1, strlen(at + 1) + 1);
  host_port(&t, out, cap);
  return true;
}

static zh_runtime_transport transport_of(const builder *b, const char *channel) {
  const zh_runtime_channel *c = b->rc ? zh_runtime_config_channel(b->rc, channel) : NULL;
  return c ? c->transport : ZH_RUNTIME_TRANSPORT_REDIS;
}

static const char *transport_name(zh_runtime_transport t) {
  return t == ZH_RUNTIME_TRANSPORT_LOCAL  ? "transport local"
         : t == ZH_RUNTIME_TRANSPORT_BOTH ? "transport both"
                                          : "transport redis";
}

static bool suffix_is(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

static bool is_http_component(const zh_manifest *m, const char *id) {
  for (size_t i = 0; i < m->nhttp; i++)
    if (m->http[i].component && strcmp(m->http[i].component, id) == 0)
      return true;
  return false;
}

static void routes(builder *b) {
  for (size_t i = 0; i < b->m->nhttp; i++) {
    const zh_manifest_http_trigger *t = &b->m->http[i];
    if (!t->component || t->is_private) /* a private one is reached by chaining only */
      continue;
    char name[600];
    snprintf(name, sizeof name, "route:%s", t->route ? t->route : "");
    long r = node(b, name, t->route, ZH_WIRING_ROUTE);
    edge(b, r, node(b, t->component, NULL, ZH_WIRING_COMPONENT), ZH_WIRING_INBOUND, true, NULL);
  }
}

static void dependencies(builder *b, const zh_manifest_component *c, long from) {
  for (size_t d = 0; d < c->ndependencies; d++) {
    const zh_manifest_dependency *dep = &c->dependencies[d];
    long to;
    if (dep->component) {
      to = node(b, dep->component, NULL, ZH_WIRING_COMPONENT);
    } else {
      char name[600];
      snprintf(name, sizeof name, "dep:%s", dep->name);
      to = node(b, name, dep->name, ZH_WIRING_COMPONENT);
    }
    edge(b, from, to, ZH_WIRING_CALL, false, dep->name);
  }
}

/* True if component `id` subscribes to a channel at `redis` ("host:port"). */
static bool subscribes(const builder *b, const char *id, const char *redis) {
  for (size_t i = 0; i < b->m->nredis; i++) {
    char addr[300];
    if (strcmp(b->m->redis[i].component, id) == 0 &&
        redis_node_name(b->m->redis[i].address, addr, sizeof addr) && strcmp(addr, redis) == 0)
      return true;
  }
  return false;
}

/* Channels of [[trigger.redis]] at `redis` that component `id` may publish to: all of them,
 * unless it is a subscriber there itself (its Redis use is then taken for commands, which
 * keeps a subscriber that writes results back from looking like a publisher everywhere). */
static bool publishes(builder *b, const char *id, long from, const char *redis) {
  if (subscribes(b, id, redis))
    return false;
  bool any = false;
  for (size_t i = 0; i < b->m->nredis; i++) {
    const zh_manifest_redis_trigger *t = &b->m->redis[i];
    char addr[300], name[600];
    if (!redis_node_name(t->address, addr, sizeof addr) || strcmp(addr, redis) != 0)
      continue;
    zh_runtime_transport tr = transport_of(b, t->channel);
    snprintf(name, sizeof name, "redis:%s", t->channel);
    long ch = node(b, name, t->channel, ZH_WIRING_CHANNEL);
    bool local = tr != ZH_RUNTIME_TRANSPORT_REDIS;
    edge(b, from, ch, local ? ZH_WIRING_BUS : ZH_WIRING_REDIS, !local, transport_name(tr));
    any = true;
  }
  return any;
}

static void outbound(builder *b, const zh_manifest_component *c, long from) {
  for (size_t i = 0; i < c->allowed_outbound_hosts.len; i++) {
    const char *entry = c->allowed_outbound_hosts.items[i];
    target t;
    if (!split_entry(entry, &t))
      continue;
    if (suffix_is(t.host, ".spin.internal")) {
      size_t n = strlen(t.host) - strlen(".spin.internal");
      for (size_t k = 0; k < b->m->ncomponents; k++) {
        const char *id = b->m->components[k].id;
        bool named = strlen(id) == n && strncasecmp(id, t.host, n) == 0;
        bool any = n == 1 && t.host[0] == '*' && strcmp(id, c->id) != 0;
        if (named || (any && is_http_component(b->m, id)))
          edge(b, from, node(b, id, NULL, ZH_WIRING_COMPONENT), ZH_WIRING_CHAIN, false,
               named ? NULL : "*.spin.internal");
      }
      continue;
    }
    char hp[300];
    host_port(&t, hp, sizeof hp);
    bool redis = strncasecmp(t.scheme, "redis", 5) == 0;
    if (redis && publishes(b, c->id, from, hp))
      continue;
    bool http = strncasecmp(t.scheme, "http", 4) == 0;
    /* the scheme is worth a note only where the kind does not say it */
    bool plain = strcasecmp(t.scheme, "http") == 0 || strcasecmp(t.scheme, "redis") == 0;
    edge(b, from, node(b, hp, NULL, ZH_WIRING_SERVICE),
         redis  ? ZH_WIRING_REDIS
         : http ? ZH_WIRING_HTTP
                : ZH_WIRING_OUTBOUND,
         true, plain ? NULL : t.scheme);
  }
}

static void stores(builder *b, const zh_manifest_component *c, long from) {
  for (size_t i = 0; i < c->key_value_stores.len; i++) {
    const char *s = c->key_value_stores.items[i];
    const zh_runtime_kv_store *rs = b->rc ? zh_runtime_config_kv_store(b->rc, s) : NULL;
    bool on_redis = rs && rs->type == ZH_RUNTIME_STORE_REDIS;
    char name[300];
    snprintf(name, sizeof name, "kv:%s", s);
    edge(b, from, node(b, name, NULL, ZH_WIRING_STORE), ZH_WIRING_KV, on_redis,
         on_redis ? "redis" : "sqlite file");
  }
  for (size_t i = 0; i < c->sqlite_databases.len; i++) {
    char name[300];
    snprintf(name, sizeof name, "sqlite:%s", c->sqlite_databases.items[i]);
    edge(b, from, node(b, name, NULL, ZH_WIRING_STORE), ZH_WIRING_SQLITE, false, "sqlite file");
  }
}

static void subscribers(builder *b) {
  for (size_t i = 0; i < b->m->nredis; i++) {
    const zh_manifest_redis_trigger *t = &b->m->redis[i];
    zh_runtime_transport tr = transport_of(b, t->channel);
    char name[600], addr[300];
    snprintf(name, sizeof name, "redis:%s", t->channel);
    long ch = node(b, name, t->channel, ZH_WIRING_CHANNEL);
    bool local = tr != ZH_RUNTIME_TRANSPORT_REDIS;
    edge(b, ch, node(b, t->component, NULL, ZH_WIRING_COMPONENT),
         local ? ZH_WIRING_BUS : ZH_WIRING_REDIS, !local, transport_name(tr));
    if (tr != ZH_RUNTIME_TRANSPORT_LOCAL && redis_node_name(t->address, addr, sizeof addr))
      edge(b, ch, node(b, addr, NULL, ZH_WIRING_SERVICE), ZH_WIRING_REDIS, true,
           tr == ZH_RUNTIME_TRANSPORT_BOTH ? "mirrored" : "subscribed");
  }
}

zh_error *zh_wiring_build(const zh_manifest *m, const zh_runtime_config *rc, zh_wiring *out) {
  memset(out, 0, sizeof *out);
  builder b = {out, m, rc, false};
  routes(&b);
  for (size_t i = 0; i < m->ncomponents; i++) {
    const zh_manifest_component *c = &m->components[i];
    long from = node(&b, c->id, NULL, ZH_WIRING_COMPONENT);
    dependencies(&b, c, from);
    outbound(&b, c, from);
    stores(&b, c, from);
  }
  subscribers(&b);
  if (b.oom) {
    zh_wiring_free(out);
    return zh_error_oom();
  }
  return NULL;
}

void zh_wiring_print(const zh_wiring *w, FILE *out) {
  size_t local = 0, net = 0, width = 0;
  for (size_t i = 0; i < w->nedges; i++) {
    const zh_wiring_edge *e = &w->edges[i];
    size_t n = strlen(w->nodes[e->from].name) + strlen(w->nodes[e->to].name) + 4;
    width = n > width ? n : width;
  }
  width = width > 60 ? 60 : width;
  fprintf(out, "Wiring:\n");
  for (size_t i = 0; i < w->nedges; i++) {
    const zh_wiring_edge *e = &w->edges[i];
    char pair[700];
    snprintf(pair, sizeof pair, "%s -> %s", w->nodes[e->from].name, w->nodes[e->to].name);
    fprintf(out, "  %-*s  %-10s  %s%s%s%s\n", (int)width, pair,
            e->network ? "network" : "in-process", zh_wiring_edge_kind_name(e->kind),
            e->note ? " (" : "", e->note ? e->note : "", e->note ? ")" : "");
    if (e->network)
      net++;
    else
      local++;
  }
  fprintf(out, "  %zu edge%s: %zu in-process, %zu network\n", w->nedges, w->nedges == 1 ? "" : "s",
          local, net);
}
