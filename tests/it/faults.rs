//! Faults and hostile input, through the binary as Helm and CI run it: a reader that goes
//! away, input that ends or breaks mid-way, bombs and absurd nesting, very large documents and
//! very many, paths and configuration directories that cannot be used, and a panic.
//!
//! Each case asserts the exit code, that stdout is empty unless the run succeeded, and what
//! stderr says. Hostile inputs run under a virtual memory limit (`ulimit -v`) and a watchdog
//! that tells a hang from a slow run without depending on how loaded the machine is: a run
//! that spins is caught by the CPU time it uses, which waiting for a core does not add to,
//! and a run that blocks by a wall-clock ceiling of many minutes. Neither is a performance
//! claim: both are far above what any of these runs needs, even a debug build on one core.

use std::io::{Read as _, Write as _};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::util::{TempDir, clean_env, run_with_stdin, temper, transcript, wait_measured};

/// CPU time after which a run is spinning: the largest case here needs about 7 s of CPU time
/// in a debug build.
const SPINS: Duration = Duration::from_secs(300);
/// Wall-clock time after which a run that does not spin is blocked, however loaded the machine.
const BLOCKED: Duration = Duration::from_secs(900);
/// Virtual memory a run may reserve, in KiB: far above what these inputs need when refused
/// early, far below what expanding a bomb or a stack of 10,000 levels would take.
const MEMORY_KIB: u64 = 1 << 20;

const CONFIG_MAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: small\ndata:\n  key: value\n";

/// `temper ARGS` under the memory limit, with `input` on stdin, killed if the watchdog finds
/// it hung.
fn bounded(args: &[&str], input: &[u8]) -> Output {
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg(format!("ulimit -v {MEMORY_KIB} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_temper"))
        .args(args);
    clean_env(&mut sh);
    let start = Instant::now();
    let mut child = sh.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let (status, _) = match wait_measured(&mut child, |cpu| cpu > SPINS || start.elapsed() > BLOCKED) {
        Ok(done) => done,
        Err(cpu) => {
            let _ = child.kill();
            let _ = child.wait();
            let how = if cpu > SPINS { "spins" } else { "is blocked" };
            panic!("temper {args:?} still runs after {:?} and {cpu:?} of CPU time: it {how}", start.elapsed());
        }
    };
    writer.join().unwrap();
    Output { status, stdout: out_reader.join().unwrap(), stderr: err_reader.join().unwrap() }
}

/// Exit 2, nothing on stdout, and one line on stderr that contains `needle`.
#[track_caller]
fn fails_with(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", transcript(out));
    assert!(out.stdout.is_empty(), "stdout must stay empty on failure\n{}", transcript(out));
    assert!(stderr.contains(needle), "stderr lacks `{needle}`\n{}", transcript(out));
    // A long run (over 4 MiB of input) reports its progress before it fails.
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.contains(" documents read, ")).collect();
    assert_eq!(lines.len(), 1, "one line of error\n{}", transcript(out));
    assert!(!stderr.contains("panicked"), "{}", transcript(out));
}

