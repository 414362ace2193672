//! Golden tests of the composition rules of `extends` (src/profile/merge.rs) on the chain in
//! tests/fixtures/extends/, and of `stockade explain`'s provenance.
//!
//! child.toml extends [middle.toml, extra.toml]; both extend base.toml, which is merged once.
//! takeaway.toml takes things away from builtin:strict (`reset`, `[remove]`, a mount at an
//! inherited target); tests/composition_run.rs runs such profiles for real.

mod common;
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

fn compiled(l: &Loaded) -> stockade::plan::Plan {
    let opts = CompileOptions {
        command: None,
        command_optional: true,
    };
    match compile(l, &HostFacts::fixed(), &opts) {
        Ok(c) => c.plan,
        Err(d) => panic!("{}", stockade::diag::render(&d.0, &l.sources, false)),
    }
}

fn loaded(path: &str) -> Loaded {
    match load(path) {
        Ok(l) => l,
        Err(e) => panic!(
            "{}",
            stockade::diag::render(&e.diagnostics.0, &e.sources, false)
        ),
    }
}

fn mount_list(plan: &stockade::plan::Plan) -> Vec<String> {
    plan.mounts
        .iter()
        .map(|m| format!("{} {}", m.op.kind_name(), m.target.display()))
        .collect()
}

/// The load error of a profile text, rendered.
fn load_error(name: &str, text: &str) -> String {
    match stockade::profile::load::load_text(name, text) {
        Ok(_) => panic!("{name} must not load"),
        Err(e) => stockade::diag::render(&e.diagnostics.0, &e.sources, false),
    }
}

#[test]
fn remove_reset_and_replace_take_away_from_builtin_strict() {
    let strict = compiled(&loaded("builtin:strict"));
    let l = loaded(&format!("{DIR}/takeaway.toml"));
    let plan = compiled(&l);
    let pwd = "/home/dev/src/project";
    // strict's ${PWD} bind is gone; minimal's /tmp is replaced where it stood (last of
    // minimal's mounts), with the new size.
    let mut expected = mount_list(&strict);
    expected.retain(|m| m != &format!("bind {pwd}"));
    assert_eq!(mount_list(&plan), expected);
    let tmp = plan
        .mounts
        .iter()
        .filter(|m| m.target == std::path::Path::new("/tmp"))
        .collect::<Vec<_>>();
    assert_eq!(tmp.len(), 1);
    assert!(matches!(tmp[0].op, MountOp::Tmpfs { size: Some(s), .. } if s == 32 << 20));
    let ll = l.profile.landlock.as_ref().expect("landlock");
    assert_eq!(strings(&ll.write), ["/tmp", "/dev"]);
    assert_eq!(strings(&ll.exec), ["/usr"]);
    let res = l.profile.resources.as_ref().expect("resources");
    assert_eq!((res.memory.as_ref(), res.pids.is_some()), (None, true));
    let keep = strings(&l.profile.env.as_ref().expect("env").keep);
    assert!(
        !keep.contains(&"LC_*") && keep.contains(&"LANG"),
        "{keep:?}"
    );
    // The merged profile holds no trace of the directives.
    assert!(l.profile.reset.is_none() && l.profile.remove.is_none());
    // Each change names what and where.
    let changes: Vec<String> = l
        .changes
        .iter()
        .map(|c| {
            format!(
                "{} {} {} {}",
                c.action.word(),
                c.key,
                c.what,
                l.sources.location(&c.by)
            )
        })
        .collect();
    let f = format!("{DIR}/takeaway.toml");
    assert_eq!(
        changes,
        [
            format!("reset resources.memory \"4GiB\" {f}:6:10"),
            format!("removed env.keep \"LC_*\" {f}:12:13"),
            format!("removed landlock.exec \"${{PWD}}\" {f}:11:18"),
            format!("removed landlock.write \"${{PWD}}\" {f}:10:19"),
            format!("removed mount bind \"${{PWD}}\" {f}:9:10"),
            format!("replaced mount tmpfs \"/tmp\" {f}:19:1"),
        ]
    );
    // The replacing mount's values come from this file.
    let i = plan
        .mounts
        .iter()
        .position(|m| m.target == std::path::Path::new("/tmp"))
        .expect("/tmp");
    assert_eq!(origin(&l, &format!("mount[{i}].size")), (f.clone(), 20));
}

#[test]
fn a_replacing_mount_keeps_the_place_so_mounts_beneath_stay_visible() {
    let dir = common::TempDir::new("compose-place");
    dir.profile(
        "base.toml",
        "[namespaces]\nuser = true\nmount = true\n\
         [[mount]]\ntype = \"tmpfs\"\ntarget = \"/srv\"\n\
         [[mount]]\ntype = \"dir\"\ntarget = \"/srv/data\"\n\
         [[mount]]\ntype = \"proc\"\n",
    );
    let child = dir.profile(
        "child.toml",
        "extends = [\"base.toml\"]\n\
         [[mount]]\ntype = \"tmpfs\"\ntarget = \"/run\"\n\
         [[mount]]\ntype = \"tmpfs\"\ntarget = \"/srv/\"\nsize = \"1MiB\"\n",
    );
    let l = loaded(child.to_str().expect("utf-8"));
    let plan = compiled(&l);
    assert_eq!(
        mount_list(&plan),
        ["tmpfs /srv", "dir /srv/data", "proc /proc", "tmpfs /run"]
    );
    assert!(matches!(plan.mounts[0].op, MountOp::Tmpfs { size: Some(s), .. } if s == 1 << 20));
    // Nothing is stacked, so `check` has nothing to warn about.
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
}

