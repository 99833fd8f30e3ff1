#!/usr/bin/env python3
"""Writes a synthetic stream of Kubernetes manifests of about SIZE bytes to stdout.

    scripts/gen-manifests.py SIZE [SEED]      SIZE like 1M, 10M, 100M or a byte count

The stream looks like what `helm template` emits for a large platform: each "component" is a
ServiceAccount, ConfigMap, Deployment (or StatefulSet), Service and sometimes a CRD with an
OpenAPI schema, each document after `---` and a `# Source:` line. Fields vary from component
to component (replica counts, probes, env, volumes, resources, annotations, security contexts
set or absent) so that rules have both work to do and things to leave alone. The same SIZE and
SEED always give the same bytes, so benchmark runs compare like with like.
"""

import random
import sys


def parse_size(text):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if text[-1].upper() in units:
        return int(float(text[:-1]) * units[text[-1].upper()])
    return int(text)


WORDS = ["api", "web", "worker", "cache", "gateway", "billing", "search", "auth", "ingest", "report",
         "queue", "store", "notify", "media", "ledger", "catalog", "profile", "metrics", "audit", "sync"]
IMAGES = ["nginx", "redis", "postgres", "envoyproxy/envoy", "ghcr.io/acme/app", "quay.io/prometheus/node-exporter",
          "registry.k8s.io/pause", "docker.io/library/busybox"]
# Values a YAML 1.1 reader would not take for strings unless they are quoted.
TRICKY = ["on", "off", "yes", "no", "0755", "1e3", "=", "2024-01-01", "~", "null", "0x1F", "12345678901234567890"]


def quoted(rng, text):
    return '"%s"' % text if rng.random() < 0.5 else "'%s'" % text


def labels(name, part, indent):
    pad = " " * indent
    return (f"{pad}app.kubernetes.io/name: {name}\n"
            f"{pad}app.kubernetes.io/instance: release\n"
            f"{pad}app.kubernetes.io/component: {part}\n")


def config_map(rng, ns, name):
    out = [f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-config\n  namespace: {ns}\n  labels:\n",
           labels(name, "config", 4), "data:\n"]
    for i in range(rng.randint(3, 12)):
        kind = rng.random()
        if kind < 0.2:
            out.append(f"  flag-{i}: {quoted(rng, rng.choice(TRICKY))}\n")
        elif kind < 0.4:
            lines = "".join(f"    {rng.choice(WORDS)}.{rng.choice(WORDS)} = {rng.randint(0, 10**6)}\n"
                            for _ in range(rng.randint(5, 40)))
            out.append(f"  app-{i}.properties: |\n{lines}")
        elif kind < 0.6:
            out.append(f"  json-{i}: '{{\"enabled\": true, \"limit\": {rng.randint(1, 999)}}}'\n")
        else:
            out.append(f"  key-{i}: {rng.choice(WORDS)}-{rng.randint(0, 99999)}\n")
    return "".join(out)


def container(rng, name, idx, hardened):
    image = f"{rng.choice(IMAGES)}:{rng.choice(['1.25.3', 'v2.4.1', 'latest', '3.9'])}"
    if rng.random() < 0.3:
        image += "@sha256:" + "".join(rng.choice("0123456789abcdef") for _ in range(64))
    out = [f"      - name: {name}-{idx}\n        image: {image}\n"]
    if rng.random() < 0.5:
        out.append(f"        imagePullPolicy: {rng.choice(['IfNotPresent', 'Always'])}\n")
    if rng.random() < 0.6:
        out.append("        args:\n" + "".join(f"        - --{rng.choice(WORDS)}={rng.randint(0, 999)}\n"
                                              for _ in range(rng.randint(1, 6))))
    port = rng.choice([80, 8080, 8443, 9090, 6379, 5432])
    out.append(f"        ports:\n        - name: http\n          containerPort: {port}\n          protocol: TCP\n")
    out.append("        env:\n")
    for i in range(rng.randint(1, 10)):
        value = quoted(rng, rng.choice(TRICKY)) if rng.random() < 0.3 else f"{rng.choice(WORDS)}-{i}"
        out.append(f"        - name: VAR_{i}\n          value: {value}\n")
    out.append(f"        - name: POD_NAMESPACE\n          valueFrom:\n            fieldRef:\n"
               f"              fieldPath: metadata.namespace\n")
    if rng.random() < 0.6:
        out.append(f"        resources:\n          requests:\n            cpu: {rng.choice(['50m', '100m', '250m', '1'])}\n"
                   f"            memory: {rng.choice(['64Mi', '128Mi', '512Mi', '1Gi'])}\n")
        if rng.random() < 0.5:
            out.append(f"          limits:\n            memory: {rng.choice(['256Mi', '1Gi', '2Gi'])}\n")
    if rng.random() < 0.5:
        out.append(f"        readinessProbe:\n          httpGet:\n            path: /healthz\n            port: {port}\n"
                   f"          periodSeconds: {rng.randint(5, 30)}\n")
        out.append(f"        livenessProbe:\n          tcpSocket:\n            port: {port}\n"
                   f"          initialDelaySeconds: {rng.randint(0, 60)}\n")
    if hardened:
        out.append("        securityContext:\n          allowPrivilegeEscalation: false\n"
                   "          readOnlyRootFilesystem: true\n          capabilities:\n            drop: [ALL]\n")
    out.append(f"        volumeMounts:\n        - name: config\n          mountPath: /etc/{name}\n")
    return "".join(out)


