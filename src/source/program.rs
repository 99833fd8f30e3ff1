//! Running a renderer: without a shell, with no stdin, both pipes drained, and stopped at a
//! deadline so that the caller can still explain the failure before its own caller gives up.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::read::{self, Input};

/// When a renderer is stopped, and how the user sets that limit (for the message).
#[derive(Debug, Clone)]
pub struct Deadline {
    pub at: Instant,
    pub limit: Duration,
    /// The flags or variables that set `limit`, e.g. `--timeout, TEMPER_ARGOCD_TIMEOUT`.
    pub set_by: String,
}

/// `name` in the directories of `path` (a `PATH` value), as an executable file.
pub fn find_program(name: &str, path: Option<&str>) -> Option<PathBuf> {
    std::env::split_paths(path?).map(|dir| dir.join(name)).find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// Runs `program` in the current directory and returns its stdout as an input named `what`.
/// Its stderr goes into the error if it fails, and into `notes` if it succeeds.
pub(super) fn run(
    program: &Path,
    argv: &[String],
    what: &str,
    deadline: &Deadline,
    notes: &mut String,
) -> Result<Input> {
    let fail = |message: String| Error::Source(message);
    let mut child = Command::new(program)
        .args(argv)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot run {what} ({}): {e}", program.display())))?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| fail(format!("cannot wait for {what}: {e}")))? {
            break status;
        }
        if Instant::now() >= deadline.at {
            let _ = child.kill();
            let _ = child.wait();
            let so_far = stderr.recv_timeout(Duration::from_millis(500)).unwrap_or_default();
            return Err(fail(format!(
                "{what} did not finish within {} s and was stopped ({}){}",
                deadline.limit.as_secs_f64(),
                deadline.set_by,
                explain(&so_far)
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = stdout.recv().unwrap_or_default();
    let stderr = stderr.recv().unwrap_or_default();
    if !status.success() {
        let how = status.code().map_or_else(|| "was killed by a signal".to_string(), |c| format!("exit status {c}"));
        return Err(fail(format!("{what} failed ({how}){}", explain(&stderr))));
    }
    let said = String::from_utf8_lossy(&stderr);
    if !said.trim().is_empty() {
        notes.push_str(said.trim_end());
        notes.push('\n');
    }
    let text = read::decode(what, stdout)?;
    Ok(Input::new(what, text))
}

/// Reads a pipe to its end on its own thread, so that neither pipe can fill up and block
/// the child.
fn drain(pipe: Option<impl std::io::Read + Send + 'static>) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buf);
        }
        let _ = tx.send(buf);
    });
    rx
}

fn explain(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let text = text.trim();
    if text.is_empty() { String::new() } else { format!(":\n{text}") }
}
