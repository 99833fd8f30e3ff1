//! What the project ships, as its users get it: the release archives `scripts/release.sh`
//! builds (static, stripped, runnable, with checksums), the Helm 4 plugin archives
//! `scripts/helm-plugin-package.sh` makes of them, and the ArgoCD sidecar image's Dockerfile,
//! linted. A release build takes minutes, so `scripts/test.sh` runs both scripts once, before
//! the tests; run alone, these tests fail and name the script to run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::util::{TempDir, run_with_stdin, temper, transcript};

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The x86_64 target the last run of `scripts/release.sh` built, as its `dist/SHA256SUMS`
/// lists it: musl, or the static glibc it falls back to when the musl target cannot be
/// installed.
fn x86_64_target() -> &'static str {
    let sums = std::fs::read_to_string(repo("dist/SHA256SUMS")).unwrap_or_default();
    ["x86_64-unknown-linux-musl", "x86_64-unknown-linux-gnu"]
        .into_iter()
        .find(|t| sums.lines().any(|l| l.ends_with(&format!("  temper-{VERSION}-{t}.tar.gz"))))
        .unwrap_or_else(|| {
            panic!("dist/SHA256SUMS lists no x86_64 archive of temper {VERSION}: run scripts/release.sh (scripts/test.sh does)")
        })
}

/// What the ELF headers say about linking and symbols.
#[derive(Debug)]
struct Elf {
    machine: u16,
    /// The program interpreter (dynamic loader) named by a PT_INTERP header.
    interpreter: Option<String>,
    /// DT_NEEDED entries: shared libraries the loader must find.
    needed: usize,
    /// Whether a symbol table section (SHT_SYMTAB) is left.
    symbol_table: bool,
}

fn elf(data: &[u8]) -> Elf {
    assert_eq!(&data[..6], b"\x7fELF\x02\x01", "not a 64-bit little-endian ELF file");
    let u16_at = |at: usize| u16::from_le_bytes(data[at..at + 2].try_into().unwrap());
    let u32_at = |at: usize| u32::from_le_bytes(data[at..at + 4].try_into().unwrap());
    let u64_at = |at: usize| usize::try_from(u64::from_le_bytes(data[at..at + 8].try_into().unwrap())).unwrap();
    let (phoff, shoff) = (u64_at(32), u64_at(40));
    let (phentsize, phnum, shentsize, shnum) = (u16_at(54), u16_at(56), u16_at(58), u16_at(60));
    let mut result = Elf { machine: u16_at(18), interpreter: None, needed: 0, symbol_table: false };
    for i in 0..usize::from(phnum) {
        let header = phoff + i * usize::from(phentsize);
        let (kind, offset, size) = (u32_at(header), u64_at(header + 8), u64_at(header + 32));
        match kind {
            // PT_INTERP: the path of the dynamic loader.
            3 => result.interpreter = Some(String::from_utf8_lossy(&data[offset..offset + size]).into()),
            // PT_DYNAMIC: (tag, value) pairs; tag 1 is DT_NEEDED.
            2 => result.needed += (offset..offset + size).step_by(16).filter(|&at| u64_at(at) == 1).count(),
            _ => {}
        }
    }
    result.symbol_table = (0..usize::from(shnum)).any(|i| u32_at(shoff + i * usize::from(shentsize) + 4) == 2);
    result
}

/// One entry of a tar archive.
#[derive(Debug)]
struct Entry {
    name: String,
    /// The ustar type flag: b'0' a regular file, b'5' a directory.
    kind: u8,
    mode: u32,
    data: Vec<u8>,
}

