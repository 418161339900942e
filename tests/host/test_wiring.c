/* The static wiring (src/host/wiring.c) of an app with every kind of edge, from manifest and
 * runtime-config text: routes, dependencies (on a component and on a file), chaining to one
 * component and to all, channels under each transport (local, redis, both, and absent), a
 * subscriber's own Redis use, outside services, key-value on SQLite and on Redis, SQLite;
 * then the printed lines and the DOT text, with and without measurements. */
#include "host/hops_metrics.h"
#include "host/wiring.h"
#include "host/wiring_dot.h"
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

static const char manifest[] =
    "spin_manifest_version = 2\n"
    "[application]\nname = \"shop\"\n"
    "[application.trigger.redis]\naddress = \"redis://cache:6380\"\n"
    "[[trigger.http]]\nroute = \"/checkout\"\ncomponent = \"checkout\"\n"
    "[[trigger.http]]\nroute = \"/stock/...\"\ncomponent = \"inventory\"\n"
    "[[trigger.http]]\nroute = { private = true }\ncomponent = \"pricing\"\n"
    "[[trigger.redis]]\nchannel = \"orders.created\"\ncomponent = \"notifier\"\n"
    "[[trigger.redis]]\nchannel = \"audit\"\ncomponent = \"auditor\"\n"
    "[[trigger.redis]]\nchannel = \"mail\"\ncomponent = \"mailer\"\n"
    "[[trigger.redis]]\nchannel = \"stats\"\ncomponent = \"auditor\"\n"
    "[component.checkout]\nsource = \"checkout.wasm\"\n"
    "allowed_outbound_hosts = [\"http://pricing.spin.internal\", \"redis://cache:6380\", "
    "\"https://pay.example.com\", \"postgres://db\"]\n"
    "key_value_stores = [\"default\", \"sessions\"]\n"
    "[component.checkout.dependencies]\n"
    "\"shop:tax/calc@1.0.0\" = { component = \"pricing\" }\n"
    "\"shop:fraud\" = { path = \"fraud.wasm\" }\n"
    "[component.inventory]\nsource = \"inventory.wasm\"\n"
    "allowed_outbound_hosts = [\"http://*.spin.internal\"]\n"
    "sqlite_databases = [\"default\"]\n"
    "[component.pricing]\nsource = \"pricing.wasm\"\n"
    "[component.notifier]\nsource = \"notifier.wasm\"\n"
    "allowed_outbound_hosts = [\"redis://cache:6380\"]\n"
    "[component.auditor]\nsource = \"auditor.wasm\"\n"
    "[component.mailer]\nsource = \"mailer.wasm\"\n";

static const char runtime_config[] = "[zerohop.channels.\"orders.created\"]\ntransport = \"both\"\n"
                                     "[zerohop.channels.\"audit\"]\ntransport = \"local\"\n"
                                     "[zerohop.channels.\"stats\"]\ntransport = \"redis\"\n"
                                     "[key_value_store.sessions]\ntype = \"redis\"\n"
                                     "url = \"redis://cache:6380\"\n";

/* The edge from -> to, or NULL. */
static const zh_wiring_edge *find(const zh_wiring *w, const char *from, const char *to) {
  for (size_t i = 0; i < w->nedges; i++)
    if (strcmp(w->nodes[w->edges[i].from].name, from) == 0 &&
        strcmp(w->nodes[w->edges[i].to].name, to) == 0)
      return &w->edges[i];
  return NULL;
}

static void expect(const zh_wiring *w, const char *from, const char *to, zh_wiring_edge_kind k,
                   bool network, const char *note) {
  const zh_wiring_edge *e = find(w, from, to);
  if (!e)
    fprintf(stderr, "  no edge %s -> %s\n", from, to);
  CHECK(e != NULL);
  if (!e)
    return;
  CHECK_EQ_INT(e->kind, k);
  CHECK_EQ_INT(e->network, network);
  CHECK(note ? e->note && strcmp(e->note, note) == 0 : e->note == NULL);
}

static char *print(const zh_wiring *w) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  zh_wiring_print(w, f);
  fclose(f);
  return buf;
}

static char *dot(const zh_wiring *w, const zh_hops_scraped *m, size_t n) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  zh_wiring_dot(w, m, n, "shop", f);
  fclose(f);
  return buf;
}

