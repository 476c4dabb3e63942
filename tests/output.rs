//! What people and programs get back: grouped warnings, `--json` on every
//! command, `--color`, `RUST_LOG` debug logging, and the man pages and
//! completions generated from the command-line definitions.

use std::process::Command;

use crate::util::{Fixture, Prim, Run, command};

/// A fixture where a merge replaces `n` files in one directory.
fn replacing(n: usize) -> Fixture {
    let f = Fixture::new(Prim::Rename);
    for i in 0..n {
        f.file(format!("stage/share/d/f{i:03}"), b"new");
        f.file(format!("target/share/d/f{i:03}"), b"old");
    }
    f
}

#[test]
fn many_warnings_are_grouped_and_counted_and_verbose_lists_them() {
    let f = replacing(50);
    let run = f.merge(&[]);
    run.assert_code(0);
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("warning:"))
        .collect();
    assert_eq!(warnings.len(), 4, "3 examples and a count:\n{}", run.stderr);
    assert!(
        warnings[3].contains("... and 47 more replaced files (50 in all"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("50 replaced"));

    let f = replacing(50);
    let run = f.merge(&["--verbose"]);
    let warnings = run
        .stderr
        .lines()
        .filter(|l| l.contains("warning: replaced"))
        .count();
    assert_eq!(warnings, 50, "--verbose lists every warning");
}

#[test]
fn merge_json_is_one_document_with_counts_warnings_and_problems() {
    let f = replacing(2);
    f.file("stage/etc/conf", b"file");
    f.dir("target/etc/conf");
    let run = f.merge(&["--json", "--verbose"]);
    run.assert_code(1);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("stdout is JSON alone");
    assert_eq!(v["format"], "stagemerge-report");
    assert_eq!(v["version"], 1);
    assert_eq!(v["counts"]["replaced"], 2);
    assert_eq!(v["counts"]["conflicts"], 1);
    assert_eq!(v["warnings"].as_array().unwrap().len(), 2);
    assert_eq!(v["warnings"][0]["kind"], "replaced");
    assert_eq!(v["warnings"][0]["path"], "share/d/f000");
    let p = &v["problems"][0];
    assert_eq!(p["kind"], "conflict");
    assert_eq!(p["path"], "etc/conf");
    assert!(p["reason"].as_str().unwrap().contains("directory"), "{p}");
    // People still get the messages, on stderr.
    assert!(run.stderr.contains("conflict: "), "{}", run.stderr);
}

#[test]
fn sandboxed_merge_json_matches_the_native_one() {
    let (a, b) = (replacing(3), replacing(3));
    let native = a.merge(&["--json"]);
    let sandboxed = Run::of({
        let mut c = command(Prim::Rename);
        c.args(["merge", "--sandbox", "--json"])
            .arg(&b.stage)
            .arg(&b.target);
        c
    });
    let strip = |r: &Run, f: &Fixture| {
        let mut v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(v["stage"], f.stage.to_str().unwrap());
        v["stage"] = serde_json::Value::Null;
        v["target"] = serde_json::Value::Null;
        assert!(v["timing"]["seconds"].as_f64().unwrap() > 0.0);
        assert!(v["timing"]["files_per_second"].as_f64().unwrap() > 0.0);
        v["timing"] = serde_json::Value::Null;
        v
    };
    assert_eq!(strip(&native, &a), strip(&sandboxed, &b));
}

#[test]
fn uninstall_json_lists_what_was_kept_and_why() {
    let f = Fixture::new(Prim::Rename);
    f.file("stage/lib/a", b"a");
    f.file("stage/lib/b", b"b");
    let manifest = f.root().join("m.json");
    f.merge(&[
        "--manifest",
        manifest.to_str().unwrap(),
        "--manifest-format",
        "json",
    ])
    .assert_code(0);
    std::fs::write(f.target.join("lib/b"), b"changed").unwrap();
    let mut c = command(Prim::Rename);
    c.args(["uninstall", "--json", "--manifest"])
        .arg(&manifest)
        .arg(&f.target);
    let run = Run::of(c);
    run.assert_code(1);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["format"], "stagemerge-uninstall");
    assert_eq!(v["removed"], 1);
    assert_eq!(v["kept"][0]["path"], "lib/b");
    assert_eq!(v["kept"][0]["why"], "modified");
}

