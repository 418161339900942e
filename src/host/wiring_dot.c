/* DOT text for the wiring (see wiring_dot.h). Measurements attach to an edge by its two
 * ends' names, summed over the hop kinds that measured it (a publish under transport both
 * can be a bus hop and a Redis hop). */
#include "host/wiring_dot.h"

#include "wasm/error.h"

#include <string.h>

/* A quoted DOT id or label: backslash and double quote escaped, newlines as \n. */
static void put_quoted(FILE *out, const char *s) {
  fputc('"', out);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      fputc('\\', out);
    if (*s == '\n') {
      fputs("\\n", out);
      continue;
    }
    fputc(*s, out);
  }
  fputc('"', out);
}

static zh_wiring_node_kind node_kind_of(const char *name, bool is_callee, zh_hop_kind kind) {
  if (strncmp(name, "redis:", 6) == 0)
    return ZH_WIRING_CHANNEL;
  if (is_callee && (kind == ZH_HOP_HTTP_OUT || kind == ZH_HOP_REDIS) && strchr(name, ':'))
    return ZH_WIRING_SERVICE;
  return ZH_WIRING_COMPONENT;
}

static zh_wiring_edge_kind edge_kind_of(zh_hop_kind k) {
  switch (k) {
  case ZH_HOP_CALL:
    return ZH_WIRING_CALL;
  case ZH_HOP_CHAIN:
    return ZH_WIRING_CHAIN;
  case ZH_HOP_BUS:
    return ZH_WIRING_BUS;
  case ZH_HOP_REDIS:
    return ZH_WIRING_REDIS;
  default:
    return ZH_WIRING_HTTP;
  }
}

static bool edge_has(const zh_wiring *w, const zh_wiring_edge *e, const zh_hops_scraped *s) {
  return strcmp(w->nodes[e->from].name, s->caller) == 0 &&
         strcmp(w->nodes[e->to].name, s->callee) == 0;
}

zh_error *zh_wiring_add_measured(zh_wiring *w, const zh_hops_scraped *m, size_t n) {
  for (size_t i = 0; i < n; i++) {
    bool known = false;
    for (size_t k = 0; k < w->nedges && !known; k++)
      known = edge_has(w, &w->edges[k], &m[i]);
    if (known)
      continue;
    long a = zh_wiring_node_add(w, m[i].caller, NULL, node_kind_of(m[i].caller, false, m[i].kind));
    long b = zh_wiring_node_add(w, m[i].callee, NULL, node_kind_of(m[i].callee, true, m[i].kind));
    bool network = m[i].kind == ZH_HOP_REDIS || m[i].kind == ZH_HOP_HTTP_OUT;
    if (a < 0 || b < 0 ||
        !zh_wiring_edge_add(w, (size_t)a, (size_t)b, edge_kind_of(m[i].kind), network,
                            "measured only"))
      return zh_error_oom();
  }
  return NULL;
}

static void put_node(FILE *out, const zh_wiring_node *nd) {
  static const char *const style[] = {
      [ZH_WIRING_ROUTE] = "shape=rarrow, style=filled, fillcolor=\"#eeeeee\"",
      [ZH_WIRING_COMPONENT] = "shape=box, style=\"rounded,filled\", fillcolor=\"#dbe9ff\"",
      [ZH_WIRING_CHANNEL] = "shape=ellipse, style=filled, fillcolor=\"#fff3c4\"",
      [ZH_WIRING_STORE] = "shape=cylinder, style=filled, fillcolor=\"#e3f2e3\"",
      [ZH_WIRING_SERVICE] = "shape=box3d, style=filled, fillcolor=\"#f9e0e0\"",
  };
  static const char *const prefix[] = {
      [ZH_WIRING_ROUTE] = "", [ZH_WIRING_COMPONENT] = "", [ZH_WIRING_CHANNEL] = "channel ",
      [ZH_WIRING_STORE] = "", [ZH_WIRING_SERVICE] = "",
  };
  fputs("  ", out);
  put_quoted(out, nd->name);
  char label[700];
  snprintf(label, sizeof label, "%s%s", prefix[nd->kind], nd->label);
  fprintf(out, " [%s, label=", style[nd->kind]);
  put_quoted(out, label);
  fputs("];\n", out);
}

/* The edge's label: kind, note, and what was measured on it. */
static void edge_label(const zh_wiring *w, const zh_wiring_edge *e, const zh_hops_scraped *m,
                       size_t n, char *buf, size_t cap) {
  int len = snprintf(buf, cap, "%s%s%s", zh_wiring_edge_kind_name(e->kind), e->note ? ": " : "",
                     e->note ? e->note : "");
  double count = 0, errors = 0, p50 = -1, sum = 0;
  for (size_t i = 0; i < n; i++) {
    if (!edge_has(w, e, &m[i]))
      continue;
    count += m[i].count;
    errors += m[i].errors;
    sum += m[i].sum_seconds;
    double q = zh_hops_scraped_quantile(&m[i], 0.5);
    p50 = q > p50 ? q : p50; /* several kinds on one edge: the slower one's */
  }
  if (count <= 0 || len < 0 || (size_t)len >= cap)
    return;
  len += snprintf(buf + len, cap - (size_t)len, "\n%.0f hop%s, mean %.3f ms", count,
                  count == 1 ? "" : "s", sum / count * 1e3);
  if (p50 >= 0 && count >= 20 && (size_t)len < cap) /* fewer: the bucket says little */
    len += snprintf(buf + len, cap - (size_t)len, ", p50 %.3f ms", p50 * 1e3);
  if (errors > 0 && (size_t)len < cap)
    snprintf(buf + len, cap - (size_t)len, ", %.0f failed", errors);
}

void zh_wiring_dot(const zh_wiring *w, const zh_hops_scraped *m, size_t n, const char *title,
                   FILE *out) {
  fputs("digraph ", out);
  put_quoted(out, title ? title : "app");
  fputs(" {\n  rankdir=LR;\n  fontname=\"Helvetica\";\n  labelloc=b;\n", out);
  fputs("  label=\"solid green: in-process    dashed red: network\";\n", out);
  fputs("  node [fontname=\"Helvetica\", fontsize=11];\n", out);
  fputs("  edge [fontname=\"Helvetica\", fontsize=9];\n", out);
  for (size_t i = 0; i < w->nnodes; i++)
    put_node(out, &w->nodes[i]);
  for (size_t i = 0; i < w->nedges; i++) {
    const zh_wiring_edge *e = &w->edges[i];
    char label[800];
    edge_label(w, e, m, n, label, sizeof label);
    fputs("  ", out);
    put_quoted(out, w->nodes[e->from].name);
    fputs(" -> ", out);
    put_quoted(out, w->nodes[e->to].name);
    fprintf(out, " [%s, label=",
            e->network ? "style=dashed, color=\"#b22222\", fontcolor=\"#b22222\""
                       : "style=solid, penwidth=2, color=\"#1f6f1f\", fontcolor=\"#1f6f1f\"");
    put_quoted(out, label);
    fputs("];\n", out);
  }
  fputs("}\n", out);
}
