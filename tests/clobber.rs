//! The clobber store (issue 13): a version a merge hides is kept when a
//! package still lists it, and uninstalling the package whose version is
//! visible puts back another owner's, so no uninstall breaks a package
//! that remains; the store empties with the last owner.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use std::process::Command;

use crate::util::corpus::{corpus, farm, run_jobs, sh, stages};
use crate::util::packages::{Installed, shuffled};
use crate::util::{Fixture, Node, Prim, Snapshot, fast_tmp};

/// The namespace file every `backports.*` wheel ships (with one of six
/// contents across the corpus's ten).
const NS: &str = "local/lib/python3.11/site-packages/backports/__init__.py";

/// Uninstall orders tried per way of merging.
const ORDERS: u64 = 20;

/// The corpus's `backports.*` stages, by package name.
fn backports(corpus: &Path) -> Vec<PathBuf> {
    let all = stages(corpus, "wheels", &[]);
    let b: Vec<PathBuf> = all
        .into_iter()
        .filter(|s| {
            s.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("backports.")
        })
        .collect();
    assert!(b.len() >= 9, "the corpus has the backports family: {b:?}");
    b
}

fn name(stage: &Path) -> String {
    stage.file_name().unwrap().to_string_lossy().into_owned()
}

/// Each package's files (not directories) as staged, with their content.
fn files_of(stages: &[PathBuf]) -> BTreeMap<String, BTreeMap<Vec<u8>, Node>> {
    stages
        .iter()
        .map(|s| {
            let files = Snapshot::of(s)
                .nodes
                .into_iter()
                .filter(|(_, n)| !matches!(n, Node::Dir { .. }))
                .collect();
            (name(s), files)
        })
        .collect()
}

/// Every remaining package verifies clean (its own files as recorded, or
/// its version of a shared one kept in the store), and the shared file
/// holds one of the remaining packages' versions, whole.
#[track_caller]
fn assert_remaining_intact(
    inst: &Installed,
    files: &BTreeMap<String, BTreeMap<Vec<u8>, Node>>,
    remaining: &[String],
    when: &str,
) {
    for r in remaining {
        let run = inst.verify(r);
        assert_eq!(
            run.code, 0,
            "{when}: {r} verifies\n{}{}",
            run.stdout, run.stderr
        );
    }
    let ns = inst.target.join(NS);
    if remaining.is_empty() {
        assert!(
            !ns.exists(),
            "{when}: the shared file went with the last owner"
        );
        return;
    }
    let now = fs::read(&ns).unwrap_or_else(|e| panic!("{when}: {NS}: {e}"));
    let owners: Vec<&String> = remaining
        .iter()
        .filter(|r| {
            matches!(files[*r].get(NS.as_bytes()), Some(Node::File { data, .. }) if *data == now)
        })
        .collect();
    assert!(
        !owners.is_empty(),
        "{when}: {NS} holds a version none of {remaining:?} ships"
    );
}