/// The reader of stdout goes away before temper writes (as when Helm is interrupted): temper
/// reports the broken pipe and fails, without a panic message.
#[test]
fn stdout_closed_before_writing_is_an_error_not_a_panic() {
    let mut child = temper()
        .args(["render", "--env", "prod", "--no-enforce", "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // temper writes only once it has read all of stdin, so closing the read end first is
    // certain to come before the write.
    drop(child.stdout.take());
    let input = CONFIG_MAP.repeat(2000);
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot write to stdout") && stderr.contains("Broken pipe"), "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("internal error"), "{stderr}");
}

/// A stream cut off in the middle of a document, as when the renderer before temper dies:
/// an error that names the place, and nothing on stdout.
#[test]
fn stdin_ending_mid_document_fails_cleanly() {
    let stream = "---\n# Source: app/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first\n---\n# Source: app/templates/web.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, labels: {app: web}}\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: \"example/web:1.0\"\n        args: [\"--port\", \"8080\"]\n";
    // Cut inside the flow mapping, inside a quoted scalar, and inside the flow sequence.
    for (cut_after, place) in [
        ("metadata: {name: web, lab", "<stdin>:11:"),
        ("image: \"example/w", "<stdin>:17:"),
        ("args: [\"--port\", ", "<stdin>:18:"),
    ] {
        let end = stream.find(cut_after).unwrap() + cut_after.len();
        let out = run_with_stdin(temper().args(["render", "--env", "prod", "--no-enforce"]), &stream.as_bytes()[..end]);
        fails_with(&out, place);
        assert!(String::from_utf8_lossy(&out.stderr).contains("document 2"), "{}", transcript(&out));
    }
}

/// Bytes that are not UTF-8: the error gives the byte offset, on stdin and in files, and also
/// when the input ends in the middle of a multi-byte character.
#[test]
fn invalid_utf8_names_the_byte_offset() {
    let at = CONFIG_MAP.find("value").unwrap();
    let mut bad = CONFIG_MAP.as_bytes().to_vec();
    bad[at] = 0xFF;
    let out = run_with_stdin(temper().args(["render", "-q"]), &bad);
    fails_with(&out, &format!("<stdin>: invalid UTF-8 at byte offset {at}"));

    let mut cut = format!("{CONFIG_MAP}  note: é").into_bytes();
    cut.pop();
    let out = run_with_stdin(temper().args(["render", "-q"]), &cut);
    fails_with(&out, &format!("<stdin>: invalid UTF-8 at byte offset {}", cut.len() - 1));

    let dir = TempDir::new("utf8");
    let file = dir.write("bad.yaml", &bad);
    let out = temper().args(["render", "-q", "-f"]).arg(&file).output().unwrap();
    fails_with(&out, &format!("{}: invalid UTF-8 at byte offset {at}", file.display()));

    let mut odd = vec![0xFF, 0xFE];
    odd.extend(CONFIG_MAP.encode_utf16().flat_map(u16::to_le_bytes));
    odd.pop();
    let out = run_with_stdin(temper().args(["render", "-q"]), &odd);
    fails_with(&out, "invalid UTF-16LE at byte offset");
}

/// A billion-node alias bomb is refused while it is being expanded, within the memory limit.
#[test]
fn an_alias_bomb_is_refused_in_bounded_time_and_memory() {
    let mut bomb = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..9 {
        bomb.push_str(&format!("  a{i}: &a{i} [{}]\n", vec![format!("*a{}", i - 1); 10].join(", ")));
    }
    // The watchdog bounds the time: expanding the bomb would spin far past its CPU ceiling.
    let out = bounded(&["render", "--env", "prod"], bomb.as_bytes());
    fails_with(&out, "alias bomb");
}

/// 10,000 levels of nesting, in flow style and in block style, fail at the depth limit instead
/// of exhausting the stack.
#[test]
fn ten_thousand_levels_of_nesting_are_refused() {
    let flow = format!("{CONFIG_MAP}  deep: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    let out = bounded(&["render", "--env", "prod"], flow.as_bytes());
    fails_with(&out, "<stdin>:7:");
    let mut block = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata:\n");
    for level in 1..10_000 {
        block.push_str(&format!("{}k:\n", " ".repeat(level)));
    }
    let out = bounded(&["render", "--env", "prod"], block.as_bytes());
    fails_with(&out, "document 1 (ConfigMap/deep)");
}

/// One 50 MB document is not refused: the limits are on nesting and alias expansion, not size.
/// It is written back byte for byte, since no rule touches a ConfigMap.
#[test]
fn a_single_50_mb_document_passes() {
    let mut text = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n");
    let mut i = 0;
    while text.len() < 50 << 20 {
        text.push_str(&format!("  key-{i:07}: \"{}\"\n", "v".repeat(80)));
        i += 1;
    }
    let out = bounded(&["render", "--env", "prod", "-q"], text.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout == text.as_bytes(), "the document was not written back as it came");
}

/// 100,000 small documents pass, all written back, and the summary counts them.
#[test]
fn a_hundred_thousand_small_documents_pass() {
    let text: String = (0..100_000)
        .map(|i| format!("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\ndata: {{k: v}}\n"))
        .collect();
    let out = bounded(&["render", "--env", "prod"], text.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout == text.as_bytes());
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Progress first (the input is over 4 MiB), ending where the run ended, then the summary.
    let summary = stderr.lines().position(|l| l.starts_with("temper: prod: ")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(stderr.lines().nth(summary).unwrap().starts_with("temper: prod: 100000 documents, 0 changed"), "{stderr}");
    assert_eq!(
        stderr.lines().take(summary).last(),
        Some("temper: 100000/100000 documents read, 100000 checked, 100000 written"),
        "{stderr}"
    );
}

/// `-f` paths that cannot be read: the message names the path and the reason.
#[test]
fn unreadable_input_paths_exit_2() {
    let dir = TempDir::new("paths");
    let file = dir.write("plain.yaml", CONFIG_MAP);
    let under_a_file = file.join("inside.yaml");
    let out = temper().args(["render", "-f"]).arg(&under_a_file).output().unwrap();
    fails_with(&out, &format!("cannot read {}: Not a directory", under_a_file.display()));
    // Reading the kernel's view of a process's memory from offset 0 fails with EIO.
    let out = temper().args(["render", "-f", "/proc/self/mem"]).output().unwrap();
    fails_with(&out, "cannot read /proc/self/mem: ");
    // A good file, then a bad one: nothing is written for the good one either.
    let out = temper()
        .args(["render", "--no-enforce", "-f"])
        .arg(&file)
        .arg("-f")
        .arg(dir.path("gone.yaml"))
        .output()
        .unwrap();
    fails_with(&out, "gone.yaml: No such file or directory");
}

/// Configuration directories broken in ways a user could break them: each fails with exit 2 and
/// a message naming the file (or, for a missing parent, the environment that names it).
#[test]
fn broken_config_directories_name_the_file() {
    let env = |body: &str| format!("apiVersion: temper.dev/v1alpha1\nkind: Environment\n{body}");
    type Files = Vec<(&'static str, Vec<u8>)>;
    let cases: Vec<(&str, Files, &[&str])> = vec![
        ("not a directory", vec![], &["configuration directory does not exist"]),
        (
            "empty",
            vec![("notes.txt", b"nothing".to_vec())],
            &["has neither an overlays/ nor an environments/ directory"],
        ),
        (
            "not yaml",
            vec![("environments/prod.yaml", b"apiVersion: temper.dev/v1alpha1\nkind: [Environment\n".to_vec())],
            &["environments/prod.yaml:", "line 2 column 7"],
        ),
        (
            "not utf-8",
            vec![(
                "environments/prod.yaml",
                b"apiVersion: temper.dev/v1alpha1\nkind: Environment\nmetadata: {name: \xFF}\n".to_vec(),
            )],
            &["environments/prod.yaml: stream did not contain valid UTF-8"],
        ),
        (
            "defined twice",
            vec![
                ("environments/a.yaml", env("metadata: {name: twin}\nspec: {}\n").into_bytes()),
                ("environments/b.yaml", env("metadata: {name: twin}\nspec: {}\n").into_bytes()),
            ],
            &["environments/b.yaml: `twin` is also defined in", "environments/a.yaml"],
        ),
        (
            "unknown parent",
            vec![("environments/prod.yaml", env("metadata: {name: prod}\nspec: {extends: nowhere}\n").into_bytes())],
            &["environments/prod.yaml: unknown environment `nowhere` (spec.extends of `prod`)"],
        ),
        (
            "unknown overlay",
            vec![("environments/prod.yaml", env("metadata: {name: prod}\nspec: {overlays: [missing]}\n").into_bytes())],
            &["environments/prod.yaml: unknown overlay `missing`"],
        ),
    ];
    for (name, files, needles) in cases {
        let dir = TempDir::new(&name.replace(' ', "-"));
        for (path, text) in &files {
            dir.write(path, text);
        }
        let config = if name == "not a directory" { dir.write("file", "x") } else { dir.root().to_path_buf() };
        let out =
            run_with_stdin(temper().args(["render", "--env", "prod", "--config"]).arg(&config), CONFIG_MAP.as_bytes());
        for needle in needles {
            fails_with(&out, needle);
        }
    }
}

/// A panic anywhere, on the main thread or a worker thread, ends the same way: one line on
/// stderr (and in the log file), exit code 2, nothing on stdout. The panic is triggered by
/// `TEMPER_DEBUG_PANIC`, which only debug builds read (`cargo test` builds one); a release
/// build must ignore it.
#[test]
fn a_panic_prints_one_line_and_exits_2_with_stdout_empty() {
    let dir = TempDir::new("panic");
    let log = dir.path("temper.log");
    for place in ["render", "worker"] {
        let out = run_with_stdin(
            temper()
                .args(["render", "--env", "prod", "--no-enforce", "-q", "--log-file"])
                .arg(&log)
                .env("TEMPER_DEBUG_PANIC", place),
            CONFIG_MAP.as_bytes(),
        );
        if !cfg!(debug_assertions) {
            assert_eq!(out.status.code(), Some(0), "a release build reads TEMPER_DEBUG_PANIC\n{}", transcript(&out));
            continue;
        }
        fails_with(&out, &format!("temper: internal error: TEMPER_DEBUG_PANIC={place}"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("nothing was written (please report this)"), "{stderr}");
        let logged = std::fs::read_to_string(&log).unwrap();
        assert!(logged.ends_with(stderr.as_ref()), "the log file has the same line\n{logged}");
    }
    // Without the trigger the same run succeeds, so the failures above are the panic's.
    let out = run_with_stdin(temper().args(["render", "--env", "prod", "--no-enforce", "-q"]), CONFIG_MAP.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    assert!(!out.stdout.is_empty());
}
