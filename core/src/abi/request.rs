//! What the host asks of the guest: the command, the merge options and how
//! to print, encoded once here so the options reach the guest exactly as the
//! native front end validated them (there is no second command line).

use std::io;
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::options::{OnConflict, Options};
use crate::outcome::{Printing, Verbosity};

/// A command for the guest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Print the plan; exit 1 if it has problems.
    Plan,
    /// Merge with the portable primitives.
    Merge,
    /// Try every kind of write WASI offers on both preopens and on the
    /// entries `file` and `dir` in each; exit 0 only if all were refused.
    ProbeWrites {
        /// A file name present in both roots.
        file: String,
        /// A directory name present in both roots.
        dir: String,
    },
}

/// One run of the guest.
#[derive(Clone, Debug)]
pub struct Request {
    /// What to do.
    pub command: Command,
    /// The merge's (or plan's) settings.
    pub options: Options,
    /// How to print the outcome.
    pub printing: Printing,
    /// STAGE and TARGET as the user named them (for messages only).
    pub stage: PathBuf,
    /// See `stage`.
    pub target: PathBuf,
}

fn policy_word(p: OnConflict) -> &'static str {
    match p {
        OnConflict::Replace => "replace",
        OnConflict::Keep => "keep",
        OnConflict::Fail => "fail",
    }
}

fn verbosity_word(v: Verbosity) -> &'static str {
    match v {
        Verbosity::Quiet => "quiet",
        Verbosity::Normal => "normal",
        Verbosity::Verbose => "verbose",
    }
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("bad request: {what}"))
}

/// What the guest may do to the two preopened roots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Only reads (a plan): WASI refuses every write.
    ReadOnly,
    /// Reads and writes (a merge).
    ReadWrite,
}

impl Access {
    /// The word that names it on the sandbox helper's command line.
    pub fn as_arg(self) -> &'static str {
        match self {
            Access::ReadOnly => "--read-only",
            Access::ReadWrite => "--read-write",
        }
    }

    /// The access [`Access::as_arg`] named, if `arg` is one.
    pub fn from_arg(arg: &str) -> Option<Access> {
        [Access::ReadOnly, Access::ReadWrite]
            .into_iter()
            .find(|a| a.as_arg() == arg)
    }
}

impl Request {
    /// The request as the bytes the guest's `request` import returns.
    /// Names that are not UTF-8 travel lossily: they only appear in
    /// messages, where the native binary prints them the same lossy way.
    pub fn encode(&self) -> Vec<u8> {
        let (command, probe) = match &self.command {
            Command::Plan => ("plan", Value::Null),
            Command::Merge => ("merge", Value::Null),
            Command::ProbeWrites { file, dir } => ("probe-writes", json!([file, dir])),
        };
        let o = &self.options;
        json!({
            "command": command,
            "probe": probe,
            "on_conflict": policy_word(o.on_conflict),
            "force_fallback": o.force_fallback,
            "copy": o.copy,
            "json": self.printing.json,
            "verbosity": verbosity_word(self.printing.verbosity),
            "stage": self.stage.to_string_lossy(),
            "target": self.target.to_string_lossy(),
        })
        .to_string()
        .into_bytes()
    }

    /// Decodes what [`Request::encode`] wrote.
    pub fn decode(bytes: &[u8]) -> io::Result<Request> {
        let v: Value = serde_json::from_slice(bytes).map_err(|e| bad(&e.to_string()))?;
        let text = |k: &str| v[k].as_str().ok_or_else(|| bad(k));
        let flag = |k: &str| v[k].as_bool().ok_or_else(|| bad(k));
        let command = match text("command")? {
            "plan" => Command::Plan,
            "merge" => Command::Merge,
            "probe-writes" => Command::ProbeWrites {
                file: v["probe"][0].as_str().ok_or_else(|| bad("probe"))?.into(),
                dir: v["probe"][1].as_str().ok_or_else(|| bad("probe"))?.into(),
            },
            _ => return Err(bad("command")),
        };
        let on_conflict = [OnConflict::Replace, OnConflict::Keep, OnConflict::Fail]
            .into_iter()
            .find(|p| policy_word(*p) == text("on_conflict").unwrap_or(""))
            .ok_or_else(|| bad("on_conflict"))?;
        let verbosity = [Verbosity::Quiet, Verbosity::Normal, Verbosity::Verbose]
            .into_iter()
            .find(|p| verbosity_word(*p) == text("verbosity").unwrap_or(""))
            .ok_or_else(|| bad("verbosity"))?;
        Ok(Request {
            command,
            options: Options {
                on_conflict,
                force_fallback: flag("force_fallback")?,
                copy: flag("copy")?,
            },
            printing: Printing {
                verbosity,
                json: flag("json")?,
            },
            stage: text("stage")?.into(),
            target: text("target")?.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_survives_the_trip() {
        for (command, on_conflict, verbosity) in [
            (Command::Plan, OnConflict::Keep, Verbosity::Quiet),
            (Command::Merge, OnConflict::Fail, Verbosity::Verbose),
            (
                Command::ProbeWrites {
                    file: "f".into(),
                    dir: "d".into(),
                },
                OnConflict::Replace,
                Verbosity::Normal,
            ),
        ] {
            let r = Request {
                command,
                options: Options {
                    on_conflict,
                    force_fallback: true,
                    copy: true,
                },
                printing: Printing {
                    verbosity,
                    json: true,
                },
                stage: "st ä".into(),
                target: "/t".into(),
            };
            let back = Request::decode(&r.encode()).unwrap();
            assert_eq!(back.command, r.command);
            assert_eq!(back.options.on_conflict, on_conflict);
            assert!(back.options.force_fallback && back.options.copy);
            assert_eq!(back.printing, r.printing);
            assert_eq!((back.stage, back.target), (r.stage, r.target));
        }
        assert!(Request::decode(b"{\"command\":\"rm\"}").is_err());
    }
}