#[test]
fn color_is_asked_for_or_left_out() {
    let has_escape = |color: Option<&str>| {
        let f = replacing(1);
        let mut c = command(Prim::Rename);
        if let Some(color) = color {
            c.args(["--color", color]);
        }
        c.arg("merge").arg(&f.stage).arg(&f.target);
        let run = Run::of(c);
        assert!(run.stderr.contains("warning:"), "{}", run.stderr);
        run.stderr.contains("\x1b[")
    };
    assert!(has_escape(Some("always")));
    assert!(!has_escape(Some("never")));
    // Not a terminal: no color by default.
    assert!(!has_escape(None));
}

/// `RUST_LOG` turns on debug logging; it also shows the sandbox's module
/// cache at work: compiled and stored on the first run, loaded after.
#[test]
fn rust_log_shows_the_sandbox_cache_compiling_once_then_loading() {
    let f = Fixture::new(Prim::Rename);
    f.file("stage/a", b"a");
    let cache = f.root().join("cache");
    let plan = || {
        let mut c = command(Prim::Rename);
        c.env("RUST_LOG", "stagemerge=debug")
            .env("STAGEMERGE_CACHE_DIR", &cache);
        c.args(["plan", "--sandbox"]).arg(&f.stage).arg(&f.target);
        let run = Run::of(c);
        run.assert_code(0);
        run
    };
    let first = plan();
    assert!(
        first
            .stderr
            .contains("sandbox guest compiled and cached at"),
        "{}",
        first.stderr
    );
    let artifacts: Vec<_> = std::fs::read_dir(&cache).unwrap().collect();
    assert_eq!(
        artifacts.len(),
        1,
        "one artifact, named by guest and engine"
    );
    let second = plan();
    assert!(
        second
            .stderr
            .contains("sandbox guest loaded precompiled from"),
        "{}",
        second.stderr
    );
    assert_eq!(first.stdout, second.stdout);
    // A corrupt artifact is not trusted: compiled again, same plan.
    let artifact = artifacts[0].as_ref().unwrap().path();
    std::fs::write(&artifact, b"not a module").unwrap();
    let third = plan();
    assert!(third.stderr.contains("compiling again"), "{}", third.stderr);
    assert_eq!(first.stdout, third.stdout);
    // Without RUST_LOG, nothing of that.
    let mut c = command(Prim::Rename);
    c.env_remove("RUST_LOG").env("STAGEMERGE_CACHE_DIR", &cache);
    c.args(["plan", "--sandbox"]).arg(&f.stage).arg(&f.target);
    assert_eq!(Run::of(c).stderr, "");
}

#[test]
fn man_pages_and_completions_are_generated_from_the_definitions() {
    let f = Fixture::new(Prim::Rename);
    let dir = f.root().join("man");
    let mut c = command(Prim::Rename);
    c.args(["generate", "man"]).arg(&dir);
    Run::of(c).assert_code(0);
    for page in [
        "stagemerge.1",
        "stagemerge-merge.1",
        "stagemerge-plan.1",
        "stagemerge-uninstall.1",
    ] {
        let text = std::fs::read_to_string(dir.join(page)).unwrap();
        assert!(text.contains(".TH stagemerge"), "{page}");
    }
    let merge = std::fs::read_to_string(dir.join("stagemerge-merge.1")).unwrap();
    assert!(merge.contains("on\\-conflict"), "options are documented");
    for shell in ["bash", "zsh", "fish"] {
        let mut c = command(Prim::Rename);
        c.args(["generate", "completions", shell]);
        let run = Run::of(c);
        run.assert_code(0);
        assert!(
            run.stdout.contains("uninstall"),
            "{shell} completes subcommands"
        );
    }
    // The bash script is valid bash.
    let mut c = command(Prim::Rename);
    c.args(["generate", "completions", "bash"]);
    let script = f.root().join("stagemerge.bash");
    std::fs::write(&script, Run::of(c).stdout).unwrap();
    let ok = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
        .unwrap();
    assert!(ok.success());
}
