//! A progress line on stderr for merges that take a while (large copies):
//! only when stderr is a terminal, not with `--quiet`, and only once the
//! merge has run for about a second, so quick merges print nothing extra.

use std::path::Path;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Hidden knob for tests: show the line after this many milliseconds.
const AFTER_ENV: &str = "STAGEMERGE_PROGRESS_AFTER_MS";

#[derive(Debug)]
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
    after: Duration,
    shown: bool,
}

impl Progress {
    /// A progress line that will show if `enabled` (stderr is a terminal
    /// and output is not quiet).
    pub(crate) fn new(enabled: bool) -> Self {
        let after = std::env::var(AFTER_ENV)
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(Duration::from_secs(1), Duration::from_millis);
        let bar = enabled.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
            let style = ProgressStyle::with_template(
                "{spinner} {pos} entries merged ({per_sec}) {wide_msg}",
            )
            .expect("a valid template");
            bar.set_style(style);
            bar
        });
        Progress {
            bar,
            started: Instant::now(),
            after,
            shown: false,
        }
    }

    /// Counts one entry (at `path`, relative to both roots).
    pub(crate) fn entry(&mut self, path: &Path) {
        let Some(bar) = &self.bar else { return };
        bar.inc(1);
        if !self.shown && self.started.elapsed() >= self.after {
            bar.set_draw_target(ProgressDrawTarget::stderr());
            self.shown = true;
        }
        if self.shown {
            bar.set_message(path.display().to_string());
            bar.tick();
        }
    }

    /// Removes the line before the summary is printed.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
