//! Packages installed the way a package manager drives stagemerge: each
//! merge writes the package's JSON record into one directory of records
//! and knows the others (`--manifest-dir`); uninstall and verify read them.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Run, bin};

/// A TARGET and its directory of records.
pub struct Installed {
    pub target: PathBuf,
    pub records: PathBuf,
}

impl Installed {
    pub fn new(target: &Path, records: &Path) -> Installed {
        std::fs::create_dir_all(records).unwrap();
        Installed {
            target: target.to_owned(),
            records: records.to_owned(),
        }
    }

    pub fn record(&self, name: &str) -> PathBuf {
        self.records.join(name)
    }

    /// `stagemerge merge --manifest RECORD --manifest-format json
    /// --manifest-dir RECORDS [args] STAGE TARGET`, not run.
    pub fn merge_cmd(&self, name: &str, stage: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.arg("merge")
            .arg("--manifest")
            .arg(self.record(name))
            .args(["--manifest-format", "json", "--manifest-dir"])
            .arg(&self.records)
            .args(args)
            .arg(stage)
            .arg(&self.target);
        c
    }

    pub fn merge(&self, name: &str, stage: &Path, args: &[&str]) -> Run {
        Run::of(self.merge_cmd(name, stage, args))
    }

    /// `stagemerge plan --manifest-dir RECORDS [--manifest RECORD] [args]`.
    pub fn plan(&self, name: Option<&str>, stage: &Path, args: &[&str]) -> Run {
        let mut c = Command::new(bin());
        c.arg("plan").arg("--manifest-dir").arg(&self.records);
        if let Some(n) = name {
            c.arg("--manifest").arg(self.record(n));
        }
        c.args(args).arg(stage).arg(&self.target);
        Run::of(c)
    }

    /// Uninstalls the package with the others' records; a successful
    /// uninstall removes the record itself.
    pub fn uninstall(&self, name: &str) -> Run {
        let mut c = Command::new(bin());
        c.arg("uninstall")
            .arg("--manifest")
            .arg(self.record(name))
            .arg("--manifest-dir")
            .arg(&self.records)
            .arg(&self.target);
        let run = Run::of(c);
        if run.code == 0 {
            record_gone(&self.record(name), &run);
        }
        run
    }

    pub fn verify(&self, name: &str) -> Run {
        let mut c = Command::new(bin());
        c.arg("verify")
            .arg("--manifest")
            .arg(self.record(name))
            .arg(&self.target);
        Run::of(c)
    }

    /// The versions kept in TARGET's clobber store (file names below
    /// `.stagemerge/clobbered/`).
    pub fn stored(&self) -> Vec<PathBuf> {
        let dir = self.target.join(".stagemerge/clobbered");
        let mut out = Vec::new();
        if let Ok(keys) = std::fs::read_dir(&dir) {
            for k in keys {
                for v in std::fs::read_dir(k.unwrap().path()).unwrap() {
                    out.push(v.unwrap().path());
                }
            }
        }
        out
    }
}

/// Asserts that a successful uninstall removed its record, `record`. An
/// older build under test (`STAGEMERGE_TEST_BIN`) left that to its caller
/// (`uninstall && rm RECORD`), which is done here for it.
#[track_caller]
pub fn record_gone(record: &Path, run: &Run) {
    if record.exists() && std::env::var_os("STAGEMERGE_TEST_BIN").is_some() {
        std::fs::remove_file(record).unwrap();
    }
    assert!(
        !record.exists(),
        "a successful uninstall removes its record\n{}",
        run.stderr
    );
}

/// A deterministic shuffle (xorshift), so that a failing order can be
/// replayed from its seed.
pub fn shuffled<T: Clone>(items: &[T], seed: u64) -> Vec<T> {
    let mut v = items.to_vec();
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for i in (1..v.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
    v
}
