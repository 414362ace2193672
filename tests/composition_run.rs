//! Profiles that take things away from builtin:strict, run for real through the built
//! binary (src/profile/compose.rs): without its `${PWD}` bind, and with a sized `/tmp` that
//! replaces the inherited tmpfs instead of being stacked over it. Both fail on a stockade
//! whose lists only accumulate (`[remove]` unknown; two tmpfs mounts at `/tmp`).

mod common;
mod util;

/// A directory outside /tmp (builtin:strict mounts a fresh tmpfs there, which would hide a
/// host directory beneath /tmp even without `[remove]`).
fn workdir(tag: &str) -> std::path::PathBuf {
    let d = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("compose-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("work dir");
    d
}

#[test]
fn run_without_the_working_directory_of_builtin_strict() {
    if common::need_sandbox() {
        return;
    }
    let dir = workdir("nopwd");
    std::fs::write(dir.join("MARKER"), "host\n").expect("marker");
    let marker = dir.join("MARKER");
    let marker = marker.to_str().expect("utf-8");
    std::fs::write(
        dir.join("nopwd.toml"),
        "version = 1\nextends = [\"builtin:strict\"]\n\
         [remove]\nmount = [\"${PWD}\"]\nlandlock.write = [\"${PWD}\"]\nlandlock.exec = [\"${PWD}\"]\n\
         [process]\ncwd = \"/\"\n",
    )
    .expect("profile");
    let script = format!("if test -e {marker}; then echo visible; else echo hidden; fi; pwd");
    let run = |profile: &str| {
        common::TestCommand::new(["run", profile, "--", "sh", "-c", script.as_str()])
            .current_dir(&dir)
            .output()
    };
    // builtin:strict itself shows the marker: the check below is not vacuous.
    let strict = run("builtin:strict");
    assert!(strict.status.success(), "{}", common::stderr(&strict));
    assert_eq!(
        util::text(&strict.stdout),
        format!("visible\n{}\n", dir.display())
    );
    let out = run("nopwd.toml");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(util::text(&out.stdout), "hidden\n/\n");
}

#[test]
fn run_with_a_sized_tmp_replacing_the_inherited_one() {
    if common::need_sandbox() {
        return;
    }
    let dir = workdir("tmp");
    std::fs::write(
        dir.join("tmp.toml"),
        "version = 1\nextends = [\"builtin:strict\"]\n\
         [[mount]]\ntype = \"tmpfs\"\ntarget = \"/tmp\"\nsize = \"24MiB\"\nmode = \"1777\"\n",
    )
    .expect("profile");
    let out = common::TestCommand::new(["run", "tmp.toml", "--", "cat", "/proc/self/mountinfo"])
        .current_dir(&dir)
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let info = util::text(&out.stdout);
    // Field 5 is the mount point; the super options follow ` - `.
    let at_tmp: Vec<&str> = info
        .lines()
        .filter(|l| l.split(' ').nth(4) == Some("/tmp"))
        .collect();
    assert_eq!(at_tmp.len(), 1, "one mount at /tmp:\n{info}");
    assert!(
        at_tmp[0].contains(" - tmpfs ") && at_tmp[0].contains("size=24576k"),
        "{}",
        at_tmp[0]
    );
    assert!(
        !common::stderr(&out).contains("stacked"),
        "{}",
        common::stderr(&out)
    );
}
