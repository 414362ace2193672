//! Paths earlier rounds left untested: a multi-range id map with newuidmap absent, the
//! cgroup v1 self-join refused by the kernel, and exported OCI bundles run rootless under
//! runc and crun, side by side with stockade's own run of the same profile.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

/// A profile mapping the test user to root plus ten of its subordinate ids: more than one
/// range, so it needs newuidmap.
fn multi_range(dir: &TempDir, uid: u32) -> std::path::PathBuf {
    dir.profile(
        "multi.toml",
        &format!(
            "extends = [\"builtin:minimal\"]\n[process]\nuser = \"0\"\ngroup = \"0\"\n\
             [namespaces]\nuid-map = [{{ inside = 0, outside = {uid}, count = 1 }}, \
             {{ inside = 1, outside = {SUBID_START}, count = 10 }}]\n"
        ),
    )
}

#[test]
fn a_multi_range_map_without_newuidmap_fails_clearly() {
    let Some((uid, gid)) = need_user() else {
        return;
    };
    let dir = TempDir::new("gaps-newuidmap");
    let p = multi_range(&dir, uid);
    let bin = stockade_bin();
    // With the helper: the map is written and the sandbox sees both ranges.
    let with = TestCommand::run(&p, &["cat", "/proc/self/uid_map"])
        .with_user(uid, gid)
        .current_dir(dir.path())
        .output();
    assert!(with.status.success(), "{}", stderr(&with));
    let map = String::from_utf8_lossy(&with.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(map, format!("0 {uid} 1 1 {SUBID_START} 10"));
    // Without: a private mount namespace with /usr/bin hidden under an empty tmpfs
    // (setpriv is copied out first to drop to the test user there).
    std::fs::copy("/usr/bin/setpriv", dir.join("setpriv")).expect("copy setpriv");
    let script = format!(
        "mount -t tmpfs none /usr/bin && test ! -e /usr/bin/newuidmap && \
         exec {dir}/setpriv --reuid={uid} --regid={gid} --clear-groups {bin} run {p} -- true",
        dir = dir.path().display(),
        bin = bin.display(),
        p = p.display()
    );
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .current_dir(dir.path())
        .output()
        .expect("unshare");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(err.contains("newuidmap is not installed"), "{err}");
    assert!(
        err.contains("namespaces.uid-map") && err.contains("uidmap"),
        "{err}"
    );
    // The compiler saw it coming, too (a warning before the run).
    assert!(err.contains("need newuidmap/newgidmap"), "{err}");
}

/// The caller's cgroup directory in the v1 `cpu` hierarchy, or None (not cgroup v1).
fn v1_cpu_cgroup() -> Option<std::path::PathBuf> {
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = own.lines().find_map(|l| {
        let mut f = l.splitn(3, ':');
        let (_, ctrl, path) = (f.next()?, f.next()?, f.next()?);
        ctrl.split(',')
            .any(|c| c == "cpu")
            .then(|| path.to_string())
    })?;
    ["/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpu"]
        .iter()
        .map(|m| Path::new(m).join(path.trim_start_matches('/')))
        .find(|d| d.join("cpu.rt_runtime_us").exists())
}

#[test]
fn a_refused_v1_self_join_fails_the_run_and_leaves_no_cgroup() {
    if need_root() || need_sandbox() {
        return;
    }
    let Some(base) = v1_cpu_cgroup() else {
        skip("needs the cgroup v1 cpu controller with RT group scheduling (cpu.rt_runtime_us)");
        return;
    };
    let dir = TempDir::new("gaps-selfjoin");
    let p = dir.profile(
        "cpu.toml",
        "extends = [\"builtin:minimal\"]\n[resources]\ncpu = 0.5\n",
    );
    // The kernel refuses to move a SCHED_FIFO task into a cpu cgroup without an RT
    // budget (a new leaf has cpu.rt_runtime_us = 0): the child's own write to `tasks`
    // fails, which is the self-join failure path.
    let mut child = Command::new("chrt")
        .args(["-f", "1"])
        .arg(stockade_bin())
        .args([
            "run".as_ref(),
            p.as_os_str(),
            "--".as_ref(),
            "true".as_ref(),
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("chrt");
    let pid = child.id();
    let mut err = String::new();
    use std::io::Read;
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(125), "{err}");
    assert!(err.contains("enter cgroup"), "{err}");
    // No leaf of that run is left in any hierarchy.
    let prefix = format!("stockade-{pid}-");
    assert!(base.is_dir());
    for h in ["cpu,cpuacct", "memory", "pids"] {
        let left = Command::new("find")
            .arg("-H")
            .arg(Path::new("/sys/fs/cgroup").join(h))
            .args(["-maxdepth", "6", "-type", "d", "-name"])
            .arg(format!("{prefix}*"))
            .output()
            .expect("find");
        assert!(
            left.stdout.is_empty(),
            "left behind: {}",
            String::from_utf8_lossy(&left.stdout)
        );
    }
    // Side by side: the same run without the RT policy succeeds.
    let ok = TestCommand::run(&p, &["true"]).output();
    assert!(ok.status.success(), "{}", stderr(&ok));
}

const SHOW: &str = "echo $(id -u) $(id -g); cat /proc/self/uid_map /proc/self/gid_map";

fn normalize(out: &[u8]) -> String {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn exported_bundles_run_rootless_under_runc_and_crun() {
    let Some((uid, gid)) = need_user() else {
        return;
    };
    for rt in ["runc", "crun"] {
        if Command::new(rt).arg("--version").output().is_err() {
            skip(&format!("{rt} is not installed"));
            return;
        }
    }
    let dir = TempDir::new("gaps-rootless-oci");
    dir.chown(uid, gid);
    let p = dir.profile(
        "root-inside.toml",
        "extends = [\"builtin:minimal\"]\n[process]\nuser = \"0\"\ngroup = \"0\"\n",
    );
    let bundle = dir.join("bundle");
    let export = TestCommand::new([
        "oci".as_ref(),
        "export".as_ref(),
        p.as_os_str(),
        "--bundle".as_ref(),
        bundle.as_os_str(),
        "--".as_ref(),
        "/bin/sh".as_ref(),
        "-c".as_ref(),
        SHOW.as_ref(),
    ])
    .with_user(uid, gid)
    .current_dir(dir.path())
    .output();
    assert!(export.status.success(), "{}", stderr(&export));
    // stockade's own run of the same profile, as the same user: the reference.
    let own = TestCommand::run(&p, &["/bin/sh", "-c", SHOW])
        .with_user(uid, gid)
        .current_dir(dir.path())
        .output();
    assert!(own.status.success(), "{}", stderr(&own));
    let want = normalize(&own.stdout);
    assert_eq!(want, format!("0 0\n0 {uid} 1\n0 {gid} 1"));
    let drop = format!(
        "setpriv --reuid={uid} --regid={gid} --clear-groups env HOME={d} XDG_RUNTIME_DIR={d}",
        d = dir.path().display()
    );
    let runs = [
        ("runc", format!("exec {drop} runc --root {d}/runc run --bundle {b} gaps-runc", d = dir.path().display(), b = bundle.display())),
        // crun 1.8 refuses this host's hybrid layout while the cgroup2 mount is visible:
        // unmount it in a private mount namespace before dropping to the user.
        ("crun", format!("if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified || exit 125; fi; exec {drop} crun --root {d}/crun run --bundle {b} gaps-crun", d = dir.path().display(), b = bundle.display())),
    ];
    for (rt, script) in runs {
        let out = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .stdin(std::process::Stdio::null())
            .output()
            .expect("unshare");
        assert!(out.status.success(), "{rt}: {}", stderr(&out));
        assert_eq!(
            normalize(&out.stdout),
            want,
            "{rt} differs from stockade run"
        );
    }
}

/// A program in a new bind under builtin:strict: Landlock refuses the execve, and the error
/// names the key that would allow it. With that key added, the same program runs.
#[test]
fn an_execve_refused_by_landlock_names_the_exec_key() {
    if need_sandbox() {
        return;
    }
    let dir = TempDir::new("gaps-llexec");
    let tools = dir.join("tools");
    std::fs::create_dir_all(&tools).expect("tools dir");
    std::fs::copy("/bin/true", tools.join("mytrue")).expect("copy true");
    let proj = dir.join("proj");
    std::fs::create_dir_all(&proj).expect("project dir");
    let body = |extra: &str| {
        format!(
            "extends = [\"builtin:strict\"]\n[[mount]]\ntype = \"bind\"\nsource = \"{}\"\n\
             target = \"/opt/tools\"\nread-only = true\n{extra}",
            tools.display()
        )
    };
    let p = dir.profile("no-exec.toml", &body(""));
    let out = TestCommand::run(&p, &["/opt/tools/mytrue"])
        .current_dir(&proj)
        .output();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(126), "{err}");
    assert!(
        err.contains("Landlock: no `landlock.exec` entry covers /opt/tools/mytrue"),
        "{err}"
    );
    assert!(err.contains("exec = [\"/opt/tools\"]"), "{err}");
    let p = dir.profile("exec.toml", &body("[landlock]\nexec = [\"/opt/tools\"]\n"));
    let out = TestCommand::run(&p, &["/opt/tools/mytrue"])
        .current_dir(&proj)
        .output();
    assert!(out.status.success(), "{}", stderr(&out));
}
