//! One integration-test binary. Each module says what it covers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod util;

// ArgoCD config-management plugin, run under a faithful cmp-server emulator.
mod argocd;
// The command line as Helm, ArgoCD and CI use it: stdout, stderr, exit codes.
mod cli;
// Configuration files: loading, resolution and every error path.
mod config;
// Every file of the shared corpus, in every built-in environment.
mod corpus;
// Diffs: every format, redaction, noise, patches that apply, promotion.
mod diff;
// Faults and hostile input through the binary: closed pipes, truncation, bombs, huge streams, panics.
mod faults;
// The compliance hash: formatting, meaning, threads, stamps and verification.
mod hash;
// Each rule's documented example is run and must hold.
mod docs;
// Helm 3 end to end, the Helm 4 input format and plugin.yaml.
mod helm;
// What is shipped: release archives, the Helm 4 plugin archive, the sidecar Dockerfile.
mod packaging;
// The operations rules end to end: secrets from a secret manager, sync waves, monitors,
// backups, against the published CRD schemas, with no secret value in any output.
mod operations;
// Property-based tests: generated manifests and formatting.
mod props;
// Pod Security Standards against the Kyverno library's good and bad pods.
mod pss;
// Never breaks a release: identities, singletons, drains, flows, writable paths, quotas.
mod release;
// No credential of any shape reaches any output.
mod secrets;
// One fixture per rule situation, snapshotted.
mod rules;
// Reading and writing streams: every edge case of the input contract, with our own fixtures.
mod stream;
// Daily use through the binary: errors, duplicate keys, aliases, SARIF locations, progress.
mod usage;
// The project's conventions: module docs, rule docs, fixtures and snapshots.
mod tidy;