/// The entries of a gzipped ustar archive, decompressed by `gzip -dc`.
fn tar_gz_entries(path: &Path) -> Vec<Entry> {
    let out = Command::new("gzip").arg("-dc").arg(path).stderr(Stdio::inherit()).output().unwrap();
    assert!(out.status.success(), "{} is not a gzip file", path.display());
    let tar = out.stdout;
    let text = |field: &[u8]| String::from_utf8_lossy(field.split(|&b| b == 0).next().unwrap_or_default()).into_owned();
    let octal = |field: &[u8]| usize::from_str_radix(text(field).trim(), 8).unwrap();
    let mut entries = Vec::new();
    let mut at = 0;
    while at + 512 <= tar.len() && tar[at..at + 512].iter().any(|&b| b != 0) {
        let header = &tar[at..at + 512];
        assert_eq!(&header[257..263], b"ustar\0", "{}: entry {} is not ustar", path.display(), entries.len());
        let (prefix, name) = (text(&header[345..500]), text(&header[..100]));
        let size = octal(&header[124..136]);
        entries.push(Entry {
            name: if prefix.is_empty() { name } else { format!("{prefix}/{name}") },
            kind: header[156],
            mode: u32::try_from(octal(&header[100..108])).unwrap(),
            data: tar[at + 512..at + 512 + size].to_vec(),
        });
        at += 512 + size.div_ceil(512) * 512;
    }
    entries
}

/// `NAME  FILE` lines, as `sha256sum` writes them, for `file` (relative to dist/).
fn listed_checksum(sums: &str, file: &str) -> String {
    sums.lines()
        .find_map(|l| l.strip_suffix(file)?.strip_suffix("  "))
        .unwrap_or_else(|| panic!("no checksum for {file} in\n{sums}"))
        .to_string()
}

