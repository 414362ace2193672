//! stockade inside stockade: an outer profile that allows nesting (its proc mount
//! `unmasked = true`, and for a root payload CAP_SETFCAP kept) runs an inner sandbox with
//! namespaces of its own, as root and as the test user; the default outer refuses with a
//! message that names what the outer profile must grant.

mod common;

use common::*;
use std::path::PathBuf;

/// An outer sandbox like builtin:minimal (own user, mount, pid, ipc, uts and network
/// namespaces), with the stockade binary bound at /opt/stockade and `extra` appended.
fn outer(dir: &TempDir, name: &str, proc_extra: &str, extra: &str) -> PathBuf {
    let bin = stockade_bin();
    dir.profile(
        name,
        &format!(
            r#"[process]
cwd = "/"
user = "${{UID}}"
group = "${{GID}}"
[namespaces]
user = true
mount = true
pid = true
ipc = true
uts = true
[network]
mode = "none"
[filesystem]
root = "tmpfs"
[[mount]]
type = "bind"
source = "/usr"
read-only = true
nosuid = false
[[mount]]
type = "symlink"
source = "usr/bin"
target = "/bin"
[[mount]]
type = "symlink"
source = "usr/lib"
target = "/lib"
[[mount]]
type = "symlink"
source = "usr/lib64"
target = "/lib64"
[[mount]]
type = "bind"
source = "/etc"
read-only = true
[[mount]]
type = "proc"
{proc_extra}
[[mount]]
type = "dev"
[[mount]]
type = "tmpfs"
target = "/tmp"
[[mount]]
type = "bind"
source = "{}"
target = "/opt/stockade"
{extra}
"#,
            bin.display()
        ),
    )
}

/// What the inner sandbox prints: its PID and user namespaces and its uid.
const INNER: &[&str] = &[
    "/opt/stockade",
    "run",
    "builtin:minimal",
    "--",
    "sh",
    "-c",
    "echo $(readlink /proc/self/ns/pid) $(readlink /proc/self/ns/user) $(id -u)",
];
const OUTER_NS: &str = "echo $(readlink /proc/self/ns/pid) $(readlink /proc/self/ns/user)";

fn run_nested(dir: &TempDir, profile: &std::path::Path, who: Option<(u32, u32)>) {
    let cmd = |args: &[&str]| {
        let t = TestCommand::run(profile, args).current_dir(dir.path());
        match who {
            Some((u, g)) => t.with_user(u, g),
            None => t,
        }
        .output()
    };
    // Both in one outer sandbox: namespace inode numbers of a sandbox that has ended are
    // reused, so the outer ones must still be alive when the inner ones are read.
    let script = format!("{OUTER_NS}; exec \"$@\"");
    let mut args = vec!["sh", "-c", script.as_str(), "sh"];
    args.extend_from_slice(INNER);
    let both = cmd(&args);
    assert!(
        both.status.success(),
        "inner sandbox failed: {}",
        stderr(&both)
    );
    let both = String::from_utf8_lossy(&both.stdout).to_string();
    let mut lines = both.lines();
    let outer_ns = lines.next().unwrap_or_default().trim().to_string();
    let inner = lines.next().unwrap_or_default().trim().to_string();
    let fields: Vec<&str> = inner.split(' ').collect();
    let outer: Vec<&str> = outer_ns.split(' ').collect();
    assert_eq!(fields.len(), 3, "{inner}");
    // New PID and user namespaces inside the outer ones, and the caller's uid kept.
    assert_ne!(fields[0], outer[0], "inner shares the outer PID namespace");
    assert_ne!(fields[1], outer[1], "inner shares the outer user namespace");
    assert!(fields[0].starts_with("pid:[") && fields[1].starts_with("user:["));
    assert_eq!(fields[2], who.map_or(0, |(u, _)| u).to_string());
}

#[test]
fn stockade_runs_inside_a_sandbox_that_allows_nesting_as_root() {
    if need_root() || need_sandbox() {
        return;
    }
    let dir = TempDir::new("nest-root");
    let p = outer(
        &dir,
        "outer.toml",
        "unmasked = true",
        "[capabilities]\nkeep = [\"CAP_SETFCAP\"]",
    );
    run_nested(&dir, &p, None);
}

#[test]
fn stockade_runs_inside_a_sandbox_that_allows_nesting_as_a_user() {
    let Some(who) = need_user() else {
        return;
    };
    let dir = TempDir::new("nest-user");
    let p = outer(&dir, "outer.toml", "unmasked = true", "");
    run_nested(&dir, &p, Some(who));
}

#[test]
fn the_default_outer_sandbox_refuses_nesting_and_says_what_to_grant() {
    if need_root() || need_sandbox() {
        return;
    }
    let dir = TempDir::new("nest-refused");
    // Root payload without CAP_SETFCAP: the uid map is refused, and the message says why.
    let p = outer(&dir, "masked.toml", "", "");
    let out = TestCommand::run(&p, INNER).current_dir(dir.path()).output();
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(stderr(&out).contains("CAP_SETFCAP"), "{}", stderr(&out));
    // With the capability, the masked /proc of the outer sandbox is the next refusal.
    let p = outer(
        &dir,
        "masked-caps.toml",
        "",
        "[capabilities]\nkeep = [\"CAP_SETFCAP\"]",
    );
    let out = TestCommand::run(&p, INNER).current_dir(dir.path()).output();
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("fsmount") && err.contains("unmasked = true"),
        "{err}"
    );
    assert!(err.contains("unmask=/proc/*"), "{err}");
    // doctor, run in the same outer sandbox, predicts it.
    let out = TestCommand::run(&p, &["/opt/stockade", "doctor", "builtin:minimal"])
        .current_dir(dir.path())
        .output();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("inside a stockade sandbox"), "{text}");
    assert!(text.contains("FAIL mount (type = \"proc\")"), "{text}");
}

#[test]
fn an_unmasked_proc_is_shown_by_plan_and_leaves_kernel_files_visible() {
    if need_sandbox() {
        return;
    }
    let dir = TempDir::new("nest-plan");
    let p = outer(&dir, "outer.toml", "unmasked = true", "");
    let plan = TestCommand::new(["plan".as_ref(), p.as_os_str()]).output();
    assert!(String::from_utf8_lossy(&plan.stdout).contains("proc /proc (unmasked)"));
    // Inside: nothing is mounted over /proc's kernel files, unlike the default.
    let count = "grep -c ' /proc/' /proc/self/mountinfo || true";
    let unmasked = TestCommand::run(&p, &["sh", "-c", count])
        .current_dir(dir.path())
        .output();
    assert_eq!(
        String::from_utf8_lossy(&unmasked.stdout).trim(),
        "0",
        "{}",
        stderr(&unmasked)
    );
    let masked = outer(&dir, "masked.toml", "", "");
    let masked = TestCommand::run(&masked, &["sh", "-c", count])
        .current_dir(dir.path())
        .output();
    let n: u32 = String::from_utf8_lossy(&masked.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    assert!(n > 0, "the default proc is not masked: {}", stderr(&masked));
}