int main(void) {
  zh_manifest *m = NULL;
  zh_runtime_config *rc = NULL;
  CHECK(zh_manifest_parse(manifest, strlen(manifest), "spin.toml", "/app", &m) == NULL);
  CHECK(zh_runtime_config_parse(runtime_config, strlen(runtime_config), "rc.toml", "/app", &rc) ==
        NULL);
  if (!m || !rc)
    return 1;
  zh_wiring w;
  CHECK(zh_wiring_build(m, rc, &w) == NULL);
  expect(&w, "route:/checkout", "checkout", ZH_WIRING_INBOUND, true, NULL);
  expect(&w, "route:/stock/...", "inventory", ZH_WIRING_INBOUND, true, NULL);
  CHECK(zh_wiring_node_find(&w, "route:") < 0); /* a private route has no inbound edge */
  expect(&w, "checkout", "pricing", ZH_WIRING_CALL, false, "shop:tax/calc@1.0.0");
  expect(&w, "checkout", "dep:shop:fraud", ZH_WIRING_CALL, false, "shop:fraud");
  /* chaining: named, and *.spin.internal to every other component with an HTTP trigger */
  expect(&w, "inventory", "checkout", ZH_WIRING_CHAIN, false, "*.spin.internal");
  expect(&w, "inventory", "pricing", ZH_WIRING_CHAIN, false, "*.spin.internal");
  CHECK(find(&w, "inventory", "notifier") == NULL); /* no HTTP trigger */
  /* checkout may publish to every channel at cache:6380, each by its transport */
  expect(&w, "checkout", "redis:orders.created", ZH_WIRING_BUS, false, "transport both");
  expect(&w, "checkout", "redis:audit", ZH_WIRING_BUS, false, "transport local");
  expect(&w, "checkout", "redis:mail", ZH_WIRING_REDIS, true, "transport redis");
  expect(&w, "checkout", "redis:stats", ZH_WIRING_REDIS, true, "transport redis");
  expect(&w, "checkout", "pay.example.com:443", ZH_WIRING_HTTP, true, "https");
  expect(&w, "checkout", "db:5432", ZH_WIRING_OUTBOUND, true, "postgres");
  expect(&w, "checkout", "kv:default", ZH_WIRING_KV, false, "sqlite file");
  expect(&w, "checkout", "kv:sessions", ZH_WIRING_KV, true, "redis");
  expect(&w, "inventory", "sqlite:default", ZH_WIRING_SQLITE, false, "sqlite file");
  /* subscribers; the channel on the server unless local; a subscriber's own Redis use */
  expect(&w, "redis:orders.created", "notifier", ZH_WIRING_BUS, false, "transport both");
  expect(&w, "redis:orders.created", "cache:6380", ZH_WIRING_REDIS, true, "mirrored");
  expect(&w, "redis:audit", "auditor", ZH_WIRING_BUS, false, "transport local");
  CHECK(zh_wiring_node_find(&w, "redis:audit") >= 0);
  for (size_t i = 0; i < w.nedges; i++) /* a local channel never reaches the server */
    CHECK(!(strcmp(w.nodes[w.edges[i].from].name, "redis:audit") == 0 &&
            strcmp(w.nodes[w.edges[i].to].name, "cache:6380") == 0));
  expect(&w, "redis:mail", "mailer", ZH_WIRING_REDIS, true, "transport redis");
  expect(&w, "redis:mail", "cache:6380", ZH_WIRING_REDIS, true, "subscribed");
  expect(&w, "notifier", "cache:6380", ZH_WIRING_REDIS, true, NULL);
  CHECK(find(&w, "notifier", "redis:mail") == NULL); /* a subscriber: commands */
  CHECK_EQ_INT(w.nedges, 24); /* checkout -> pricing twice: a call and a chain */

  char *text = print(&w);
  CHECK(strncmp(text, "Wiring:\n", 8) == 0);
  CHECK(strstr(text, "  checkout -> pricing ") != NULL);
  CHECK(strstr(text, "in-process  call (shop:tax/calc@1.0.0)\n") != NULL);
  CHECK(strstr(text, "network     redis (transport redis)\n") != NULL);
  CHECK(strstr(text, "  24 edges: 11 in-process, 13 network\n") != NULL);
  free(text);

  /* DOT without and with measurements; a measured hop the manifest did not foresee */
  text = dot(&w, NULL, 0);
  CHECK(strstr(text, "digraph \"shop\" {") != NULL);
  CHECK(strstr(text, "\"checkout\" -> \"pricing\" [style=solid") != NULL);
  CHECK(strstr(text, "\"redis:mail\" -> \"mailer\" [style=dashed") != NULL);
  CHECK(strstr(text, "\"redis:audit\" [shape=ellipse") != NULL);
  CHECK(strstr(text, "hops, mean") == NULL);
  free(text);
  static const char scrape[] =
      "zerohop_hops_total{caller=\"checkout\",callee=\"pricing\",kind=\"call\"} 40\n"
      "zerohop_hop_errors_total{caller=\"checkout\",callee=\"pricing\",kind=\"call\"} 2\n"
      "zerohop_hop_duration_seconds_bucket{caller=\"checkout\",callee=\"pricing\",kind=\"call\","
      "le=\"1.6e-05\"} 40\n"
      "zerohop_hop_duration_seconds_bucket{caller=\"checkout\",callee=\"pricing\",kind=\"call\","
      "le=\"+Inf\"} 40\n"
      "zerohop_hop_duration_seconds_sum{caller=\"checkout\",callee=\"pricing\",kind=\"call\"} "
      "0.0004\n"
      "zerohop_hops_total{caller=\"pricing\",callee=\"rates.example:80\",kind=\"http\"} 3\n";
  zh_hops_scraped *sc;
  size_t n;
  CHECK(zh_hops_parse_scrape(scrape, strlen(scrape), "s.prom", &sc, &n) == NULL);
  CHECK(zh_wiring_add_measured(&w, sc, n) == NULL);
  expect(&w, "pricing", "rates.example:80", ZH_WIRING_HTTP, true, "measured only");
  text = dot(&w, sc, n);
  CHECK(strstr(text, "label=\"call: shop:tax/calc@1.0.0\\n40 hops, mean 0.010 ms, p50 ") != NULL);
  CHECK(strstr(text, ", 2 failed\"") != NULL);
  CHECK(strstr(text, "\"rates.example:80\" [shape=box3d") != NULL);
  free(text);
  zh_hops_scraped_free(sc, n);
  zh_wiring_free(&w);
  zh_runtime_config_free(rc);
  zh_manifest_free(m);
  TEST_SUMMARY();
}
