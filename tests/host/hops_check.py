"""Reads what hop tracing produced with independent parsers, for tests/host/test_hops_up.c.

  hops_check.py metrics FILE   parses a /metrics scrape with prometheus_client's text parser
                               (Debian's python3-prometheus-client) and prints one line per
                               sample, "name{k=v,...} value" with labels sorted, then
                               "histograms ok" when every histogram is whole (buckets
                               cumulative, +Inf equal to _count)
  hops_check.py svg FILE       parses an SVG with xml.etree and prints "node NAME" and
                               "edge FROM->TO" for every <title> of Graphviz's node and edge
                               groups, then "svg ok" when the root is an <svg> element
Run with /usr/bin/python3: the interpreter on PATH may lack the Debian package.
"""
import sys
import xml.etree.ElementTree as ET


def metrics(path):
    from prometheus_client.parser import text_string_to_metric_families

    with open(path, encoding="utf-8") as f:
        text = f.read()
    whole = True
    for fam in text_string_to_metric_families(text):
        series = {}
        for s in fam.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            print(f"{s.name}{{{labels}}} {s.value:g}")
            if fam.type == "histogram":
                key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
                entry = series.setdefault(key, {"buckets": [], "count": None})
                if s.name.endswith("_bucket"):
                    entry["buckets"].append((float(s.labels["le"]), s.value))
                elif s.name.endswith("_count"):
                    entry["count"] = s.value
        for entry in series.values():
            values = [v for _, v in sorted(entry["buckets"])]
            if values != sorted(values) or not values or values[-1] != entry["count"]:
                whole = False
    if whole:
        print("histograms ok")


def svg(path):
    root = ET.parse(path).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    for g in root.iter(ns + "g"):
        kind = g.get("class")
        title = g.find(ns + "title")
        if kind in ("node", "edge") and title is not None:
            print(f"{kind} {title.text}")
    if root.tag == ns + "svg":
        print("svg ok")


if __name__ == "__main__":
    {"metrics": metrics, "svg": svg}[sys.argv[1]](sys.argv[2])
