//! The exit statuses, in one place.

/// How a run ended, as the process exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Everything merged (warnings allowed).
    Ok = 0,
    /// The merge ran, but some entries were not merged (conflicts, I/O errors).
    Problems = 1,
    /// Nothing was done: bad arguments, an unusable STAGE or TARGET.
    NothingDone = 2,
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e as u8)
    }
}
