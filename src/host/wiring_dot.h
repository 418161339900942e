/* The wiring (host/wiring.h) as a Graphviz DOT graph, optionally with measured counts and
 * latencies from a saved /metrics scrape (host/hops_metrics.h), for `zerohop graph`.
 *
 * Shapes: routes are arrows, components rounded boxes, channels ellipses, stores cylinders,
 * outside services 3-D boxes. Edges in the process are solid and green, edges that cross the
 * network dashed and red; each is labelled with its kind, its note, and with measurements
 * "N hops, mean X ms" (p50 too from 20 hops, and errors when there were some). Node names are the
 * DOT ids, so the SVG that `dot` makes titles each node with its name and each edge "from->to". */
#ifndef ZH_HOST_WIRING_DOT_H
#define ZH_HOST_WIRING_DOT_H

#include "host/hops_metrics.h"
#include "host/wiring.h"

#include <stdio.h>

/* Adds the measured edges that the static wiring has no edge for (matched on caller and
 * callee), with their nodes, so that the graph shows what really happened too. */
zh_error *zh_wiring_add_measured(zh_wiring *w, const zh_hops_scraped *m, size_t n);

/* Writes the graph; `m` may be NULL (n 0). `title` names the graph (the app's name). */
void zh_wiring_dot(const zh_wiring *w, const zh_hops_scraped *m, size_t n, const char *title,
                   FILE *out);

#endif