/// The x86_64 release archive: one directory named after it, holding the binary, the README,
/// completions and man pages, matching its checksums; the binary is static (no program
/// interpreter, no shared libraries), stripped, and runs: `--version`, a render, and the
/// same command definitions as the binary under test (so the archive is not stale).
#[test]
fn the_x86_64_release_binary_is_static_stripped_and_runs() {
    let target = x86_64_target();
    let name = format!("temper-{VERSION}-{target}");
    let archive = repo(&format!("dist/{name}.tar.gz"));
    let bytes = std::fs::read(&archive).unwrap();

    let sums = std::fs::read_to_string(repo("dist/SHA256SUMS")).unwrap();
    assert_eq!(listed_checksum(&sums, &format!("{name}.tar.gz")), sha256_hex(&bytes));
    let own = std::fs::read_to_string(repo(&format!("dist/{name}.tar.gz.sha256"))).unwrap();
    assert_eq!(own, format!("{}  {name}.tar.gz\n", sha256_hex(&bytes)), "the archive's .sha256 file");

    let entries = tar_gz_entries(&archive);
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    for expected in [
        format!("{name}/temper"),
        format!("{name}/README.md"),
        format!("{name}/completions/temper.bash"),
        format!("{name}/completions/temper.zsh"),
        format!("{name}/completions/temper.fish"),
        format!("{name}/man/temper.1"),
        format!("{name}/man/temper-render.1"),
    ] {
        assert!(names.contains(&expected.as_str()), "{expected} is not in the archive: {names:?}");
    }
    assert!(names.iter().all(|n| n.starts_with(&format!("{name}/"))), "{names:?}");
    let binary = entries.iter().find(|e| e.name == format!("{name}/temper")).unwrap();
    assert_eq!((binary.kind, binary.mode), (b'0', 0o755));
    assert_eq!(listed_checksum(&sums, &format!("{name}/temper")), sha256_hex(&binary.data));

    let facts = elf(&binary.data);
    assert_eq!(facts.machine, 62, "x86-64");
    assert_eq!(facts.interpreter, None, "a static binary has no program interpreter");
    assert_eq!(facts.needed, 0, "a static binary needs no shared library");
    assert!(!facts.symbol_table, "the release binary is stripped");

    // Run the binary from the archive, not the one in target/.
    let dir = TempDir::new("release");
    let path = dir.write("temper", &binary.data);
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let run = |args: &[&str]| {
        let mut cmd = Command::new(&path);
        crate::util::clean_env(&mut cmd);
        cmd.args(args);
        cmd
    };
    let out = run(&["--version"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("temper {VERSION}\n"), "{}", transcript(&out));
    let config_map = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n";
    let out = run_with_stdin(&mut run(&["render", "--env", "dev", "-q"]), config_map.as_bytes());
    assert_eq!((out.status.code(), out.stdout.as_slice()), (Some(0), config_map.as_bytes()), "{}", transcript(&out));
    for args in [&["completions", "bash"][..], &["man"], &["explain"]] {
        let released = run(args).output().unwrap().stdout;
        let built = temper().args(args).output().unwrap().stdout;
        assert!(released == built, "`temper {}` differs from this build's: rerun scripts/release.sh", args.join(" "));
    }
    let page = entries.iter().find(|e| e.name == format!("{name}/man/temper.1")).unwrap();
    assert_eq!(page.data, temper().arg("man").output().unwrap().stdout, "man/temper.1 is `temper man`");
    assert_returns_freed_memory(&mut run(&["--version"]));
}

/// The allocator's options are built into the binary (src/main.rs): jemalloc, asked to print
/// its statistics as it exits, shows that freed pages go back to the system at once.
fn assert_returns_freed_memory(cmd: &mut Command) {
    let out = cmd.env("_RJEM_MALLOC_CONF", "stats_print:true").output().unwrap();
    let stats = String::from_utf8_lossy(&out.stderr);
    for option in ["opt.dirty_decay_ms: 0 ", "opt.muzzy_decay_ms: 0 "] {
        assert!(stats.contains(option), "{option}is not in jemalloc's statistics: {}", transcript(&out));
    }
}

#[test]
fn this_build_returns_freed_memory_at_once() {
    assert_returns_freed_memory(temper().arg("--version"));
}

/// The Helm 4 plugin archive for linux/amd64, in the layout Helm 4's `helm plugin package`
/// writes and its installer reads (see scripts/helm-plugin-package.sh for the sources): a
/// `temper/` directory with plugin.yaml and the release binary, directories and regular files
/// only, a file name from which the installer recovers the name `temper`, a checksum file;
/// plugin.yaml is the example's with `sourceURL` and the bundled binary for linux/amd64.
#[test]
fn the_helm_plugin_archive_has_the_layout_helm_4_installs() {
    let file = format!("temper-{VERSION}-linux-amd64.tgz");
    let archive = repo(&format!("dist/helm-plugin/{file}"));
    assert!(
        archive.is_file(),
        "{} is missing: run scripts/helm-plugin-package.sh (scripts/test.sh does)",
        archive.display()
    );
    let bytes = std::fs::read(&archive).unwrap();
    let own = std::fs::read_to_string(repo(&format!("dist/helm-plugin/{file}.sha256"))).unwrap();
    assert_eq!(own, format!("{}  {file}\n", sha256_hex(&bytes)));

    // internal/plugin/installer: stripPluginName, `(.*)-[0-9]+\..*` on the name without .tgz.
    let stem = file.strip_suffix(".tgz").unwrap();
    let cut = regex::Regex::new(r"^(.*)-[0-9]+\..*$").unwrap();
    assert_eq!(
        &cut.captures(stem).unwrap()[1],
        "temper",
        "the installer names the plugin directory from the file name"
    );

    let entries = tar_gz_entries(&archive);
    let layout: Vec<(&str, u8, u32)> = entries.iter().map(|e| (e.name.as_str(), e.kind, e.mode)).collect();
    assert_eq!(
        layout,
        [
            ("temper/", b'5', 0o755),
            ("temper/bin/", b'5', 0o755),
            ("temper/bin/temper", b'0', 0o755),
            ("temper/plugin.yaml", b'0', 0o644),
        ]
    );
    let binary = &entries[2].data;
    let released = std::fs::read(repo(&format!("dist/temper-{VERSION}-{}/temper", x86_64_target()))).unwrap();
    assert!(*binary == released, "the plugin carries the release binary");

    // Not Kubernetes objects, so read as plain YAML, as helm.rs reads the example.
    let plugin: Value = serde_saphyr::from_str(std::str::from_utf8(&entries[3].data).unwrap()).unwrap();
    let example: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(repo("examples/helm-plugin/plugin.yaml")).unwrap()).unwrap();
    for key in ["apiVersion", "type", "name", "runtime"] {
        assert_eq!(plugin[key], example[key], "{key}");
    }
    assert_eq!(plugin["name"], json!("temper"));
    assert_eq!(plugin["version"], json!(VERSION), "the plugin's version is temper's");
    let url = plugin["sourceURL"].as_str().unwrap_or_default();
    assert!(url.starts_with("https://") || url.starts_with("http://"), "sourceURL: {url:?}");
    let commands = plugin["runtimeConfig"]["platformCommand"].as_array().unwrap();
    assert_eq!(commands[0], json!({"os": "linux", "arch": "amd64", "command": "${HELM_PLUGIN_DIR}/bin/temper"}));
    assert_eq!(
        Value::from(commands[1..].to_vec()),
        example["runtimeConfig"]["platformCommand"],
        "the example's entries follow, for other platforms"
    );
    // Helm 4.1 decodes plugin.yaml strictly: the example's keys (which helm.rs checks against
    // the schema) and sourceURL, nothing else.
    let mut keys: Vec<&String> = plugin.as_object().unwrap().keys().collect();
    let source_url = "sourceURL".to_string();
    let mut expected: Vec<&String> = example.as_object().unwrap().keys().chain([&source_url]).collect();
    keys.sort_unstable();
    expected.sort_unstable();
    assert_eq!(keys, expected);
}

