//! The validated settings of a run, built from the parsed command line before
//! anything touches the filesystem for writing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use stagemerge_core::outcome::{Printing, Verbosity};
use stagemerge_core::ownership::{Ownership, Patterns};
use stagemerge_core::{OnConflict, Options, Record};

use crate::cli::{ConflictPolicy, ManifestFormat, MergeArgs, OwnershipArgs, PlanArgs};
use crate::lock;
use crate::records::Reader;

/// Environment switch that forces the portable fallback (link + unlink,
/// mkdir + children) so tests exercise it on filesystems that have the
/// no-replace flag. Not a user option.
pub(crate) const FORCE_FALLBACK_ENV: &str = "STAGEMERGE_FORCE_FALLBACK";

/// A merge that is ready to run: both roots exist, are directories, and are
/// neither the same nor nested the wrong way round.
#[derive(Debug)]
pub(crate) struct MergeConfig {
    /// STAGE as the user named it (for messages).
    pub(crate) stage: PathBuf,
    /// TARGET as the user named it (for messages).
    pub(crate) target: PathBuf,
    pub(crate) options: Options,
    /// How the outcome is printed (the same settings go to the sandbox).
    pub(crate) printing: Printing,
    /// What the records asked for need to know of each staged entry.
    pub(crate) record: Record,
    /// Where to write the manifest, and how.
    pub(crate) manifest: Option<(PathBuf, ManifestFormat)>,
    pub(crate) sage_record: Option<SageRecord>,
    /// `--lock`: the lock file and how it is taken.
    pub(crate) lock: Option<lock::Wanted>,
    pub(crate) sync: bool,
    /// `--in-flight`: placements in flight on a client's filesystem.
    pub(crate) in_flight: Option<usize>,
    /// The SAGE_SUDO prefix to re-run through, when escalation applies.
    pub(crate) escalate: Option<Vec<String>>,
    /// Run the merge in the Wasmtime sandbox.
    pub(crate) sandbox: bool,
    /// `--manifest-dir` and its policies; the records are read when the
    /// merge starts.
    pub(crate) ownership: Option<OwnershipSpec>,
    /// Reads the merge's own records with the rules every record follows.
    pub(crate) reader: Reader,
}

/// `--manifest-dir` and the policies that go with it, validated.
#[derive(Debug)]
pub(crate) struct OwnershipSpec {
    dir: PathBuf,
    /// The records this run writes (its own package's).
    own: Vec<PathBuf>,
    on_owned: Option<OnConflict>,
    allow_overwrite: Patterns,
    protect: Patterns,
    reader: Reader,
}

impl OwnershipSpec {
    /// Reads the records (a broken one is an error naming it), for a plan.
    pub(crate) fn read(&self) -> Result<Ownership> {
        let own: Vec<&Path> = self.own.iter().map(PathBuf::as_path).collect();
        Ok(Ownership {
            owners: crate::records::owners(&self.dir, None, &own, &self.reader)?,
            ..self.policies()
        })
    }

    /// The directory of records.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The records this run writes.
    pub(crate) fn own(&self) -> Vec<&Path> {
        self.own.iter().map(PathBuf::as_path).collect()
    }

    /// The policies, with no records yet.
    pub(crate) fn policies(&self) -> Ownership {
        Ownership {
            owners: Default::default(),
            on_owned: self.on_owned,
            allow_overwrite: self.allow_overwrite.clone(),
            protect: self.protect.clone(),
            late: None,
        }
    }
}

/// What `--sage-record` writes besides the file list.
#[derive(Debug)]
pub(crate) struct SageRecord {
    pub(crate) path: PathBuf,
    pub(crate) package: String,
    pub(crate) version: String,
    pub(crate) sage_version: Option<String>,
    pub(crate) test_result: Option<String>,
}

