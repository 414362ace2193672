//! Learn from recorded logs: parsing, generalisation, patch, fixed point.

use super::event::{parse, to_line, Access, Event, LOG_VERSION};
use super::generalise::{generalise, looks_random, with_variables};
use super::patch::render;
use crate::compile::{compile, CompileOptions};
use crate::host::HostFacts;
use crate::profile::load::load_text;
use std::path::Path;

fn header() -> Event {
    Event::Header {
        tool: "stockade-learn".into(),
        version: LOG_VERSION,
        profile: "base.toml".into(),
        home: "/home/dev".into(),
        pwd: "/home/dev/src/proj".into(),
    }
}

fn path(access: Access, p: &str, exe: &str) -> Event {
    Event::Path {
        access,
        path: p.into(),
        exe: exe.into(),
    }
}

fn call(name: &str, exe: &str) -> Event {
    Event::Syscall {
        name: name.into(),
        abi: "x86_64".into(),
        exe: exe.into(),
    }
}

fn log_of(events: &[Event]) -> String {
    events.iter().map(|e| to_line(e) + "\n").collect()
}

#[test]
fn logs_round_trip_and_non_logs_are_refused_with_the_line() {
    let events = vec![header(), call("openat", "/usr/bin/make")];
    assert_eq!(parse("l.jsonl", &log_of(&events)), Ok(events));
    let no_header = log_of(&[call("read", "/bin/x")]);
    let e = parse("l.jsonl", &no_header).expect_err("no header");
    assert!(
        e.to_string()
            .starts_with("l.jsonl:1: not a `stockade learn` log"),
        "{e}"
    );
    let e = parse("x.json", "{\"profiles\": []}").expect_err("not a log");
    assert!(e.message.contains("not a `stockade learn` log"), "{e}");
    let e = parse("l", &(log_of(&[header()]) + "{\"event\":\"syscall\"}\n")).expect_err("bad");
    assert_eq!(e.line, 2);
    assert!(parse("empty", "").is_err());
}

#[test]
fn paths_collapse_above_the_threshold_but_never_to_anchors() {
    let mut events = vec![header()];
    for f in ["a.h", "b.h", "c.h", "d.h"] {
        events.push(path(
            Access::Read,
            &format!("/usr/include/{f}"),
            "/usr/bin/cc1",
        ));
    }
    // Four files straight in /etc: never widened to /etc.
    for f in ["passwd", "group", "hosts", "nsswitch.conf"] {
        events.push(path(Access::Read, &format!("/etc/{f}"), "/usr/bin/make"));
    }
    events.push(path(
        Access::Create,
        "/home/dev/src/proj/out/main.o",
        "/usr/bin/cc1",
    ));
    events.push(path(Access::Write, "/tmp/ccA81xQz.s", "/usr/bin/cc1"));
    events.push(path(
        Access::Read,
        "/home/dev/src/proj/out/main.o",
        "/usr/bin/ld",
    ));
    events.push(path(Access::Exec, "/usr/bin/cc1", "/usr/bin/gcc"));
    events.push(path(Access::Read, "/usr/bin/cc1", "/usr/bin/gcc"));
    let l = generalise(&events, false);
    let values =
        |v: &[super::generalise::Entry]| v.iter().map(|e| e.value.clone()).collect::<Vec<_>>();
    assert_eq!(
        values(&l.read),
        [
            "/etc/group",
            "/etc/hosts",
            "/etc/nsswitch.conf",
            "/etc/passwd",
            "/usr/include"
        ]
    );
    assert_eq!(values(&l.write), ["${PWD}/out", "/tmp"]);
    assert_eq!(values(&l.exec), ["/usr/bin/cc1"]);
    let inc = &l.read[4];
    assert_eq!(
        (inc.count, inc.users.iter().next().map(String::as_str)),
        (4, Some("cc1"))
    );
}

#[test]
fn names_variables_and_dangerous_calls() {
    assert!(
        looks_random("ccA81xQz.s") && looks_random("12345") && looks_random("tmp.7f3a9c1d2e4b")
    );
    assert!(
        !looks_random("main.o") && !looks_random("libc.so.6") && !looks_random("x86_64-linux-gnu")
    );
    let (home, pwd) = (Path::new("/home/dev"), Path::new("/home/dev/src/p"));
    assert_eq!(
        with_variables(Path::new("/home/dev/src/p/a"), home, pwd),
        "${PWD}/a"
    );
    assert_eq!(
        with_variables(Path::new("/home/dev/.cargo"), home, pwd),
        "${HOME}/.cargo"
    );
    assert_eq!(with_variables(Path::new("/usr"), home, pwd), "/usr");
    let events = vec![
        header(),
        call("ptrace", "/usr/bin/gdb"),
        call("read", "/usr/bin/gdb"),
    ];
    let held = generalise(&events, false);
    assert_eq!(
        held.held_back
            .iter()
            .map(|e| e.value.as_str())
            .collect::<Vec<_>>(),
        ["ptrace"]
    );
    assert!(held.syscalls.iter().all(|e| e.value != "ptrace"));
    let allowed = generalise(&events, true);
    assert!(allowed.held_back.is_empty() && allowed.syscalls.iter().any(|e| e.value == "ptrace"));
}

