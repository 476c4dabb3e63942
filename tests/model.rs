//! Property tests on random STAGE and TARGET trees: merged by the real
//! binary (with the no-replace rename and with the fallback) they agree with
//! a small pure model of SPEC.md's placement rules, and the plan's steps are
//! the actions the merge then reports (also in copy mode).

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::util::{Fixture, Prim, Run, Snapshot, merged, predicted};
use proptest::prelude::*;

/// A tree entry, as the rules see it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum T {
    Dir(BTreeMap<String, T>),
    /// Content byte and whether executable.
    File(u8, bool),
    /// Link text; `/CANARY` stands for an absolute link out of TARGET.
    Link(String),
}

type Tree = BTreeMap<String, T>;

fn name() -> impl Strategy<Value = String> {
    prop_oneof![Just("a"), Just("b"), Just("c")].prop_map(String::from)
}

fn link() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a"),
        Just("b"),
        Just("c"),
        Just("a/b"),
        Just(".."),
        Just("../.."),
        Just("../a"),
        Just("/CANARY"),
    ]
    .prop_map(String::from)
}

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = prop_oneof![
        (0u8..3, any::<bool>()).prop_map(|(c, x)| T::File(c, x)),
        link().prop_map(T::Link),
    ];
    let node = leaf.prop_recursive(3, 24, 3, |inner| {
        prop::collection::btree_map(name(), inner, 0..3).prop_map(T::Dir)
    });
    prop::collection::btree_map(name(), node, 0..4)
}

// ---- the model -------------------------------------------------------

#[derive(PartialEq, Eq)]
enum Resolved {
    Inside(Vec<String>),
    Refused,
}

/// What the model notes while it merges: whether the merge meets its own
/// earlier work (a name it looks at lies in something it placed, or a TARGET
/// symlink it follows leads elsewhere than in TARGET as it was, as when
/// `lib64 -> lib` shows again what `lib/` received). A plan describes
/// TARGET as it is, so only there may its steps differ from the merge's.
#[derive(Default)]
struct Trace {
    before: Tree,
    placed: Vec<Vec<String>>,
    sees_itself: bool,
}

fn get<'a>(root: &'a Tree, path: &[String]) -> Option<&'a Tree> {
    let mut here = root;
    for c in path {
        match here.get(c) {
            Some(T::Dir(d)) => here = d,
            _ => return None,
        }
    }
    Some(here)
}

fn get_mut<'a>(root: &'a mut Tree, path: &[String]) -> &'a mut Tree {
    let mut here = root;
    for c in path {
        match here.get_mut(c) {
            Some(T::Dir(d)) => here = d,
            _ => unreachable!("a resolved path leads to directories"),
        }
    }
    here
}

/// SPEC: a TARGET symlink is followed only while it stays inside TARGET.
fn resolve(root: &Tree, base: &[String], text: &str) -> Resolved {
    if text.starts_with('/') {
        return Resolved::Refused;
    }
    let mut queue: Vec<String> = text
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(String::from)
        .collect();
    queue.reverse();
    let mut at: Vec<String> = base.to_vec();
    let mut hops = 0;
    while let Some(c) = queue.pop() {
        if c == ".." {
            if at.pop().is_none() {
                return Resolved::Refused;
            }
            continue;
        }
        match get(root, &at).and_then(|d| d.get(&c)) {
            Some(T::Dir(_)) => at.push(c),
            Some(T::Link(t)) => {
                hops += 1;
                if hops > 40 || t.starts_with('/') {
                    return Resolved::Refused;
                }
                let mut more: Vec<String> = t
                    .split('/')
                    .filter(|c| !c.is_empty() && *c != ".")
                    .map(String::from)
                    .collect();
                more.reverse();
                queue.extend(more);
            }
            _ => return Resolved::Refused,
        }
    }
    Resolved::Inside(at)
}

/// Merges the staged directory `stage` into TARGET's directory at `at`;
/// returns whether anything stays in `stage` and counts conflicts.
fn merge_dir(
    stage: &mut Tree,
    target: &mut Tree,
    at: &[String],
    conflicts: &mut usize,
    trace: &mut Trace,
) {
    let names: Vec<String> = stage.keys().cloned().collect();
    for n in names {
        let s = stage[&n].clone();
        let t = get(target, at).and_then(|d| d.get(&n)).cloned();
        let mut child_at = at.to_vec();
        child_at.push(n.clone());
        if trace.placed.iter().any(|p| child_at.starts_with(p)) {
            trace.sees_itself = true;
        }
        let into = match (&s, &t) {
            (_, None) => {
                get_mut(target, at).insert(n.clone(), s);
                stage.remove(&n);
                trace.placed.push(child_at);
                continue;
            }
            (T::Dir(_), Some(T::Dir(_))) => Some(child_at),
            (T::Dir(_), Some(T::Link(text))) => {
                let now = resolve(target, at, text);
                trace.sees_itself |= now != resolve(&trace.before, at, text);
                match now {
                    Resolved::Inside(p) => Some(p),
                    Resolved::Refused => None,
                }
            }
            (T::Dir(_), Some(_)) | (_, Some(T::Dir(_))) => None,
            (_, Some(t)) => {
                if &s != t {
                    get_mut(target, at).insert(n.clone(), s);
                    trace.placed.push(child_at);
                }
                stage.remove(&n);
                continue;
            }
        };
        match into {
            None => *conflicts += 1,
            Some(p) => {
                let Some(T::Dir(mut sub)) = stage.remove(&n) else {
                    unreachable!()
                };
                merge_dir(&mut sub, target, &p, conflicts, trace);
                if !sub.is_empty() {
                    stage.insert(n, T::Dir(sub));
                }
            }
        }
    }
}

