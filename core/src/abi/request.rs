//! What the host asks of the guest: the command, the merge options and how
//! to print, encoded once here so the options reach the guest exactly as the
//! native front end validated them (there is no second command line).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};

use crate::installed::Installed;
use crate::options::{OnConflict, Options};
use crate::outcome::{Printing, Verbosity};
use crate::ownership::{Owner, Owners, Ownership, Patterns};
use crate::record::file::WriteFormat;
use crate::record::read::{Reserved, What};
use crate::record::{Record, State};

/// A command for the guest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Print the plan; exit 1 if it has problems.
    Plan,
    /// Merge with the portable primitives.
    Merge,
    /// `verify` of the record `records.books[0]`.
    Verify {
        /// Print JSON.
        json: bool,
        /// The record is pip's RECORD at this TARGET-relative path.
        pip_record: Option<PathBuf>,
    },
    /// `uninstall` of the record `records.books[0]`, keeping what the
    /// records of `records.dir` list (less the one its `own` names: the
    /// record uninstalled, when it lies there).
    Uninstall {
        /// How it was asked to run.
        flags: crate::command::UninstallFlags,
        /// The record is pip's RECORD at this TARGET-relative path.
        pip_record: Option<PathBuf>,
        /// Site directories whose distributions are owners: TARGET-relative,
        /// and as the user named them.
        pip_sites: Vec<(PathBuf, PathBuf)>,
    },
    /// `owner` of `paths` (relative to TARGET), by the records of
    /// `records.dir`.
    Owner {
        /// The paths asked about.
        paths: Vec<PathBuf>,
        /// Print JSON.
        json: bool,
    },
    /// Try every kind of write WASI offers on both preopens and on the
    /// entries `file` and `dir` in each; exit 0 only if all were refused.
    ProbeWrites {
        /// A file name present in both roots.
        file: String,
        /// A directory name present in both roots.
        dir: String,
    },
}

/// A record a sandboxed merge writes: in the directory preopened as root
/// `root`, under the name `name`.
#[derive(Clone, Debug)]
pub struct BookRequest {
    /// The preopen holding the record ([`super::extra_root`]).
    pub root: u32,
    /// The record's file name, as bytes.
    pub name: Vec<u8>,
    /// The record's path as the user named it (for messages only).
    pub shown: PathBuf,
    /// How it is written.
    pub format: WriteFormat,
}

/// The directory of records a sandboxed merge reads, preopened as `root`.
#[derive(Clone, Debug)]
pub struct DirRequest {
    /// The preopen ([`super::extra_root`]).
    pub root: u32,
    /// Its path as the user named it (for messages only).
    pub shown: PathBuf,
    /// The names there of the records this merge writes, as bytes.
    pub own: Vec<Vec<u8>>,
}

/// What a sandboxed merge reads and writes besides its two trees. The
/// guest reads, checks and writes the records itself, with the same core
/// as natively, through the preopens named here; the ownership policies
/// travel in [`Options::ownership`] (with no owners: the guest reads them).
#[derive(Clone, Debug)]
pub struct RecordsRequest {
    /// What the records need to know of each staged entry.
    pub level: Record,
    /// The paths no record may list.
    pub reserved: Reserved,
    /// The records written.
    pub books: Vec<BookRequest>,
    /// The directory of records.
    pub dir: Option<DirRequest>,
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
    /// A merge's records, if it writes or reads any.
    pub records: Option<RecordsRequest>,
}

fn level_word(r: Record) -> &'static str {
    match r {
        Record::Off => "off",
        Record::Paths => "paths",
        Record::Full => "full",
    }
}