impl SageRecord {
    /// The record's fields besides its files, dated now.
    pub(crate) fn header(&self) -> stagemerge_core::record::write::SageHeader {
        stagemerge_core::record::write::SageHeader {
            package: self.package.clone(),
            version: self.version.clone(),
            install_date: humantime::format_rfc3339_seconds(std::time::SystemTime::now())
                .to_string(),
            system_uname: crate::shim::system_description(),
            sage_version: self.sage_version.clone(),
            test_result: self.test_result.clone(),
        }
    }
}

impl MergeConfig {
    pub(crate) fn from_args(a: MergeArgs) -> Result<Self> {
        let (stage_real, target_real) = check_roots(&a.stage, &a.target)?;
        let on_conflict = policy(a.on_conflict);
        let force_fallback = force_fallback();
        let verbosity = if a.quiet {
            Verbosity::Quiet
        } else if a.verbose {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        };
        let own: Vec<&Path> = [a.manifest.as_deref(), a.sage_record.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        let dir = a.ownership.manifest_dir.as_deref();
        check_record_places(&a.stage, &stage_real, &target_real, dir, &own)?;
        let reader = Reader::new(&a.target, dir, &own)?;
        let ownership = ownership_spec(&a.ownership, &own, &reader)?;
        let manifest = a.manifest.map(|p| (p, a.manifest_format));
        // JSON manifests carry digests; a text manifest or a Sage record
        // needs only the paths.
        let record = match (&manifest, &a.sage_record) {
            (Some((_, ManifestFormat::Json)), _) => Record::Full,
            (Some(_), _) | (None, Some(_)) => Record::Paths,
            (None, None) => Record::Off,
        };
        let sage_record = match (a.sage_record, a.package, a.package_version) {
            (Some(path), Some(package), Some(version)) => Some(SageRecord {
                path,
                package,
                version,
                sage_version: a.sage_version,
                test_result: a.test_result,
            }),
            _ => None,
        };
        Ok(MergeConfig {
            stage: a.stage,
            target: a.target,
            options: Options {
                on_conflict,
                force_fallback,
                copy: a.copy,
                ownership: None,
                // Set once the merge has read its own record (run_merge).
                earlier: None,
            },
            printing: Printing {
                verbosity,
                json: a.json,
            },
            record,
            manifest,
            sage_record,
            lock: a.lock.map(|path| lock::Wanted {
                path,
                shared: a.shared,
                this_machine_ok: a.lock_this_machine,
            }),
            sync: a.sync,
            in_flight: a.in_flight.map(usize::from),
            // The sandbox runs as the invoking user, with only the two roots.
            escalate: if a.sandbox {
                None
            } else {
                crate::escalate::prefix(&target_real, a.escalated)?
            },
            sandbox: a.sandbox,
            ownership,
            reader,
        })
    }
}

/// A plan that is ready to run.
#[derive(Debug)]
pub(crate) struct PlanConfig {
    /// STAGE as the user named it.
    pub(crate) stage: PathBuf,
    /// TARGET as the user named it.
    pub(crate) target: PathBuf,
    pub(crate) options: Options,
    pub(crate) json: bool,
    pub(crate) sandbox: bool,
}

impl PlanConfig {
    pub(crate) fn from_args(a: PlanArgs) -> Result<Self> {
        check_roots(&a.stage, &a.target)?;
        let own: Vec<&Path> = a.manifest.as_deref().into_iter().collect();
        let reader = Reader::new(&a.target, a.ownership.manifest_dir.as_deref(), &own)?;
        Ok(PlanConfig {
            options: Options {
                on_conflict: policy(a.on_conflict),
                force_fallback: force_fallback(),
                copy: a.copy,
                ownership: match ownership_spec(&a.ownership, &own, &reader)? {
                    Some(spec) => Some(Arc::new(spec.read()?)),
                    None => None,
                },
                // A plan judges no concurrency: it has no start.
                earlier: None,
            },
            stage: a.stage,
            target: a.target,
            json: a.json,
            sandbox: a.sandbox,
        })
    }
}

/// Whether the environment forces the portable fallback (for tests: a merge
/// and its plan then both place by link + unlink and mkdir).
fn force_fallback() -> bool {
    std::env::var_os(FORCE_FALLBACK_ENV).is_some_and(|v| !v.is_empty() && v != "0")
}

/// `--manifest-dir` with its policies, the patterns compiled; `own` are
/// the records this run writes.
fn ownership_spec(
    a: &OwnershipArgs,
    own: &[&Path],
    reader: &Reader,
) -> Result<Option<OwnershipSpec>> {
    let Some(dir) = &a.manifest_dir else {
        return Ok(None);
    };
    let patterns = |given: &[String], option: &str| {
        Patterns::new(given.to_vec()).map_err(|e| anyhow::anyhow!("--{option}: {e}"))
    };
    Ok(Some(OwnershipSpec {
        dir: dir.clone(),
        own: own.iter().map(|p| p.to_path_buf()).collect(),
        on_owned: a.on_owned.map(policy),
        allow_overwrite: patterns(&a.allow_overwrite, "allow-overwrite")?,
        protect: patterns(&a.protect, "protect")?,
        reader: reader.clone(),
    }))
}

fn policy(p: ConflictPolicy) -> OnConflict {
    match p {
        ConflictPolicy::Replace => OnConflict::Replace,
        ConflictPolicy::Keep => OnConflict::Keep,
        ConflictPolicy::Fail => OnConflict::Fail,
    }
}

/// Both roots are directories, not the same one, and TARGET is not inside
/// STAGE. Returns their canonical paths.
fn check_roots(stage: &Path, target: &Path) -> Result<(PathBuf, PathBuf)> {
    let stage_real = real_dir(stage, "STAGE")?;
    let target_real = real_dir(target, "TARGET")?;
    if stage_real == target_real {
        bail!(
            "STAGE {} and TARGET {} are the same directory: nothing to merge",
            stage.display(),
            target.display()
        );
    }
    if target_real.starts_with(&stage_real) {
        bail!(
            "TARGET {} is inside STAGE {}: the merge would move STAGE into itself; \
             stage into a directory outside TARGET (STAGE inside TARGET is fine)",
            target.display(),
            stage.display()
        );
    }
    Ok((stage_real, target_real))
}

/// The merge's records, their journals and the directory of records are
/// neither inside STAGE (the merge would move them into TARGET) nor where
/// STAGE places an entry (the record would overwrite the package's own
/// file and list itself): refused before anything moves, naming both.
fn check_record_places(
    stage: &Path,
    stage_real: &Path,
    target_real: &Path,
    dir: Option<&Path>,
    records: &[&Path],
) -> Result<()> {
    let mut places: Vec<(PathBuf, &str)> = Vec::new();
    for r in records {
        places.push((r.to_path_buf(), "record"));
        places.push((crate::records::journal_path(r), "journal"));
    }
    if let Some(d) = dir {
        places.push((d.to_path_buf(), "directory of records"));
    }
    for (place, what) in places {
        let Some(real) = crate::records::resolved(&place) else {
            continue;
        };
        if real.starts_with(stage_real) {
            bail!(
                "the {what} {} is inside STAGE {}: the merge would move it into TARGET; \
                 keep records outside STAGE; nothing was done",
                place.display(),
                stage.display()
            );
        }
        if let Ok(rel) = real.strip_prefix(target_real)
            && !rel.as_os_str().is_empty()
            && stage_real.join(rel).symlink_metadata().is_ok()
        {
            bail!(
                "the {what} {} is where STAGE {} places {}: the merge would put the \
                 package's file there; keep records where no package installs; nothing was done",
                place.display(),
                stage.display(),
                stage_real.join(rel).display()
            );
        }
    }
    Ok(())
}

/// The canonical path of `path`, which must be a directory.
fn real_dir(path: &Path, role: &str) -> Result<PathBuf> {
    let real = path
        .canonicalize()
        .with_context(|| format!("{role} {}: cannot resolve", path.display()))?;
    let meta = real
        .metadata()
        .with_context(|| format!("{role} {}: cannot stat", path.display()))?;
    if !meta.is_dir() {
        bail!("{role} {} is not a directory", path.display());
    }
    Ok(real)
}
