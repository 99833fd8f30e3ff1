//! The repository's `overlays/` and `environments/`, embedded so that `temper render --env prod`
//! needs no files. A test checks this list against the directories.

pub const FILES: &[(&str, &str)] = &[
    ("overlays/availability.yaml", include_str!("../../overlays/availability.yaml")),
    ("overlays/kubernetes-api.yaml", include_str!("../../overlays/kubernetes-api.yaml")),
    ("overlays/namespace-guardrails.yaml", include_str!("../../overlays/namespace-guardrails.yaml")),
    ("overlays/network-isolation.yaml", include_str!("../../overlays/network-isolation.yaml")),
    ("overlays/operations.yaml", include_str!("../../overlays/operations.yaml")),
    ("overlays/pod-security.yaml", include_str!("../../overlays/pod-security.yaml")),
    ("overlays/resource-sizing.yaml", include_str!("../../overlays/resource-sizing.yaml")),
    ("overlays/single-writers.yaml", include_str!("../../overlays/single-writers.yaml")),
    ("overlays/supply-chain.yaml", include_str!("../../overlays/supply-chain.yaml")),
    ("overlays/workload-kinds.yaml", include_str!("../../overlays/workload-kinds.yaml")),
    ("overlays/writable-paths.yaml", include_str!("../../overlays/writable-paths.yaml")),
    ("environments/dev.yaml", include_str!("../../environments/dev.yaml")),
    ("environments/staging.yaml", include_str!("../../environments/staging.yaml")),
    ("environments/prod.yaml", include_str!("../../environments/prod.yaml")),
];