// ---- trees on disk ---------------------------------------------------

fn write(dir: &Path, tree: &Tree, canary: &Path) {
    fs::create_dir_all(dir).unwrap();
    for (n, t) in tree {
        let p = dir.join(n);
        match t {
            T::Dir(d) => write(&p, d, canary),
            T::File(c, x) => {
                fs::write(&p, [*c; 5]).unwrap();
                fs::set_permissions(
                    &p,
                    fs::Permissions::from_mode(if *x { 0o755 } else { 0o644 }),
                )
                .unwrap();
            }
            T::Link(text) => {
                let text = if text == "/CANARY" {
                    canary.to_str().unwrap().to_owned()
                } else {
                    text.clone()
                };
                std::os::unix::fs::symlink(text, &p).unwrap();
            }
        }
    }
}

fn read(dir: &Path, canary: &Path) -> Tree {
    let mut out = Tree::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let n = p.file_name().unwrap().to_str().unwrap().to_owned();
        let m = fs::symlink_metadata(&p).unwrap();
        let t = if m.is_dir() {
            T::Dir(read(&p, canary))
        } else if m.file_type().is_symlink() {
            let text = fs::read_link(&p).unwrap();
            T::Link(if text == canary {
                "/CANARY".into()
            } else {
                text.to_str().unwrap().to_owned()
            })
        } else {
            let data = fs::read(&p).unwrap();
            T::File(data[0], m.permissions().mode() & 0o111 != 0)
        };
        out.insert(n, t);
    }
    out
}

fn check(prim: Prim, stage: &Tree, target: &Tree) -> Result<(), TestCaseError> {
    let f = Fixture::new_fast(prim);
    let canary = f.dir("canary");
    write(&f.stage, stage, &canary);
    write(&f.target, target, &canary);
    let run = f.merge(&[]);

    let (mut want_stage, mut want_target, mut conflicts) = (stage.clone(), target.clone(), 0);
    merge_dir(
        &mut want_stage,
        &mut want_target,
        &[],
        &mut conflicts,
        &mut Trace::default(),
    );
    prop_assert_eq!(
        read(&f.target, &canary),
        want_target,
        "TARGET\n{}",
        run.stderr
    );
    prop_assert_eq!(read(&f.stage, &canary), want_stage, "STAGE\n{}", run.stderr);
    prop_assert_eq!(
        run.code,
        if conflicts > 0 { 1 } else { 0 },
        "exit status\n{}",
        run.stderr
    );
    prop_assert!(Snapshot::of(&canary).is_empty(), "wrote outside TARGET");
    Ok(())
}

/// Whether merging `stage` into `target` meets its own earlier work
/// ([`Trace`]).
fn sees_itself(stage: &Tree, target: &Tree) -> bool {
    let mut trace = Trace {
        before: target.clone(),
        ..Trace::default()
    };
    let (mut s, mut t) = (stage.clone(), target.clone());
    merge_dir(&mut s, &mut t, &[], &mut 0, &mut trace);
    trace.sees_itself
}

/// `plan` then `merge --verbose`, with the same primitive and `args`: the
/// plan's steps, in order, are the actions the merge reports, wherever the
/// merge does not meet its own earlier work (there the plan, which
/// describes TARGET as it is, cannot know; such cases are set aside).
fn plan_is_merge(
    prim: Prim,
    args: &[&str],
    stage: &Tree,
    target: &Tree,
) -> Result<(), TestCaseError> {
    prop_assume!(!sees_itself(stage, target));
    let f = Fixture::new_fast(prim);
    let canary = f.dir("canary");
    write(&f.stage, stage, &canary);
    write(&f.target, target, &canary);
    let mut plan = f.command();
    plan.arg("plan").args(args).arg(&f.stage).arg(&f.target);
    let plan = Run::of(plan);
    let run = f.merge(&[args, &["--verbose"]].concat());
    prop_assert_eq!(
        predicted(&plan.stdout),
        merged(&run.stdout),
        "{:?} {:?}\nplan:\n{}\nmerge:\n{}{}",
        prim,
        args,
        plan.stdout,
        run.stdout,
        run.stderr
    );
    prop_assert_eq!(plan.code, run.code, "plan and merge exit alike");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn plan_names_the_merges_actions(stage in tree(), target in tree()) {
        plan_is_merge(Prim::Rename, &[], &stage, &target)?;
    }

    #[test]
    fn plan_names_the_fallback_merges_actions(stage in tree(), target in tree()) {
        plan_is_merge(Prim::Fallback, &[], &stage, &target)?;
    }

    #[test]
    fn plan_names_the_copy_merges_actions(stage in tree(), target in tree()) {
        plan_is_merge(Prim::Rename, &["--copy"], &stage, &target)?;
    }

    #[test]
    fn merge_agrees_with_the_model(stage in tree(), target in tree()) {
        check(Prim::Rename, &stage, &target)?;
    }

    #[test]
    fn fallback_merge_agrees_with_the_model(stage in tree(), target in tree()) {
        check(Prim::Fallback, &stage, &target)?;
    }
}
