//! Golden tests of the composition rules of `extends` (src/profile/merge.rs) on the chain in
//! tests/fixtures/extends/, and of `stockade explain`'s provenance.
//!
//! child.toml extends [middle.toml, extra.toml]; both extend base.toml, which is merged once.

mod util;

use stockade::compile::{compile, CompileOptions};
use stockade::host::HostFacts;
use stockade::plan::MountOp;
use stockade::profile::load::{load, Loaded};

const DIR: &str = "tests/fixtures/extends";

fn child() -> Loaded {
    match load(&format!("{DIR}/child.toml")) {
        Ok(l) => l,
        Err(e) => panic!(
            "{}",
            stockade::diag::render(&e.diagnostics.0, &e.sources, false)
        ),
    }
}

fn strings(v: &Option<Vec<String>>) -> Vec<&str> {
    v.iter().flatten().map(String::as_str).collect()
}

/// (file name, 1-based line) where a key's effective value was written.
fn origin(l: &Loaded, key: &str) -> (String, usize) {
    let span = l
        .origin_of(key)
        .unwrap_or_else(|| panic!("no origin for {key}"));
    let file = l
        .sources
        .get(span.file)
        .map(|f| f.name.clone())
        .unwrap_or_default();
    (file, l.sources.line_col(span).0)
}

#[test]
fn layers_are_merged_depth_first_and_a_diamond_once() {
    let l = child();
    assert_eq!(
        l.layers,
        ["base", "middle", "extra", "child"].map(|n| format!("{DIR}/{n}.toml"))
    );
}

#[test]
fn scalars_override_in_layer_order() {
    let l = child();
    let p = &l.profile;
    // middle overrides base; extra and child say nothing.
    assert_eq!(p.description.as_deref(), Some("middle"));
    let pr = p.process.as_ref().expect("process");
    // child overrides base; base's cwd survives.
    assert_eq!(pr.timeout.as_deref(), Some("2m"));
    assert_eq!(pr.cwd.as_deref(), Some("/"));
}

#[test]
fn tables_merge_key_by_key() {
    let l = child();
    let env = l.profile.env.as_ref().expect("env");
    let set: Vec<(&str, &str)> = env
        .set
        .iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(set, [("A", "base"), ("B", "middle"), ("C", "child")]);
    assert_eq!(env.clear, Some(true));
    let ns = l.profile.namespaces.as_ref().expect("namespaces");
    assert_eq!(
        (ns.user, ns.mount, ns.pid),
        (Some(true), Some(true), Some(true))
    );
}

#[test]
fn lists_accumulate_without_repeating_strings() {
    let l = child();
    let env = l.profile.env.as_ref().expect("env");
    assert_eq!(strings(&env.keep), ["PATH", "HOME", "TERM", "LANG"]);
    let sc = l.profile.seccomp.as_ref().expect("seccomp");
    assert_eq!(strings(&sc.deny), ["ptrace", "bpf"]);
    let ll = l.profile.landlock.as_ref().expect("landlock");
    assert_eq!(strings(&ll.read), ["/usr", "/tmp"]);
}

#[test]
fn replaced_lists_replace() {
    let l = child();
    let pr = l.profile.process.as_ref().expect("process");
    assert_eq!(strings(&pr.command), ["middle-cmd", "x"]);
    let groups: Vec<String> = pr.groups.iter().flatten().map(|g| g.to_string()).collect();
    assert_eq!(groups, ["30"]);
    let sc = l.profile.seccomp.as_ref().expect("seccomp");
    assert_eq!(strings(&sc.architectures), ["x32"]);
    let ns = l.profile.namespaces.as_ref().expect("namespaces");
    let map = ns.uid_map.as_ref().expect("uid-map");
    assert_eq!(map.len(), 1);
    assert_eq!(map[0].outside.to_string(), "100000");
    // Every list the rules name as replaced exists in the schema.
    let schema = stockade::schema::render();
    for key in stockade::profile::merge::REPLACED_LISTS {
        let leaf = key.rsplit('.').next().unwrap_or(key);
        assert!(
            schema.contains(&format!("\"{leaf}\"")),
            "{key} not in the schema"
        );
    }
}

#[test]
fn mounts_are_appended_base_first() {
    let l = child();
    let host = HostFacts::fixed();
    let opts = CompileOptions {
        command: None,
        command_optional: true,
    };
    let plan = match compile(&l, &host, &opts) {
        Ok(c) => c.plan,
        Err(d) => panic!("{}", stockade::diag::render(&d.0, &l.sources, false)),
    };
    let mounts: Vec<String> = plan
        .mounts
        .iter()
        .map(|m| format!("{} {}", m.op.kind_name(), m.target.display()))
        .collect();
    assert_eq!(
        mounts,
        ["proc /proc", "tmpfs /tmp", "bind /usr", "tmpfs /var/tmp"]
    );
    assert!(matches!(plan.mounts[1].op, MountOp::Tmpfs { size: Some(s), .. } if s == 64 << 20));
}

