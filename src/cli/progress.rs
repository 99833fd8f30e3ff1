//! Progress on stderr for runs that may be long: documents read, checked and written, at most
//! twice a second, then once more where the run ended (when the input was large or a line was
//! printed already, so a short run on a terminal stays quiet). Never on stdout, never with `-q`.

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use temper::Input;
use temper::progress::{Counts, Progress};

/// Input larger than this makes a run long enough to report on.
const LARGE_INPUT: usize = 4 << 20;
/// The shortest time between two progress lines.
const EVERY: Duration = Duration::from_millis(500);

/// A thread printing a run's progress until the run is over.
pub struct Ticker {
    progress: Arc<Progress>,
    written: bool,
    /// Whether the input was large, or a line was printed: then the last line is printed too.
    large: bool,
    printed: Arc<AtomicBool>,
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    /// Starts reporting on a run over `inputs` when it may be long (more than 4 MiB of input,
    /// or someone watching stderr on a terminal) and not `quiet`. `written`: whether the run
    /// writes documents (`render`) or only checks them.
    pub fn start(inputs: &[Input], quiet: bool, written: bool) -> Option<Ticker> {
        let large = inputs.iter().map(|i| i.text.len()).sum::<usize>() > LARGE_INPUT;
        if quiet || !(large || std::io::stderr().is_terminal()) {
            return None;
        }
        let progress = Arc::new(Progress::default());
        let printed = Arc::new(AtomicBool::new(false));
        let (stop, stopped) = mpsc::channel::<()>();
        let (counters, said) = (Arc::clone(&progress), Arc::clone(&printed));
        let thread = std::thread::Builder::new()
            .name("progress".into())
            .spawn(move || {
                let mut last = Counts::default();
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(EVERY) {
                    let now = counters.counts();
                    if now != last {
                        eprint!("{}", line(now, written));
                        said.store(true, Ordering::Relaxed);
                        last = now;
                    }
                }
            })
            .ok();
        Some(Ticker { progress, written, large, printed, stop: Some(stop), thread })
    }

    /// The counters the run advances.
    pub fn progress(&self) -> Arc<Progress> {
        Arc::clone(&self.progress)
    }

    /// Stops reporting and prints where the run ended, unless the run was short and said
    /// nothing so far.
    pub fn finish(mut self) {
        self.halt();
        if self.large || self.printed.load(Ordering::Relaxed) {
            eprint!("{}", line(self.progress.counts(), self.written));
        }
    }

    fn halt(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A run that fails stops its reporting without a last line.
impl Drop for Ticker {
    fn drop(&mut self) {
        self.halt();
    }
}

fn line(counts: Counts, written: bool) -> String {
    let Counts { documents, read, checked, written: out } = counts;
    let written = if written { format!(", {out} written") } else { String::new() };
    format!("temper: {read}/{documents} documents read, {checked} checked{written}\n")
}