#[test]
fn reset_clears_lists_tables_and_scalars_before_the_files_own_values() {
    let dir = common::TempDir::new("compose-reset");
    let child = dir.profile(
        "child.toml",
        "extends = [\"builtin:strict\"]\n\
         reset = [\"mount\", \"landlock\", \"seccomp.preset\", \"rlimits\"]\n\
         [process]\ncwd = \"/\"\n\
         [[mount]]\ntype = \"bind\"\nsource = \"/usr\"\nread-only = true\n\
         [landlock]\nread = [\"/usr\"]\n",
    );
    let l = loaded(child.to_str().expect("utf-8"));
    let p = &l.profile;
    assert_eq!(p.mount.as_ref().map(Vec::len), Some(1));
    let ll = p.landlock.as_ref().expect("landlock");
    assert_eq!(strings(&ll.read), ["/usr"]);
    assert!(ll.write.is_none() && ll.compat.is_none() && ll.scope.is_none());
    let sc = p.seccomp.as_ref().expect("seccomp");
    assert!(sc.preset.is_none() && sc.default_action.is_some());
    assert!(p.rlimits.is_none());
    // One change per value taken away: every strict and minimal mount among them.
    let mounts = l
        .changes
        .iter()
        .filter(|c| c.key == "mount" && c.action.word() == "reset")
        .count();
    assert_eq!(
        mounts,
        loaded("builtin:strict")
            .profile
            .mount
            .map_or(0, |m| m.len())
    );
    assert!(l
        .changes
        .iter()
        .any(|c| c.key == "landlock.write" && c.what == "\"/tmp\""));
    assert!(l.warnings.0.is_empty(), "{:?}", l.warnings);
}

#[test]
fn remove_never_takes_a_files_own_items_and_misses_are_located_errors() {
    // The file's own `HOME` is not inherited (base.toml keeps PATH and HOME, but this file
    // extends nothing): its `[remove]` matches nothing.
    let err = load_error(
        "own.toml",
        "version = 1\n[env]\nkeep = [\"HOME\"]\n[remove]\nenv.keep = [\"HOME\"]\n",
    );
    assert!(
        err.contains("`[remove] env.keep`: nothing inherited matches \"HOME\"")
            && err.contains("own.toml:5:13")
            && err.contains("help: nothing inherited is in `env.keep`"),
        "{err}"
    );
    let err = load_error(
        "typo.toml",
        &format!("version = 1\nextends = [\"{DIR}/base.toml\"]\n[remove]\nseccomp.deny = [\"ptrace \"]\nmount = [\"/temp\"]\n"),
    );
    assert!(
        err.contains("typo.toml:4:17") && err.contains("did you mean \"ptrace\"?"),
        "{err}"
    );
    assert!(
        err.contains("typo.toml:5:10") && err.contains("did you mean \"/tmp\"?"),
        "{err}"
    );
    // Two mounts at one written target in one file: an error naming both.
    let err = load_error(
        "twice.toml",
        "version = 1\n[[mount]]\ntype = \"proc\"\n[[mount]]\ntype = \"proc\"\ntarget = \"/proc/\"\n",
    );
    assert!(
        err.contains("two mounts of this file have the target `/proc`: this one and the one at twice.toml:2:1")
            && err.contains("twice.toml:6:1"),
        "{err}"
    );
    // `[remove]` must name a list that can be removed from.
    let err = load_error(
        "key.toml",
        &format!(
            "version = 1\nextends = [\"{DIR}/base.toml\"]\n[remove]\nlandlock.wirte = [\"/tmp\"]\n"
        ),
    );
    assert!(
        err.contains("unknown field `wirte`") && err.contains("did you mean `write`?"),
        "{err}"
    );
}

#[test]
fn a_reset_of_nothing_inherited_is_a_located_warning_at_check() {
    let dir = common::TempDir::new("compose-warn");
    let p = dir.profile(
        "p.toml",
        "extends = [\"builtin:minimal\"]\nreset = [\"seccomp.allow\"]\n",
    );
    let out = util::stockade(&["check", p.to_str().expect("utf-8")]);
    let err = util::text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("warning: `reset`: nothing inherited sets `seccomp.allow`")
            && err.contains("p.toml:3:10"),
        "{err}"
    );
    assert_eq!(
        err.matches("warning: `reset`").count(),
        1,
        "said once: {err}"
    );
}

#[test]
fn explain_lists_what_was_taken_away_and_by_which_file() {
    let out = util::stockade(&["explain", &format!("{DIR}/takeaway.toml")]);
    let text = util::text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", util::text(&out.stderr));
    let section = text
        .split("# inherited values not in effect")
        .nth(1)
        .and_then(|t| t.split("\n\n").next())
        .unwrap_or_else(|| panic!("no section of what was taken away:\n{text}"));
    let row = |prefix: &str| -> String {
        section
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` row in:\n{section}"))
            .to_owned()
    };
    let f = format!("{DIR}/takeaway.toml");
    assert!(row("mount = bind \"${PWD}\"")
        .ends_with(&format!("# builtin:strict:20:1, removed by {f}:9:10")));
    assert!(row("landlock.write = \"${PWD}\"")
        .ends_with(&format!("# builtin:strict:39:10, removed by {f}:10:19")));
    assert!(row("resources.memory = \"4GiB\"")
        .ends_with(&format!("# builtin:strict:26:1, reset by {f}:6:10")));
    assert!(row("mount = tmpfs \"/tmp\"")
        .ends_with(&format!("# builtin:minimal:74:1, replaced by {f}:19:1")));
    // The effective values no longer show what was taken away.
    let effective = text.split("# inherited values").next().unwrap_or_default();
    assert!(!effective.contains("resources.memory"), "{text}");
    assert!(!effective.contains("${PWD}\"  "), "{text}");
    assert!(effective.contains("resources.pids = 4096"), "{text}");
}
