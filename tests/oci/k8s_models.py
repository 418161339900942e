"""Loads every YAML document of a `zerohop k8s scaffold` directory into the typed models of
python3-kubernetes, serialises each back and reports any field the models dropped (an unknown
field, or a misspelt one). Prints one JSON object: {"docs": [{file, doc}], "problems": [...]}.
Run with Debian's /usr/bin/python3 (python3-kubernetes, python3-yaml)."""
import glob
import json
import os
import sys

import yaml
from kubernetes import client

MODELS = {
    ("apps/v1", "Deployment"): "V1Deployment",
    ("v1", "Service"): "V1Service",
    ("v1", "ConfigMap"): "V1ConfigMap",
    ("v1", "Secret"): "V1Secret",
    ("node.k8s.io/v1", "RuntimeClass"): "V1RuntimeClass",
}


def compare(given, back, where, problems):
    """Every key and value of `given` must survive the round trip."""
    if isinstance(given, dict):
        if not isinstance(back, dict):
            problems.append(f"{where}: a mapping became {type(back).__name__}")
            return
        for key, value in given.items():
            if key not in back:
                problems.append(f"{where}.{key}: unknown field (dropped by the model)")
            else:
                compare(value, back[key], f"{where}.{key}", problems)
    elif isinstance(given, list):
        if not isinstance(back, list) or len(back) != len(given):
            problems.append(f"{where}: a list changed length")
            return
        for i, (a, b) in enumerate(zip(given, back)):
            compare(a, b, f"{where}[{i}]", problems)
    elif given != back:
        problems.append(f"{where}: {given!r} came back as {back!r}")


def main(directory):
    api = client.ApiClient()
    docs, problems = [], []
    for path in sorted(glob.glob(os.path.join(directory, "*.yaml"))):
        name = os.path.basename(path)
        with open(path, encoding="utf-8") as f:
            for i, doc in enumerate(yaml.safe_load_all(f)):
                if doc is None:
                    continue
                model = MODELS.get((doc.get("apiVersion"), doc.get("kind")))
                if model is None:
                    problems.append(f"{name}[{i}]: no model for {doc.get('apiVersion')} "
                                    f"{doc.get('kind')}")
                    continue
                obj = api._ApiClient__deserialize(doc, model)  # the client's own deserializer
                back = api.sanitize_for_serialization(obj)
                compare(doc, back, f"{name}[{i}]", problems)
                docs.append({"file": name, "doc": doc})
    json.dump({"docs": docs, "problems": problems}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