fn encode_records(r: &RecordsRequest) -> Value {
    let books: Vec<Value> = r
        .books
        .iter()
        .map(|b| {
            let format = match &b.format {
                WriteFormat::Text => json!("text"),
                WriteFormat::Json => json!("json"),
                WriteFormat::Sage(h) => json!({ "sage": h }),
            };
            json!({"root": b.root, "name": hex::encode(&b.name),
                   "shown": b.shown.to_string_lossy(), "format": format})
        })
        .collect();
    let reserved: Vec<Value> = r
        .reserved
        .paths()
        .map(|(p, tree, what)| json!([p.to_string_lossy(), tree, what.word()]))
        .collect();
    json!({
        "level": level_word(r.level),
        "reserved": reserved,
        "books": books,
        "dir": r.dir.as_ref().map(|d| json!({
            "root": d.root,
            "shown": d.shown.to_string_lossy(),
            "own": d.own.iter().map(hex::encode).collect::<Vec<_>>(),
        })),
    })
}

fn decode_records(v: &Value) -> io::Result<RecordsRequest> {
    let level = [Record::Off, Record::Paths, Record::Full]
        .into_iter()
        .find(|l| Some(level_word(*l)) == v["level"].as_str())
        .ok_or_else(|| bad("level"))?;
    let bytes = |v: &Value, what: &str| -> io::Result<Vec<u8>> {
        hex::decode(v.as_str().ok_or_else(|| bad(what))?).map_err(|_| bad(what))
    };
    let root = |v: &Value| -> io::Result<u32> {
        v["root"]
            .as_u64()
            .and_then(|r| u32::try_from(r).ok())
            .ok_or_else(|| bad("root"))
    };
    let shown = |v: &Value| -> io::Result<PathBuf> {
        Ok(v["shown"].as_str().ok_or_else(|| bad("shown"))?.into())
    };
    let mut reserved = Reserved::default();
    // The default (the store) is sent too: start from none of it twice.
    for e in v["reserved"].as_array().ok_or_else(|| bad("reserved"))? {
        let path = PathBuf::from(e[0].as_str().ok_or_else(|| bad("reserved path"))?);
        let tree = e[1].as_bool().ok_or_else(|| bad("reserved tree"))?;
        let what = What::ALL
            .into_iter()
            .find(|w| Some(w.word()) == e[2].as_str())
            .ok_or_else(|| bad("reserved what"))?;
        if what == What::Store {
            continue;
        }
        if tree {
            reserved.tree(path, what);
        } else {
            reserved.entry(path, what);
        }
    }
    let mut books = Vec::new();
    for b in v["books"].as_array().ok_or_else(|| bad("books"))? {
        let format = match &b["format"] {
            Value::String(s) if s == "text" => WriteFormat::Text,
            Value::String(s) if s == "json" => WriteFormat::Json,
            Value::Object(o) => WriteFormat::Sage(
                serde_json::from_value(o.get("sage").cloned().unwrap_or(Value::Null))
                    .map_err(|e| bad(&format!("sage header: {e}")))?,
            ),
            _ => return Err(bad("format")),
        };
        books.push(BookRequest {
            root: root(b)?,
            name: bytes(&b["name"], "name")?,
            shown: shown(b)?,
            format,
        });
    }
    let dir = match &v["dir"] {
        Value::Null => None,
        d => Some(DirRequest {
            root: root(d)?,
            shown: shown(d)?,
            own: d["own"]
                .as_array()
                .ok_or_else(|| bad("own"))?
                .iter()
                .map(|n| bytes(n, "own"))
                .collect::<io::Result<_>>()?,
        }),
    };
    Ok(RecordsRequest {
        level,
        reserved,
        books,
        dir,
    })
}

fn policy_word(p: OnConflict) -> &'static str {
    match p {
        OnConflict::Replace => "replace",
        OnConflict::Keep => "keep",
        OnConflict::Fail => "fail",
    }
}

fn policy_from(word: &str) -> Option<OnConflict> {
    [OnConflict::Replace, OnConflict::Keep, OnConflict::Fail]
        .into_iter()
        .find(|p| policy_word(*p) == word)
}

/// The records travel as names, flags and, per entry, the path and the
/// version's digest: all the guest's decisions use.
fn encode_ownership(o: &Ownership) -> Value {
    let owners: Vec<Value> = o
        .owners
        .versioned()
        .map(|(owner, versions)| {
            let entries: Vec<Value> = owner
                .entries
                .iter()
                .zip(versions)
                .map(|(e, v)| json!([e.path.to_string_lossy(), v.map(hex::encode)]))
                .collect();
            json!({"name": owner.name, "own": owner.own,
                   "incomplete": owner.incomplete, "entries": entries})
        })
        .collect();
    json!({
        "on_owned": o.on_owned.map(policy_word),
        "allow_overwrite": o.allow_overwrite.given(),
        "protect": o.protect.given(),
        "owners": owners,
    })
}