/// Merges the backports stages with `jobs` at once (16: `make -j16`; 1:
/// one after another), then uninstalls them one by one in `ORDERS` orders.
fn merge_then_uninstall_in_every_order(jobs: usize) {
    let Some(corpus) = corpus() else { return };
    // A private copy on fast storage, which each order hard-links from.
    let work = tempfile::tempdir_in(fast_tmp()).unwrap();
    let pristine = work.path().join("pristine");
    fs::create_dir(&pristine).unwrap();
    for s in backports(&corpus) {
        sh(Command::new("cp").arg("-a").arg(&s).arg(&pristine));
    }
    let stages = stages(work.path(), "pristine", &[]);
    let files = files_of(&stages);
    let names: Vec<String> = stages.iter().map(|s| name(s)).collect();
    let (mut restored, mut stored_max) = (0, 0);
    for order in 0..ORDERS {
        let f = Fixture::new_in(work.path(), Prim::Rename);
        let inst = Installed::new(&f.target, &f.root().join("installed"));
        let farmed = farm(&stages, &f.root().join("farm"));
        let cmds = farmed
            .iter()
            .map(|s| inst.merge_cmd(&name(s), s, &[]))
            .collect();
        let mut said = String::new();
        for (s, run) in farmed.iter().zip(run_jobs(cmds, jobs)) {
            assert_eq!(run.code, 0, "merge {}:\n{}", name(s), run.stderr);
            said.push_str(&format!("{}:\n{}", name(s), run.stderr));
            assert!(
                Snapshot::of(s).is_empty(),
                "{}: everything merged or kept in the store",
                name(s)
            );
        }
        let when = format!("order {order}: merged, as they said:\n{said}\n");
        assert_remaining_intact(&inst, &files, &names, &when);
        stored_max = stored_max.max(inst.stored().len());
        let mut remaining = names.clone();
        for (k, pkg) in shuffled(&names, order).into_iter().enumerate() {
            let run = inst.uninstall(&pkg);
            assert_eq!(run.code, 0, "uninstall {pkg}:\n{}", run.stderr);
            restored += usize::from(run.stderr.contains("restored "));
            remaining.retain(|r| *r != pkg);
            let when = format!("order {order}, step {k}: uninstalled {pkg}");
            assert_remaining_intact(&inst, &files, &remaining, &when);
        }
        let left: Vec<String> = Snapshot::of(&f.target)
            .nodes
            .into_iter()
            .filter(|(_, n)| !matches!(n, Node::Dir { .. }))
            .map(|(p, _)| String::from_utf8_lossy(&p).into_owned())
            .collect();
        assert!(
            left.is_empty(),
            "order {order}: files left behind: {left:?}"
        );
        assert!(
            inst.stored().is_empty(),
            "order {order}: the store is empty"
        );
        assert!(!f.target.join(".stagemerge").exists(), "and gone");
    }
    // The store was used, and uninstalls did put versions back: the test
    // exercised what it claims.
    assert!(stored_max > 0, "no version was ever kept");
    assert!(restored > 0, "no uninstall ever restored a version");
    eprintln!(
        "{} backports packages, -j{jobs}: {ORDERS} uninstall orders, up to {stored_max} \
         versions stored, {restored} restores",
        names.len()
    );
}

#[test]
fn backports_merged_sixteen_at_once_then_uninstalled_in_twenty_orders_break_nothing() {
    merge_then_uninstall_in_every_order(16);
}

#[test]
fn backports_merged_one_by_one_then_uninstalled_in_twenty_orders_break_nothing() {
    merge_then_uninstall_in_every_order(1);
}

/// Regression (found by review: the store kept the version a package had
/// before an upgrade for as long as anything listed the path): two
/// packages sharing a file, each upgraded five times in turn with a new
/// version of it. After every merge the store holds exactly the one
/// version the other package needs back, both verify, and the two
/// uninstalls restore and then empty it.
#[test]
fn upgrades_in_turn_keep_only_what_installed_packages_need() {
    let f = Fixture::new(Prim::Rename);
    let inst = Installed::new(&f.target, &f.root().join("installed"));
    for round in 0..5 {
        for pkg in ["a", "b"] {
            f.file(
                "stage/lib/ns/__init__.py",
                format!("# {pkg} {round}\n").as_bytes(),
            );
            f.file(format!("stage/lib/{pkg}.py"), pkg.as_bytes());
            inst.merge(pkg, &f.stage, &[]).assert_code(0);
            let stored = inst.stored();
            let when = format!("round {round}, after {pkg}");
            if (round, pkg) != (0, "a") {
                assert_eq!(stored.len(), 1, "{when}: {stored:?}");
                let other = if pkg == "a" { "b" } else { "a" };
                let expected_round = if pkg == "a" { round - 1 } else { round };
                assert_eq!(
                    fs::read_to_string(&stored[0]).unwrap(),
                    format!("# {other} {expected_round}\n"),
                    "{when}: the other's current version"
                );
            }
            inst.verify("a").assert_code(0);
            if (round, pkg) != (0, "a") {
                inst.verify("b").assert_code(0);
            }
        }
    }
    inst.uninstall("b")
        .assert_code(0)
        .assert_stderr_has("1 restored");
    assert_eq!(
        fs::read_to_string(f.target.join("lib/ns/__init__.py")).unwrap(),
        "# a 4\n"
    );
    assert!(inst.stored().is_empty());
    inst.uninstall("a").assert_code(0);
    assert!(!f.target.join("lib").exists() && !f.target.join(".stagemerge").exists());
}