/// The sidecar image's Dockerfile, as its instructions: (instruction, arguments), with
/// continuation lines joined and comments dropped.
fn dockerfile() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo("deploy/argocd/Dockerfile")).unwrap();
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if current.is_empty() && (line.trim().is_empty() || line.trim_start().starts_with('#')) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(line);
                let (word, rest) = current.trim().split_once(char::is_whitespace).unwrap();
                instructions.push((word.to_uppercase(), rest.trim().to_string()));
                current.clear();
            }
        }
    }
    instructions
}

/// hadolint finds nothing in the sidecar's Dockerfile, at its strictest threshold; it is
/// installed by scripts/tools.sh, and a missing hadolint fails the test.
#[test]
fn the_sidecar_dockerfile_passes_hadolint() {
    let hadolint = repo("tools/hadolint/hadolint");
    assert!(hadolint.is_file(), "{} is missing: run scripts/tools.sh, which installs hadolint", hadolint.display());
    let out = Command::new(&hadolint)
        .args(["--no-color", "--failure-threshold", "style"])
        .arg(repo("deploy/argocd/Dockerfile"))
        .output()
        .unwrap();
    assert!(out.status.success() && out.stdout.is_empty(), "{}", transcript(&out));
    // hadolint does fail on what it should: a floating base and root.
    let dir = TempDir::new("hadolint");
    let bad = dir.write("Dockerfile", "FROM ubuntu:latest\nUSER root\n");
    let out = Command::new(&hadolint).arg("--no-color").arg(&bad).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success() && said.contains("DL3007") && said.contains("DL3002"), "{}", transcript(&out));
}