#[test]
fn a_builtin_named_twice_is_merged_once() {
    let both = load(&format!("{DIR}/diamond-builtins.toml")).expect("diamond loads");
    let strict = load("builtin:strict").expect("strict loads");
    let count = |l: &Loaded| l.profile.mount.as_ref().map_or(0, Vec::len);
    assert_eq!(count(&both), count(&strict));
    assert_eq!(
        both.layers,
        [
            "builtin:minimal",
            "builtin:strict",
            &format!("{DIR}/diamond-builtins.toml")
        ]
    );
}

#[test]
fn origins_name_the_file_that_won() {
    let l = child();
    let f = |n: &str| format!("{DIR}/{n}.toml");
    assert_eq!(origin(&l, "process.cwd"), (f("base"), 7));
    assert_eq!(origin(&l, "process.timeout"), (f("child"), 5));
    assert_eq!(origin(&l, "process.command"), (f("middle"), 6));
    assert_eq!(origin(&l, "env.set.A"), (f("base"), 14));
    assert_eq!(origin(&l, "env.set.B"), (f("middle"), 11));
    assert_eq!(origin(&l, "env.keep[3]"), (f("extra"), 6));
    assert_eq!(origin(&l, "mount[0].type"), (f("base"), 26));
    assert_eq!(origin(&l, "mount[2].source"), (f("middle"), 15));
    assert_eq!(origin(&l, "mount[3].target"), (f("child"), 15));
    assert_eq!(origin(&l, "description"), (f("middle"), 2));
}

#[test]
fn explain_shows_where_each_value_was_set() {
    let out = util::stockade(&["explain", &format!("{DIR}/child.toml")]);
    let text = util::text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", util::text(&out.stderr));
    let row = |prefix: &str| -> String {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` row in:\n{text}"))
            .to_owned()
    };
    // Set in the base and never overridden: the base's file:line.
    assert!(row("process.cwd = \"/\"").ends_with(&format!("# {DIR}/base.toml:7:1")));
    // Overridden: the child's.
    assert!(row("process.timeout = \"2m\"").ends_with(&format!("# {DIR}/child.toml:5:1")));
    assert!(row("env.set.B = \"middle\"").ends_with(&format!("# {DIR}/middle.toml:11:9")));
    assert!(row("mount[3].target = \"/var/tmp\"").ends_with(&format!("# {DIR}/child.toml:15:1")));
    // The overridden values do not appear at all.
    assert!(!text.contains("\"1m\""), "{text}");
    assert!(!text.contains("base-cmd"), "{text}");
    // Defaults are listed as such.
    assert!(row("process.umask = \"0022\"").ends_with("# default"));
    assert!(text.contains(&format!(
        "layers, merged in this order (later ones win): {DIR}/base.toml, {DIR}/middle.toml, {DIR}/extra.toml, {DIR}/child.toml"
    )));
}

#[test]
fn explain_snapshot() {
    let l = child();
    let host = HostFacts::fixed();
    let opts = CompileOptions {
        command: None,
        command_optional: true,
    };
    let plan = compile(&l, &host, &opts).expect("child compiles").plan;
    let text = util::scrub(&stockade::plan::provenance::render(&l, &plan));
    let path = util::repo().join("tests/snapshots/explain/extends-child.txt");
    if let Err(e) = util::check_snapshot(&path, &text) {
        panic!("{e}");
    }
}

#[test]
fn extends_chains_have_a_depth_limit() {
    let dir = std::env::temp_dir().join(format!("stockade-depth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let depth = stockade::profile::load::MAX_EXTENDS_DEPTH + 5;
    for i in 0..depth {
        let extends = if i + 1 < depth {
            format!("extends = [\"p{}.toml\"]\n", i + 1)
        } else {
            String::new()
        };
        std::fs::write(
            dir.join(format!("p{i}.toml")),
            format!("version = 1\n{extends}"),
        )
        .expect("write");
    }
    let result = load(&dir.join("p0.toml").display().to_string());
    let _ = std::fs::remove_dir_all(&dir);
    let Err(e) = result else {
        panic!("too deep a chain must fail");
    };
    let text = stockade::diag::render(&e.diagnostics.0, &e.sources, false);
    assert!(
        text.contains("`extends` chain deeper than 32 files"),
        "{text}"
    );
    assert!(text.contains("help: flatten the chain"), "{text}");
}

/// `${PROFILE_DIR}` is substituted in the value, however the TOML text spells it: a
/// single-file profile that writes `$` as `\u0024` must not keep the literal.
#[test]
fn profile_dir_is_substituted_when_written_with_an_escape() {
    let dir = std::env::temp_dir().join(format!("stockade-profdir-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let dir = dir.canonicalize().expect("canonical");
    let path = dir.join("p.toml");
    for cwd in [r#""${PROFILE_DIR}/sub""#, r#""\u0024{PROFILE_DIR}/sub""#] {
        let text = format!("version = 1\n[process]\ncwd = {cwd}\n");
        std::fs::write(&path, text).expect("write");
        let loaded = match load(&path.display().to_string()) {
            Ok(l) => l,
            Err(e) => panic!(
                "{}",
                stockade::diag::render(&e.diagnostics.0, &e.sources, false)
            ),
        };
        let got = loaded.profile.process.as_ref().and_then(|p| p.cwd.clone());
        assert_eq!(
            got.as_deref(),
            Some(dir.join("sub").to_str().expect("utf-8")),
            "{cwd}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