def workload(rng, ns, name):
    kind = "StatefulSet" if rng.random() < 0.2 else "Deployment"
    hardened = rng.random() < 0.3
    out = [f"apiVersion: apps/v1\nkind: {kind}\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels:\n",
           labels(name, "server", 4)]
    if rng.random() < 0.5:
        out.append(f"  annotations:\n    deployment.kubernetes.io/revision: {quoted(rng, str(rng.randint(1, 40)))}\n"
                   f"    checksum/config: {''.join(rng.choice('0123456789abcdef') for _ in range(64))}\n")
    out.append("spec:\n")
    if rng.random() < 0.7:
        out.append(f"  replicas: {rng.randint(1, 5)}\n")
    if kind == "StatefulSet":
        out.append(f"  serviceName: {name}\n")
    out.append("  selector:\n    matchLabels:\n" + labels(name, "server", 6))
    out.append("  template:\n    metadata:\n      labels:\n" + labels(name, "server", 8))
    out.append("    spec:\n")
    if rng.random() < 0.7:
        out.append(f"      serviceAccountName: {name}\n")
    if hardened:
        out.append("      securityContext:\n        runAsNonRoot: true\n        runAsUser: 10001\n"
                   "        seccompProfile:\n          type: RuntimeDefault\n")
    if rng.random() < 0.3:
        out.append("      nodeSelector:\n        kubernetes.io/os: linux\n")
    if rng.random() < 0.2:
        out.append("      tolerations:\n      - key: dedicated\n        operator: Equal\n        value: infra\n"
                   "        effect: NoSchedule\n")
    out.append("      containers:\n")
    for idx in range(rng.randint(1, 3)):
        out.append(container(rng, name, idx, hardened))
    out.append(f"      volumes:\n      - name: config\n        configMap:\n          name: {name}-config\n")
    if rng.random() < 0.3:
        out.append("      - name: scratch\n        emptyDir:\n          sizeLimit: 1Gi\n")
    if kind == "StatefulSet":
        out.append("  volumeClaimTemplates:\n  - metadata:\n      name: data\n    spec:\n"
                   "      accessModes: [ReadWriteOnce]\n      resources:\n        requests:\n"
                   f"          storage: {rng.choice(['1Gi', '10Gi', '100Gi'])}\n")
    return "".join(out)


def service(rng, ns, name):
    return (f"apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels:\n"
            + labels(name, "server", 4)
            + f"spec:\n  type: {rng.choice(['ClusterIP', 'ClusterIP', 'NodePort'])}\n  ports:\n"
            f"  - name: http\n    port: {rng.choice([80, 443, 8080])}\n    targetPort: http\n    protocol: TCP\n"
            "  selector:\n" + labels(name, "server", 4))


def service_account(ns, name):
    return f"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n  namespace: {ns}\n"


def crd(rng, name):
    group = f"{name}.example.com"
    props = []
    for i in range(rng.randint(5, 30)):
        kind = rng.choice(["string", "integer", "boolean", "object", "array"])
        props.append(f"                {rng.choice(WORDS)}{i}:\n                  type: {kind}\n"
                     f"                  description: The {rng.choice(WORDS)} setting of the {rng.choice(WORDS)}"
                     " component; see the documentation for the accepted values.\n")
        if kind == "array":
            props.append("                  items:\n                    type: string\n")
        if kind == "object":
            props.append("                  x-kubernetes-preserve-unknown-fields: true\n")
    return (f"apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n"
            f"  name: widgets.{group}\nspec:\n  group: {group}\n  names:\n    kind: Widget\n"
            "    listKind: WidgetList\n    plural: widgets\n    singular: widget\n  scope: Namespaced\n"
            "  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n"
            "      openAPIV3Schema:\n        type: object\n        properties:\n          spec:\n"
            "            type: object\n            properties:\n              settings:\n"
            "                type: object\n                properties:\n" + "".join(props))


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    size = parse_size(sys.argv[1])
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) == 3 else 1)
    out = sys.stdout
    written = 0
    n = 0
    while written < size:
        ns = f"team-{n % 17}"
        name = f"{rng.choice(WORDS)}-{n}"
        docs = [("serviceaccount", service_account(ns, name)), ("configmap", config_map(rng, ns, name)),
                ("workload", workload(rng, ns, name)), ("service", service(rng, ns, name))]
        if rng.random() < 0.15:
            docs.append(("crd", crd(rng, name)))
        for template, body in docs:
            text = f"---\n# Source: platform/templates/{name}/{template}.yaml\n{body}"
            out.write(text)
            written += len(text)
        n += 1


if __name__ == "__main__":
    main()