/// The rules that matter for the sidecar image, checked directly: every base pinned by
/// digest and none `latest`; everything downloaded checked against a SHA-256 for each
/// architecture, with nothing downloaded by a shell; the last USER is UID 999, numeric; and
/// the image agrees with the repo-server patch that runs it (entrypoint, user, HOME, and the
/// programs the plugin runs on PATH).
#[test]
fn the_sidecar_dockerfile_pins_and_checks_everything_it_fetches() {
    let instructions = dockerfile();
    let digest = regex::Regex::new(r"^[a-z0-9./-]+(:[A-Za-z0-9._-]+)?@sha256:[0-9a-f]{64}( AS [a-z-]+)?$").unwrap();
    let froms: Vec<&str> = instructions.iter().filter(|(i, _)| i == "FROM").map(|(_, a)| a.as_str()).collect();
    assert_eq!(froms.len(), 2, "a tools stage and the final image");
    for from in &froms {
        assert!(digest.is_match(from), "FROM {from} is not pinned by digest");
        assert!(!from.contains(":latest"), "FROM {from}");
    }
    assert!(froms[1].starts_with("gcr.io/distroless/static"), "the final image has no shell: {}", froms[1]);

    let runs: Vec<&str> = instructions.iter().filter(|(i, _)| i == "RUN").map(|(_, a)| a.as_str()).collect();
    for run in &runs {
        assert!(!run.contains("curl") && !run.contains("wget"), "downloads are ADDed and checked: {run}");
    }
    let checked = runs.iter().find(|r| r.contains("sha256sum --check --strict")).expect("a RUN checking checksums");
    let downloads: Vec<(&str, &str)> = instructions
        .iter()
        .filter(|(i, a)| i == "ADD" && a.starts_with("https://"))
        .map(|(_, a)| a.split_once(' ').unwrap())
        .collect();
    assert_eq!(downloads.len(), 2, "helm and kustomize");
    for (url, file) in &downloads {
        assert!(url.contains("${TARGETARCH}"), "{url}: one archive per architecture");
        assert!(checked.contains(file), "{file} ({url}) is not checked");
    }
    let sums = regex::Regex::new(r"\b[0-9a-f]{64}\b").unwrap().find_iter(checked).count();
    assert_eq!(sums, 2 * downloads.len(), "a checksum per download for amd64 and arm64");
    assert!(checked.contains("amd64)") && checked.contains("arm64)") && checked.contains("exit 1"), "{checked}");
    for (instruction, args) in &instructions {
        assert!(!(instruction == "ADD" && args.contains(".tar") && !args.starts_with("https://")), "ADD {args}");
    }

    let last = |name: &str| instructions.iter().rev().find(|(i, _)| i == name).map(|(_, a)| a.as_str()).unwrap();
    assert_eq!(last("USER"), "999:999", "ArgoCD runs plugin sidecars as UID 999");
    assert_eq!(last("ENV"), "HOME=/tmp");
    let copies: Vec<&str> = instructions.iter().filter(|(i, _)| i == "COPY").map(|(_, a)| a.as_str()).collect();
    assert_eq!(
        copies,
        [
            "--from=tools /out/helm /out/kustomize /usr/local/bin/",
            "dist/image/${TARGETPLATFORM}/temper /usr/local/bin/temper"
        ]
    );

    let patch: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(repo("deploy/argocd/repo-server-patch.yaml")).unwrap())
            .unwrap();
    let sidecar = &patch["spec"]["template"]["spec"]["containers"][0];
    let entrypoint: Value = serde_json::from_str(last("ENTRYPOINT")).unwrap();
    assert_eq!(sidecar["command"], entrypoint);
    assert_eq!(sidecar["securityContext"]["runAsUser"], json!(999));
    let home = sidecar["env"].as_array().unwrap().iter().find(|e| e["name"] == "HOME").unwrap();
    assert_eq!(home["value"], json!("/tmp"));
    let plugin: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(repo("deploy/argocd/plugin.yaml")).unwrap()).unwrap();
    assert_eq!(plugin["spec"]["generate"]["command"][0], json!("temper"), "on PATH as /usr/local/bin/temper");
    // The tag the build line in the Dockerfile gives is the image the patch runs.
    let image = sidecar["image"].as_str().unwrap();
    assert_eq!(image, format!("registry.example.com/temper-cmp:{VERSION}"));
    let text = std::fs::read_to_string(repo("deploy/argocd/Dockerfile")).unwrap();
    assert!(text.contains(&format!("docker build -f deploy/argocd/Dockerfile -t {image} .")), "build line");
    // The context is the repository root, target/ included: only dist/image/ is sent.
    let ignore = std::fs::read_to_string(repo("deploy/argocd/Dockerfile.dockerignore")).unwrap();
    let rules: Vec<&str> = ignore.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    assert_eq!(rules, ["*", "!dist/image/"]);
}
