//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use temper::canon::same_meaning;
use temper::read::{self, Document, Input};
use temper::{Config, Outcome, Policy, Settings};

/// A built-in environment.
pub fn policy(env: &str) -> Policy {
    Config::builtin().unwrap().resolve(env).unwrap()
}

/// An environment written inline, on top of the built-in configuration.
pub fn policy_from(env_yaml: &str) -> Policy {
    let mut config = Config::builtin().unwrap();
    let name = config.add_environment("test-environment.yaml", env_yaml).unwrap();
    config.resolve(&name).unwrap()
}

/// Renders `text` with `policy`, fixing, on the current thread pool.
pub fn render(policy: &Policy, text: &str) -> temper::Result<Outcome> {
    temper::run(&[Input::new("<test>", text)], policy, &Settings::render(None))
}

/// Renders on a dedicated pool of `threads` threads.
pub fn render_on(threads: usize, policy: &Policy, text: &str) -> temper::Result<Outcome> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| render(policy, text))
}

/// The shared corpus, if present: `TEMPER_CORPUS`, else `../shared/corpus` beside the
/// project. Setting `TEMPER_CORPUS` to a missing directory is an error.
pub fn corpus_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("TEMPER_CORPUS") {
        let dir = PathBuf::from(dir);
        assert!(dir.is_dir(), "TEMPER_CORPUS={} is not a directory", dir.display());
        return Some(dir);
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("NOTE: corpus not found at {} (set TEMPER_CORPUS); corpus tests did not run", dir.display());
        None
    }
}

/// The corpus files: the main directory, then `tricky/`, sorted.
pub fn corpus_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files = read::manifest_files(dir).unwrap();
    let tricky = dir.join("tricky");
    if tricky.is_dir() {
        files.extend(read::manifest_files(&tricky).unwrap());
    }
    files
}

/// Corpus files that are invalid for Kubernetes itself, with the error temper must give.
pub const INVALID_CORPUS: &[(&str, &str)] = &[
    // An unquoted `true` as an annotation value: kubectl cannot decode it either.
    ("argocd-invalid-metadata-bad.yaml", "`metadata.annotations.invalid` must be a string, not a boolean"),
    // A document without apiVersion and kind.
    ("argocd-partially-valid-yaml.yaml", "document 2: `apiVersion` is missing"),
];

/// The name and text of every corpus file Kubernetes accepts; empty (with a note) when the
/// corpus is absent.
pub fn valid_corpus() -> Vec<(String, String)> {
    let Some(dir) = corpus_dir() else { return Vec::new() };
    corpus_files(&dir)
        .into_iter()
        .map(|f| (f.file_name().unwrap().to_string_lossy().to_string(), f))
        .filter(|(name, _)| !INVALID_CORPUS.iter().any(|(invalid, _)| invalid == name))
        .map(|(name, f)| (name, read_file(&f)))
        .collect()
}

/// Reads a corpus file the way `-f` does (UTF-16, BOM).
pub fn read_file(path: &std::path::Path) -> String {
    read::decode(&path.display().to_string(), std::fs::read(path).unwrap()).unwrap()
}

fn parse(text: &str) -> Vec<Document> {
    read::parse(&[Input::new("<test>", text)]).unwrap()
}

/// The contract of a render, checked on one input and its outcome:
/// - the output re-parses, with one document per input document, then the generated ones;
/// - a document without changes is written back byte for byte;
/// - every document reads back as its input plus exactly the changes the report lists;
/// - generated documents are complete, stamped objects.
#[track_caller]
pub fn check_faithful(input: &str, outcome: &Outcome) {
    let before = parse(input);
    let after = parse(&outcome.output);
    let input_docs: Vec<&Document> = before.iter().filter(|d| d.value.is_some()).collect();
    let output_docs: Vec<&Document> = after.iter().filter(|d| d.value.is_some()).collect();
    let report = &outcome.report;
    assert_eq!(
        output_docs.len(),
        input_docs.len() + report.generated.len(),
        "output must hold every input document, then the generated ones"
    );
    for (doc_in, doc_out) in input_docs.iter().zip(&output_docs) {
        let changes: Vec<_> = report.changes.iter().filter(|c| c.resource.document() == doc_in.number).collect();
        let mut expected = doc_in.value.clone().unwrap();
        for c in &changes {
            let target = match c.resource.item() {
                Some(i) => &mut expected["items"][i],
                None => &mut expected,
            };
            assert!(c.apply(target), "change {c:?} does not apply to document {}", doc_in.number);
        }
        let got = doc_out.value.as_ref().unwrap();
        assert!(
            same_meaning(got, &expected),
            "document {} does not read back as its input plus the reported changes\nexpected: {}\n     got: {}",
            doc_in.number,
            expected,
            got
        );
        if changes.is_empty() {
            let body = |d: &Document, text: &str| {
                text[d.chunk.separator().end..d.chunk.text().end].trim_end_matches('\n').to_string()
            };
            assert_eq!(
                body(doc_out, &outcome.output),
                body(doc_in, input),
                "untouched document {} changed bytes",
                doc_in.number
            );
        }
    }
    for doc in &output_docs[input_docs.len()..] {
        let v = doc.value.as_ref().unwrap();
        for field in ["apiVersion", "kind"] {
            assert!(v.get(field).and_then(Value::as_str).is_some(), "generated document lacks {field}: {v}");
        }
        assert!(v.pointer("/metadata/name").and_then(Value::as_str).is_some(), "generated document lacks a name: {v}");
        assert_eq!(v.pointer("/metadata/labels/app.kubernetes.io~1created-by"), Some(&Value::from("temper")));
    }
}

