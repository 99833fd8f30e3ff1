#!/usr/bin/env python3
"""Writes a stream of Kubernetes manifests that grows in one dimension only.

    scripts/gen-dimension.py DIMENSION N

DIMENSION is one of:

  documents    N small Deployment and Service pairs, each its own component
  env          one Deployment whose container has N env entries
  containers   one Deployment with N compliant containers (nothing to fix)
  violations   one Deployment with N containers that break every container rule
  size         one ConfigMap with N keys of a few hundred bytes each, and a CRD with N
               properties in its schema (one document that is large, not many)
  namespaces   N namespaces, each with one Deployment and Service
  selectors    N Deployments, Services and NetworkPolicies in one namespace whose selectors all
               use the same shared labels plus one of their own, so each selects one workload
               while every label lookup meets all N (the policies allow from the shared labels)
  generated    N Deployment/Service pairs whose hardening generates more objects than the
               input holds (NetworkPolicies, PodDisruptionBudgets, quotas)

Everything else stays the same size, so a cost that grows faster than N shows the dimension
that causes it. The same arguments always give the same bytes.
"""

import sys


def deployment(name, ns, containers, labels=None, replicas=2, extra_pod=""):
    labels = labels or {"app": name}
    label_lines = "".join(f"      {k}: {v}\n" for k, v in labels.items())
    match = "".join(f"      {k}: {v}\n" for k, v in labels.items())
    return (
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: {ns}\n"
        f"spec:\n  replicas: {replicas}\n  selector:\n    matchLabels:\n{match}"
        f"  template:\n    metadata:\n      labels:\n{label_lines.replace('      ', '        ')}"
        f"    spec:\n{extra_pod}      containers:\n{containers}"
    )


def service(name, ns, labels=None):
    labels = labels or {"app": name}
    selector = "".join(f"    {k}: {v}\n" for k, v in labels.items())
    return (
        f"apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {ns}\n"
        f"spec:\n  selector:\n{selector}  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n"
    )


def container(name, env="", compliant=False, bad=False):
    out = f"      - name: {name}\n        image: registry.example.com/{name}:1.0.{len(name)}\n"
    out += "        ports:\n        - containerPort: 8080\n          name: http\n"
    if env:
        out += f"        env:\n{env}"
    if compliant:
        out += (
            "        resources:\n          requests: {cpu: 50m, memory: 64Mi}\n"
            "          limits: {cpu: 200m, memory: 128Mi}\n"
            "        securityContext:\n          runAsNonRoot: true\n          runAsUser: 5000\n"
            "          allowPrivilegeEscalation: false\n          readOnlyRootFilesystem: true\n"
            "          capabilities: {drop: [ALL]}\n          seccompProfile: {type: RuntimeDefault}\n"
        )
    if bad:
        out += (
            "        securityContext:\n          privileged: true\n          runAsUser: 0\n"
            "          allowPrivilegeEscalation: true\n          capabilities: {add: [NET_ADMIN, SYS_ADMIN]}\n"
            f"        ports:\n        - containerPort: {8000 + len(name)}\n          hostPort: {8000 + len(name)}\n"
        )
    return out


def documents(n):
    for i in range(n):
        yield deployment(f"app-{i}", "shop", container(f"app-{i}"))
        yield service(f"app-{i}", "shop")


def env(n):
    entries = "".join(f"        - name: SETTING_{i}\n          value: \"value-{i}\"\n" for i in range(n))
    yield deployment("big-env", "shop", container("big-env", env=entries))


def containers(n):
    yield deployment("many", "shop", "".join(container(f"c-{i}", compliant=True) for i in range(n)))


def violations(n):
    pod = "      hostNetwork: true\n      hostPID: true\n"
    yield deployment("bad", "shop", "".join(container(f"c-{i}", bad=True) for i in range(n)), extra_pod=pod)


def size(n):
    data = "".join(f"  key-{i}: \"{'x' * 200}-{i}\"\n" for i in range(n))
    yield f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\n  namespace: shop\ndata:\n{data}"
    props = "".join(
        f"              field{i}:\n                type: string\n                description: field number {i}\n"
        for i in range(n)
    )
    yield (
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n"
        "  name: widgets.example.com\nspec:\n  group: example.com\n  names:\n    kind: Widget\n"
        "    plural: widgets\n  scope: Namespaced\n  versions:\n  - name: v1\n    served: true\n"
        "    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n"
        "        properties:\n          spec:\n            type: object\n            properties:\n"
        f"{props}"
    )


def namespaces(n):
    for i in range(n):
        ns = f"team-{i}"
        yield f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n"
        yield deployment("app", ns, container("app"))
        yield service("app", ns)


def selectors(n):
    shared = {"app.kubernetes.io/part-of": "shop", "tier": "backend"}
    for i in range(n):
        labels = dict(shared, **{"app.kubernetes.io/name": f"svc-{i}"})
        yield deployment(f"svc-{i}", "shop", container(f"svc-{i}"), labels=labels)
        yield service(f"svc-{i}", "shop", labels=labels)
        yield (
            f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: allow-{i}\n"
            "  namespace: shop\nspec:\n  podSelector:\n    matchLabels:\n      tier: backend\n"
            f"      app.kubernetes.io/name: svc-{i}\n"
            "  ingress:\n  - from:\n    - podSelector:\n        matchLabels:\n"
            "          app.kubernetes.io/part-of: shop\n"
        )


def generated(n):
    for i in range(n):
        ns = f"ns-{i}"
        yield deployment(f"g-{i}", ns, container(f"g-{i}"), replicas=1)
        yield service(f"g-{i}", ns)


DIMENSIONS = {f.__name__: f for f in [documents, env, containers, violations, size, namespaces, selectors, generated]}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in DIMENSIONS or not sys.argv[2].isdigit():
        sys.exit(__doc__)
    out = sys.stdout
    for doc in DIMENSIONS[sys.argv[1]](int(sys.argv[2])):
        out.write("---\n")
        out.write(doc)


if __name__ == "__main__":
    main()