#[test]
fn most_of_a_group_becomes_the_group() {
    let members = crate::seccomp::groups::expand("@basic-io").expect("group");
    let mut events = vec![header()];
    events.extend(members.iter().map(|m| call(m, "/bin/cat")));
    events.push(call("getcwd", "/bin/cat"));
    let l = generalise(&events, false);
    let v: Vec<&str> = l.syscalls.iter().map(|e| e.value.as_str()).collect();
    assert!(
        v.contains(&"@basic-io") && v.contains(&"getcwd") && !v.contains(&"read"),
        "{v:?}"
    );
}

const BASE: &str = r#"version = 1
[namespaces]
user = true
mount = true
[filesystem]
root = "tmpfs"
[[mount]]
type = "bind"
source = "/usr"
read-only = true
"#;

fn plan_of(text: &str) -> crate::plan::Plan {
    let loaded = load_text("base.toml", text).expect("loads");
    let opts = CompileOptions {
        command: None,
        command_optional: true,
    };
    compile(&loaded, &HostFacts::fixed(), &opts)
        .expect("compiles")
        .plan
}

#[test]
fn the_patch_extends_the_profile_and_learning_again_gives_an_empty_patch() {
    let events = vec![
        header(),
        call("read", "/usr/bin/cat"),
        call("openat", "/usr/bin/cat"),
        path(Access::Read, "/usr/share/doc/x", "/usr/bin/cat"),
        path(Access::Exec, "/usr/bin/cat", "/usr/bin/sh"),
        Event::Connect {
            host: "127.0.0.1".into(),
            port: 8080,
            exe: "/usr/bin/curl".into(),
        },
        Event::Missing {
            path: "/etc/cat.conf".into(),
            exe: "/usr/bin/cat".into(),
        },
    ];
    let learned = generalise(&events, false);
    let first = render(&learned, &plan_of(BASE), "base.toml", 1);
    assert!(!first.empty);
    let t = &first.text;
    for needle in [
        "extends = [\"base.toml\"]",
        "default-action = \"errno:EPERM\"",
        "\"openat\", # cat (1x)",
        "\"/usr/share/doc\", # cat (1x)",
        "8080, # curl (1x)",
        "bind-tcp = []",
        "#   /etc/cat.conf — cat (1x)",
    ] {
        assert!(t.contains(needle), "{needle} not in\n{t}");
    }
    // The patch is a valid profile layer; base + patch allows everything observed.
    let merged = format!(
        "{BASE}\n{}",
        t.replace("extends = [\"base.toml\"]", "")
            .replace("version = 1\n", "")
    );
    let second = render(&learned, &plan_of(&merged), "patched.toml", 1);
    assert!(second.empty, "{}", second.text);
}

#[test]
fn per_process_procfs_paths_become_proc() {
    let events = vec![
        header(),
        path(Access::Read, "/proc/11/maps", "/usr/bin/cargo"),
        path(Access::Read, "/proc/self/cgroup", "/usr/bin/node"),
        path(
            Access::Read,
            "/proc/thread-self/attr/current",
            "/usr/bin/node",
        ),
        path(Access::Read, "/proc/cpuinfo", "/usr/bin/node"),
        path(Access::Read, "/procfs/12/x", "/usr/bin/node"),
    ];
    let l = generalise(&events, false);
    let values: Vec<&str> = l.read.iter().map(|e| e.value.as_str()).collect();
    assert_eq!(values, ["/proc", "/procfs/12/x"]);
}

#[test]
fn paths_in_a_private_tmpfs_become_its_mount_point() {
    let events = vec![
        header(),
        path(Access::Write, "/tmp/npm-cache/_logs/x.log", "/usr/bin/node"),
        path(Access::Read, "/tmp/npm-cache/index/a", "/usr/bin/node"),
        path(Access::Read, "/tmp/shared/data", "/usr/bin/node"),
        path(Access::Read, "/usr/lib/x", "/usr/bin/node"),
    ];
    let mut l = generalise(&events, false);
    let tmp = std::path::PathBuf::from("/tmp");
    crate::learn::generalise::anchor_scratch(
        &mut l,
        std::slice::from_ref(&tmp),
        &["/tmp/shared".into(), "/usr".into()],
    );
    let values = |v: &[crate::learn::generalise::Entry]| -> Vec<String> {
        v.iter().map(|e| e.value.clone()).collect()
    };
    assert_eq!(values(&l.write), ["/tmp"]);
    // (A file read beneath /usr stands for its directory.)
    assert_eq!(values(&l.read), ["/tmp", "/tmp/shared/data", "/usr/lib"]);
}

#[test]
fn paths_inside_a_created_tree_stand_for_the_directory_that_held_it() {
    let events = vec![
        header(),
        path(Access::Create, "/src/p/node_modules", "/usr/bin/node"),
        path(Access::Create, "/src/p/node_modules/a", "/usr/bin/node"),
        path(
            Access::Write,
            "/src/p/node_modules/a/index.js",
            "/usr/bin/node",
        ),
        path(
            Access::Read,
            "/src/p/node_modules/a/package.json",
            "/usr/bin/node",
        ),
        path(Access::Read, "/src/p/package.json", "/usr/bin/node"),
    ];
    let l = generalise(&events, false);
    let write: Vec<&str> = l.write.iter().map(|e| e.raw.as_str()).collect();
    assert_eq!(write, ["/src/p"]);
    // Reads inside the written tree are covered by the write rule.
    assert!(
        l.read.is_empty(),
        "{:?}",
        l.read.iter().map(|e| &e.raw).collect::<Vec<_>>()
    );
}
