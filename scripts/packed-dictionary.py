#!/usr/bin/env python3
"""Writes the dictionary `record::Packed` packs long texts against, in two parts.

    scripts/packed-dictionary.py path/to/temper json > src/record/packed-dictionary.json
    scripts/packed-dictionary.py path/to/temper hunks > src/record/packed-dictionary-hunks.txt

The dictionary is what temper itself writes into a release: a small Service and Deployment
rendered in `prod` (the hardened Deployment, the NetworkPolicies, PodDisruptionBudget,
ResourceQuota and LimitRange generated for it), as compact JSON one object after another
(`json`: what records and generated objects are kept as), and as the YAML lines a diff adds,
each after a `+` (`hunks`: what a diff's hunks are). A text packed against it refers back to
those keys and values instead of holding them again.

Any dictionary reads back exactly what was packed; this one only decides how small the packed
texts are. Regenerate it when the objects temper adds change shape. Needs PyYAML.
"""

import json
import subprocess
import sys

import yaml

SAMPLE = """\
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  labels: {app.kubernetes.io/name: web, app.kubernetes.io/instance: shop}
spec:
  selector: {app.kubernetes.io/name: web, app.kubernetes.io/instance: shop}
  ports:
  - {name: http, port: 80, targetPort: http, protocol: TCP}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app.kubernetes.io/name: web, app.kubernetes.io/instance: shop}
spec:
  replicas: 1
  selector:
    matchLabels: {app.kubernetes.io/name: web, app.kubernetes.io/instance: shop}
  template:
    metadata:
      labels: {app.kubernetes.io/name: web, app.kubernetes.io/instance: shop}
    spec:
      containers:
      - name: web
        image: registry.example.com/shop/web:1.0.0
        ports:
        - {name: http, containerPort: 8080, protocol: TCP}
"""


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in ("json", "hunks"):
        sys.exit(__doc__)
    rendered = subprocess.run(
        [sys.argv[1], "render", "--env", "prod", "-f", "-"],
        input=SAMPLE, capture_output=True, text=True, check=True,
    ).stdout
    if sys.argv[2] == "hunks":
        sys.stdout.write("".join(f"+{line}\n" for line in rendered.splitlines() if line != "---"))
        return
    objects = [o for o in yaml.safe_load_all(rendered) if o]
    sys.stdout.write("".join(json.dumps(o, separators=(",", ":"), ensure_ascii=False) for o in objects))


if __name__ == "__main__":
    main()