fn decode_ownership(v: &Value) -> io::Result<Ownership> {
    let strings = |k: &str| -> io::Result<Vec<String>> {
        v[k].as_array()
            .ok_or_else(|| bad(k))?
            .iter()
            .map(|s| s.as_str().map(String::from).ok_or_else(|| bad(k)))
            .collect()
    };
    let on_owned = match &v["on_owned"] {
        Value::Null => None,
        w => Some(policy_from(w.as_str().unwrap_or("")).ok_or_else(|| bad("on_owned"))?),
    };
    let mut owners = Owners::default();
    for o in v["owners"].as_array().ok_or_else(|| bad("owners"))? {
        let mut entries = Vec::new();
        let mut versions = Vec::new();
        for e in o["entries"].as_array().ok_or_else(|| bad("entries"))? {
            let path = e[0].as_str().ok_or_else(|| bad("entry path"))?;
            let version = match &e[1] {
                Value::Null => None,
                d => {
                    let mut out = [0; 32];
                    hex::decode_to_slice(d.as_str().unwrap_or(""), &mut out)
                        .map_err(|_| bad("entry version"))?;
                    Some(out)
                }
            };
            entries.push(Installed {
                path: path.into(),
                kind: None,
                detail: None,
                state: State::Placed,
            });
            versions.push(version);
        }
        let owner = Owner {
            name: o["name"].as_str().ok_or_else(|| bad("owner name"))?.into(),
            own: o["own"].as_bool().ok_or_else(|| bad("own"))?,
            incomplete: o["incomplete"].as_bool().ok_or_else(|| bad("incomplete"))?,
            entries,
        };
        owners.add_versioned(owner, versions);
    }
    Ok(Ownership {
        owners,
        on_owned,
        allow_overwrite: Patterns::new(strings("allow_overwrite")?).map_err(|e| bad(&e))?,
        protect: Patterns::new(strings("protect")?).map_err(|e| bad(&e))?,
        late: None,
    })
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

/// The `pip_record` of a command's arguments (`null`: none).
fn pip_record(args: &Value) -> io::Result<Option<PathBuf>> {
    match &args["pip_record"] {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(PathBuf::from(s))),
        _ => Err(bad("pip_record")),
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
            Command::Verify { json, pip_record } => (
                "verify",
                json!({ "json": json, "pip_record": pip_record.as_deref().map(Path::to_string_lossy) }),
            ),
            Command::Uninstall {
                flags,
                pip_record,
                pip_sites,
            } => (
                "uninstall",
                json!({"force": flags.force, "keep_record": flags.keep_record,
                       "json": flags.json, "quiet": flags.quiet,
                       "pip_record": pip_record.as_deref().map(Path::to_string_lossy),
                       "pip_sites": pip_sites.iter()
                           .map(|(rel, shown)| [rel.to_string_lossy(), shown.to_string_lossy()])
                           .collect::<Vec<_>>()}),
            ),
            Command::Owner { paths, json } => (
                "owner",
                json!({"json": json,
                       "paths": paths.iter().map(|p| p.to_string_lossy()).collect::<Vec<_>>()}),
            ),
            Command::ProbeWrites { file, dir } => ("probe-writes", json!([file, dir])),
        };
        let o = &self.options;
        json!({
            "command": command,
            "probe": probe,
            "on_conflict": policy_word(o.on_conflict),
            "force_fallback": o.force_fallback,
            "copy": o.copy,
            "ownership": o.ownership.as_deref().map_or(Value::Null, encode_ownership),
            "json": self.printing.json,
            "verbosity": verbosity_word(self.printing.verbosity),
            "stage": self.stage.to_string_lossy(),
            "target": self.target.to_string_lossy(),
            "records": self.records.as_ref().map(encode_records),
        })
        .to_string()
        .into_bytes()
    }

    /// Decodes what [`Request::encode`] wrote.
    pub fn decode(bytes: &[u8]) -> io::Result<Request> {
        let v: Value = serde_json::from_slice(bytes).map_err(|e| bad(&e.to_string()))?;
        let text = |k: &str| v[k].as_str().ok_or_else(|| bad(k));
        let flag = |k: &str| v[k].as_bool().ok_or_else(|| bad(k));
        let arg = |k: &str| v["probe"][k].as_bool().ok_or_else(|| bad(k));
        let command = match text("command")? {
            "plan" => Command::Plan,
            "merge" => Command::Merge,
            "verify" => Command::Verify {
                json: arg("json")?,
                pip_record: pip_record(&v["probe"])?,
            },
            "uninstall" => Command::Uninstall {
                flags: crate::command::UninstallFlags {
                    force: arg("force")?,
                    keep_record: arg("keep_record")?,
                    json: arg("json")?,
                    quiet: arg("quiet")?,
                },
                pip_record: pip_record(&v["probe"])?,
                pip_sites: v["probe"]["pip_sites"]
                    .as_array()
                    .ok_or_else(|| bad("pip_sites"))?
                    .iter()
                    .map(|pair| match (pair[0].as_str(), pair[1].as_str()) {
                        (Some(rel), Some(shown)) => Ok((PathBuf::from(rel), PathBuf::from(shown))),
                        _ => Err(bad("pip_sites")),
                    })
                    .collect::<io::Result<_>>()?,
            },
            "owner" => Command::Owner {
                json: arg("json")?,
                paths: v["probe"]["paths"]
                    .as_array()
                    .ok_or_else(|| bad("paths"))?
                    .iter()
                    .map(|p| p.as_str().map(PathBuf::from).ok_or_else(|| bad("paths")))
                    .collect::<io::Result<_>>()?,
            },
            "probe-writes" => Command::ProbeWrites {
                file: v["probe"][0].as_str().ok_or_else(|| bad("probe"))?.into(),
                dir: v["probe"][1].as_str().ok_or_else(|| bad("probe"))?.into(),
            },
            _ => return Err(bad("command")),
        };
        let on_conflict =
            policy_from(text("on_conflict").unwrap_or("")).ok_or_else(|| bad("on_conflict"))?;
        let ownership = match &v["ownership"] {
            Value::Null => None,
            o => Some(Arc::new(decode_ownership(o)?)),
        };
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
                ownership,
                // A sandboxed merge writes no record, so it has no earlier
                // one to tell its own versions by.
                earlier: None,
            },
            printing: Printing {
                verbosity,
                json: flag("json")?,
            },
            stage: text("stage")?.into(),
            target: text("target")?.into(),
            records: match &v["records"] {
                Value::Null => None,
                r => Some(decode_records(r)?),
            },
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
            (
                Command::Verify {
                    json: true,
                    pip_record: Some("lib/x.dist-info/RECORD".into()),
                },
                OnConflict::Keep,
                Verbosity::Quiet,
            ),
            (
                Command::Uninstall {
                    flags: crate::command::UninstallFlags {
                        force: true,
                        keep_record: false,
                        json: true,
                        quiet: false,
                    },
                    pip_record: None,
                    pip_sites: vec![("lib/site".into(), "/t/lib/site".into())],
                },
                OnConflict::Keep,
                Verbosity::Quiet,
            ),
            (
                Command::Owner {
                    paths: vec!["lib/a b".into(), "x".into()],
                    json: false,
                },
                OnConflict::Keep,
                Verbosity::Quiet,
            ),
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
                    ownership: None,
                    earlier: None,
                },
                printing: Printing {
                    verbosity,
                    json: true,
                },
                stage: "st ä".into(),
                target: "/t".into(),
                records: None,
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

    #[test]
    fn ownership_survives_the_trip() {
        let mut owners = Owners::default();
        let entry = |p: &str| Installed {
            path: p.into(),
            kind: None,
            detail: None,
            state: State::Placed,
        };
        let foo = Owner {
            name: "foo-1.2".into(),
            own: false,
            incomplete: true,
            entries: vec![entry("lib/a"), entry("etc/x.conf")],
        };
        owners.add_versioned(foo, vec![Some([7; 32]), None]);
        let own = Owner {
            name: "me-1".into(),
            own: true,
            incomplete: false,
            entries: vec![entry("lib/a")],
        };
        owners.add_versioned(own, vec![Some([9; 32])]);
        let r = Request {
            command: Command::Plan,
            options: Options {
                ownership: Some(Arc::new(Ownership {
                    owners,
                    on_owned: Some(OnConflict::Fail),
                    allow_overwrite: Patterns::new(vec!["share/**".into()]).unwrap(),
                    protect: Patterns::new(vec!["etc/".into()]).unwrap(),
                    late: None,
                })),
                ..Options::default()
            },
            printing: Printing {
                verbosity: Verbosity::Normal,
                json: false,
            },
            stage: "s".into(),
            target: "t".into(),
            records: None,
        };
        let back = Request::decode(&r.encode()).unwrap();
        let o = back.options.ownership.unwrap();
        assert_eq!(o.on_owned, Some(OnConflict::Fail));
        assert_eq!(o.allow_overwrite.given(), ["share/**"]);
        assert!(o.protect.matches(std::path::Path::new("etc/x.conf")));
        let a = o.owners.claims(std::path::Path::new("lib/a"));
        assert_eq!(a.others, ["foo-1.2"]);
        assert_eq!(a.versions, [[7; 32], [9; 32]]);
        let x = o.owners.claims(std::path::Path::new("etc/x.conf"));
        assert!(x.unknown && x.versions.is_empty());
        assert!(o.owners.owners()[0].incomplete && o.owners.owners()[1].own);
    }

    #[test]
    fn records_survive_the_trip() {
        let mut reserved = Reserved::default();
        reserved
            .tree("var/lib/inst".into(), What::RecordsDir)
            .entry("var/lib/inst/me".into(), What::Record);
        let header = crate::record::write::SageHeader {
            package: "p".into(),
            version: "1".into(),
            install_date: "2026-12-06T00:00:00Z".into(),
            system_uname: "Linux".into(),
            sage_version: None,
            test_result: Some("passed".into()),
        };
        let r = Request {
            command: Command::Merge,
            options: Options::default(),
            printing: Printing::default(),
            stage: "s".into(),
            target: "t".into(),
            records: Some(RecordsRequest {
                level: Record::Full,
                reserved,
                books: vec![
                    BookRequest {
                        root: 3,
                        name: b"m\xff".to_vec(),
                        shown: "/x/m".into(),
                        format: WriteFormat::Json,
                    },
                    BookRequest {
                        root: 4,
                        name: b"p-1".to_vec(),
                        shown: "/i/p-1".into(),
                        format: WriteFormat::Sage(header),
                    },
                ],
                dir: Some(DirRequest {
                    root: 2,
                    shown: "/i".into(),
                    own: vec![b"p-1".to_vec()],
                }),
            }),
        };
        let back = Request::decode(&r.encode()).unwrap().records.unwrap();
        assert_eq!(back.level, Record::Full);
        assert_eq!(back.books[0].name, b"m\xff");
        assert!(matches!(back.books[0].format, WriteFormat::Json));
        match &back.books[1].format {
            WriteFormat::Sage(h) => assert_eq!(h.test_result.as_deref(), Some("passed")),
            f => panic!("{f:?}"),
        }
        assert_eq!(
            (back.books[1].root, back.dir.as_ref().unwrap().root),
            (4, 2)
        );
        assert_eq!(back.dir.unwrap().own, [b"p-1".to_vec()]);
        let claims = |p: &str| back.reserved.claims(std::path::Path::new(p));
        assert_eq!(claims("var/lib/inst/other"), Some(What::RecordsDir));
        assert_eq!(claims(".stagemerge/x"), Some(What::Store));
        assert_eq!(back.reserved.paths().count(), 3);
    }
}