/// The `temper` binary with a clean environment.
pub fn temper() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_temper"));
    clean_env(&mut cmd);
    cmd
}

/// Removes the variables temper reads from `cmd`'s environment.
pub fn clean_env(cmd: &mut Command) {
    for var in [
        "TEMPER_ENV",
        "ARGOCD_ENV_TEMPER_ENV",
        "TEMPER_CONFIG",
        "TEMPER_THREADS",
        "TEMPER_LOG_FILE",
        "TEMPER_NAMESPACE",
        "TEMPER_FAIL_ON_EMPTY",
        "TEMPER_STRICT",
        "HELM_NAMESPACE",
        "CI",
    ] {
        cmd.env_remove(var);
    }
}

/// Runs `cmd` with `stdin` and returns its output.
pub fn run_with_stdin(cmd: &mut Command, stdin: &[u8]) -> Output {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// stdout, stderr and exit code as one text, for snapshots.
pub fn transcript(out: &Output) -> String {
    format!(
        "exit: {}\n----- stdout -----\n{}----- stderr -----\n{}",
        out.status.code().map_or("signal".to_string(), |c| c.to_string()),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A directory under the system temp directory, unique to this process and `name`, removed
/// when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("temper-it-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn root(&self) -> &Path {
        &self.0
    }

    /// Where `name` would be in this directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes `text` to `name` (creating its directories) and returns its path.
    pub fn write(&self, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The state of process `pid` (`R`, `S`, `Z`...) and the CPU time it has used, user and
/// system, its own threads and the children it has waited for, from `/proc/<pid>/stat`.
/// `None` once the process is gone.
///
/// CPU time, unlike wall-clock time, does not grow while a process waits for a core on a
/// loaded machine: the tests use it to tell a process that spins from one that is merely slow.
pub fn proc_stat(pid: u32) -> Option<(char, Duration)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 2, the command name, is in parentheses and may hold anything: the fields that
    // follow start after the last `)`. From there, index 0 is field 3 (state) and indexes
    // 11 to 14 are fields 14 to 17: utime, stime, cutime, cstime, in clock ticks.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let ticks: u64 = fields.get(11..15)?.iter().map(|f| f.parse::<u64>().unwrap()).sum();
    Some((state, Duration::from_secs_f64(ticks as f64 / clock_ticks() as f64)))
}

/// Clock ticks per second, the unit of `/proc/<pid>/stat` times.
fn clock_ticks() -> u64 {
    static TICKS: OnceLock<u64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        let out = Command::new("getconf").arg("CLK_TCK").output().expect("getconf CLK_TCK");
        String::from_utf8_lossy(&out.stdout).trim().parse().expect("getconf CLK_TCK prints a number")
    })
}

/// Waits for `child` and returns its exit status with the CPU time it used (its own and its
/// waited-for children's), read from `/proc` once it has exited and before it is reaped.
/// `stop` is asked every few milliseconds with the CPU time so far; when it says so, the
/// child is left running and `Err` carries the CPU time so far: killing it is the caller's.
pub fn wait_measured(
    child: &mut Child,
    mut stop: impl FnMut(Duration) -> bool,
) -> Result<(ExitStatus, Duration), Duration> {
    let pid = child.id();
    loop {
        let (state, cpu) =
            proc_stat(pid).unwrap_or_else(|| panic!("cannot read /proc/{pid}/stat of a child not yet reaped"));
        if state == 'Z' || state == 'X' {
            return Ok((child.wait().unwrap(), cpu));
        }
        if stop(cpu) {
            return Err(cpu);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
