//! The compiler's rules through the library: explicit defaults, resolution of units and
//! names, contradictions, and that every diagnostic is collected before failing.

use stockade::compile::{compile, CompileOptions};
use stockade::diag::Diagnostics;
use stockade::host::HostFacts;
use stockade::plan::{Compat, MountOp, NetworkMode, Plan, SeccompAction, RLIM_UNLIMITED};
use stockade::profile::load::load_text;

fn try_compile(text: &str, host: &HostFacts) -> Result<Plan, Diagnostics> {
    let loaded = match load_text("test.toml", text) {
        Ok(l) => l,
        Err(e) => return Err(e.diagnostics),
    };
    let opts = CompileOptions {
        command: None,
        command_optional: true,
    };
    compile(&loaded, host, &opts).map(|c| c.plan)
}

fn plan(text: &str) -> Plan {
    try_compile(text, &HostFacts::fixed()).unwrap_or_else(|d| panic!("{d:?}"))
}

/// The error messages of a profile that must not compile.
fn errors(text: &str) -> Vec<String> {
    match try_compile(text, &HostFacts::fixed()) {
        Ok(p) => panic!("compiled: {p:?}"),
        Err(d) => {
            d.0.iter()
                .filter(|d| d.is_error())
                .map(|d| d.message.clone())
                .collect()
        }
    }
}

#[test]
fn an_empty_profile_gets_safe_explicit_defaults() {
    let p = plan("version = 1\n");
    let pr = &p.process;
    assert!(pr.argv.is_empty());
    assert!(
        pr.env.is_empty(),
        "env.clear defaults to true: {:?}",
        pr.env
    );
    assert_eq!(pr.cwd.to_str(), Some("/"));
    assert_eq!((pr.uid, pr.gid), (1000, 1000));
    assert_eq!(pr.umask, 0o022);
    assert!(pr.new_session, "new-session defaults on (TIOCSTI)");
    assert!(pr.die_with_parent);
    assert_eq!(pr.kill_signal.number, 15);
    assert_eq!(pr.grace_ms, 10_000);
    assert_eq!(pr.timeout_ms, None);
    assert!(p.capabilities.no_new_privs);
    assert!(p.capabilities.keep.is_empty());
    assert_eq!(p.network, NetworkMode::Host);
    assert!(!p.namespaces.user && !p.namespaces.mount);
    assert!(p.seccomp.is_none() && p.landlock.is_none() && p.resources.is_none());
    assert!(p.mounts.is_empty() && p.rlimits.is_empty());
}

#[test]
fn a_user_namespace_maps_the_caller_to_root_by_default() {
    let p = plan("version = 1\n[namespaces]\nuser = true\n");
    assert_eq!((p.process.uid, p.process.gid), (0, 0));
    let m = &p.namespaces.uid_map;
    assert_eq!(m.len(), 1);
    assert_eq!((m[0].inside, m[0].outside, m[0].count), (0, 1000, 1));
    assert!(
        !p.namespaces.uid_map_helper,
        "a single own id needs no helper"
    );

    let p = plan("version = 1\n[namespaces]\nuser = true\n[process]\nuser = \"${UID}\"\n");
    assert_eq!(p.namespaces.uid_map[0].inside, 1000);

    let p = plan(
        "version = 1\n[namespaces]\nuser = true\nuid-map = [{ inside = 0, outside = 100000, count = 65536 }]\n",
    );
    assert!(p.namespaces.uid_map_helper, "other ids need newuidmap");
}

#[test]
fn network_none_implies_a_network_namespace() {
    let p = plan("version = 1\n[namespaces]\nuser = true\n[network]\nmode = \"none\"\n");
    assert!(p.namespaces.net);
    assert_eq!(p.network, NetworkMode::None);
    let p = plan("version = 1\n[namespaces]\nuser = true\nnet = true\n");
    assert_eq!(p.network, NetworkMode::None);
}

#[test]
fn units_and_names_are_resolved() {
    let p = plan(
        r#"
version = 1
[process]
timeout = "1h 30m"
grace = "500ms"
kill-signal = "int"
umask = "0o077"
[resources]
memory = "1.5GiB"
memory-high = "512M"
cpu = 1.5
[rlimits]
nofile = { soft = 1024, hard = "host" }
core = { soft = 0, hard = "unlimited" }
stack = "8MiB"
"#,
    );
    assert_eq!(p.process.timeout_ms, Some(5_400_000));
    assert_eq!(p.process.grace_ms, 500);
    assert_eq!(p.process.kill_signal.name, "SIGINT");
    assert_eq!(p.process.umask, 0o077);
    let r = p.resources.as_ref().expect("resources");
    assert_eq!(r.memory_max, Some(1536 << 20));
    assert_eq!(
        r.memory_high,
        Some(512 << 20),
        "M is 1024-based, as in systemd"
    );
    assert_eq!((r.cpu_quota_us, r.cpu_period_us), (Some(150_000), 100_000));
    assert_eq!(r.compat, Compat::Required);
    let nofile = p
        .rlimits
        .iter()
        .find(|l| l.name == "RLIMIT_NOFILE")
        .expect("nofile");
    // "host": the caller's hard limit (the fixed host's is systemd's 524288).
    assert_eq!((nofile.soft, nofile.hard), (1024, 524_288));
    let core = p
        .rlimits
        .iter()
        .find(|l| l.name == "RLIMIT_CORE")
        .expect("core");
    assert_eq!((core.soft, core.hard), (0, RLIM_UNLIMITED));
    let stack = p
        .rlimits
        .iter()
        .find(|l| l.name == "RLIMIT_STACK")
        .expect("stack");
    assert_eq!(stack.soft, 8 << 20);
}

#[test]
fn variables_are_expanded_and_paths_normalized() {
    let p = plan(
        r#"
version = 1
[process]
cwd = "${HOME}/src/../build/./out/"
[env]
keep = ["CARGO_*"]
set = { A = "${env:NOPE:-fallback}", B = "$$HOME", C = "${USER}:${UID}:${GID}" }
"#,
    );
    assert_eq!(p.process.cwd.to_str(), Some("/home/dev/build/out"));
    let env: Vec<(&str, &str)> = p
        .process
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        env,
        [
            ("A", "fallback"),
            ("B", "$HOME"),
            ("C", "dev:1000:1000"),
            ("CARGO_HOME", "/home/dev/.cargo"),
            ("CARGO_TERM_COLOR", "always"),
        ]
    );
}

#[test]
fn mount_defaults() {
    let p = plan(
        r#"
version = 1
[namespaces]
user = true
mount = true
pid = true
[[mount]]
type = "bind"
source = "/usr/../usr/lib"
# writable on purpose: the defaults are under test (a writable /usr bind needs the opt-in)
allow-dangerous-write = true
[[mount]]
type = "proc"
[[mount]]
type = "dev"
[[mount]]
type = "tmpfs"
target = "/tmp"
"#,
    );
    let m = &p.mounts;
    assert_eq!(
        m[0].target.to_str(),
        Some("/usr/lib"),
        "bind target defaults to source"
    );
    assert!(matches!(
        &m[0].op,
        MountOp::Bind {
            recursive: true,
            optional: false,
            ..
        }
    ));
    assert!(m[0].flags.nosuid && m[0].flags.nodev && !m[0].flags.read_only);
    assert_eq!(m[1].target.to_str(), Some("/proc"));
    assert!(m[1].flags.noexec);
    assert_eq!(m[2].target.to_str(), Some("/dev"));
    assert!(!m[2].flags.nodev, "a /dev mount keeps its devices");
    assert!(matches!(
        m[3].op,
        MountOp::Tmpfs {
            size: None,
            mode: 0o755
        }
    ));
}

#[test]
fn landlock_abi_follows_the_features_used_and_the_kernel() {
    // Unpinned: the features' minimum, raised to what the kernel knows (so a `read` grant
    // also forbids truncate and device ioctls where the kernel can say so).
    let abi_on = |kernel: u8, body: &str| {
        let mut host = HostFacts::fixed();
        host.landlock_abi = kernel;
        try_compile(&format!("version = 1\n[landlock]\n{body}\n"), &host)
            .unwrap_or_else(|d| panic!("{d:?}"))
            .landlock
            .map(|l| l.abi)
    };
    assert_eq!(abi_on(1, "read = [\"/usr\"]"), Some(1));
    assert_eq!(abi_on(2, "read = [\"/usr\"]"), Some(2));
    assert_eq!(abi_on(7, "read = [\"/usr\"]"), Some(7));
    assert_eq!(abi_on(0, "read = [\"/usr\"]"), Some(1));
    assert_eq!(abi_on(2, "write = [\"/tmp\"]"), Some(3));
    assert_eq!(abi_on(2, "connect-tcp = [443]"), Some(4));
    assert_eq!(abi_on(2, "scope = [\"signal\"]"), Some(6));
    assert_eq!(abi_on(7, "abi = 2\nread = [\"/usr\"]"), Some(2));
    assert_eq!(abi_on(7, "enabled = false\nread = [\"/usr\"]"), None);
    let handled = |kernel: u8| {
        let mut host = HostFacts::fixed();
        host.landlock_abi = kernel;
        try_compile("version = 1\n[landlock]\nread = [\"/usr\"]\n", &host)
            .unwrap_or_else(|d| panic!("{d:?}"))
            .landlock
            .map(|l| l.handled_fs)
            .unwrap_or_default()
    };
    assert!(handled(7).iter().any(|r| r == "truncate"));
    assert!(!handled(2).iter().any(|r| r == "truncate"));
    let l = plan("version = 1\n[landlock]\nread = [\"/usr\"]\nexec = [\"/usr\"]\n")
        .landlock
        .expect("landlock");
    // Grants on one path are merged into one rule.
    assert_eq!(l.paths.len(), 1);
    assert_eq!(l.paths[0].access, ["execute", "read-file", "read-dir"]);
}

#[test]
fn seccomp_rules_resolve_groups_and_drop_redundant_ones() {
    let s = plan(
        "version = 1\n[seccomp]\ndeny = [\"@mount\", \"ptrace\", \"ptrace\"]\ndeny-action = \"errno:EACCES\"\n",
    )
    .seccomp
    .expect("seccomp");
    assert_eq!(s.default_action, SeccompAction::Allow);
    let names: Vec<&str> = s.rules.iter().map(|r| r.syscall.as_str()).collect();
    assert!(names.contains(&"mount") && names.contains(&"pivot_root"));
    assert_eq!(names.iter().filter(|n| **n == "ptrace").count(), 1);
    assert!(s
        .rules
        .iter()
        .all(|r| r.action == SeccompAction::Errno { errno: 13 }));
    // A rule with the default action is dropped (libseccomp refuses it).
    let s = plan("version = 1\n[seccomp]\nallow = [\"read\"]\n")
        .seccomp
        .expect("seccomp");
    assert!(s.rules.is_empty(), "{:?}", s.rules);
    assert!(
        plan("version = 1\n[seccomp]\nenabled = false\ndeny = [\"ptrace\"]\n")
            .seccomp
            .is_none()
    );
}

#[test]
fn every_error_is_collected_before_failing() {
    let errs = errors(
        r#"
version = 1
[process]
cwd = "relative"
timeout = "10"
kill-signal = "SIGNOPE"
[resources]
memory = "1MB"
pids = 0
[seccomp]
deny = ["nope"]
[capabilities]
keep = ["CAP_NOPE"]
"#,
    );
    assert_eq!(errs.len(), 7, "{errs:#?}");
}

#[test]
fn contradictions_are_errors() {
    let cases: &[(&str, &str)] = &[
        (
            "[namespaces]\nuser = true\n[filesystem]\nhostname = \"h\"\n",
            "needs a UTS namespace",
        ),
        (
            "[namespaces]\ngid-map = [{ inside = 0, outside = 0 }]\n",
            "needs a user namespace",
        ),
        (
            "[namespaces]\nuser = true\ntime-offsets = { monotonic = 1 }\n",
            "needs a time namespace",
        ),
        (
            "[namespaces]\nuser = true\nnet = false\n[network]\nmode = \"none\"\n",
            "needs a network namespace",
        ),
        (
            "[namespaces]\nuser = true\nnet = true\n[network]\nmode = \"host\"\n",
            "contradicts",
        ),
        (
            "[[mount]]\ntype = \"tmpfs\"\ntarget = \"/tmp\"\n",
            "needs a mount namespace",
        ),
        ("[namespaces]\npid = true\n", "needs a user namespace"),
        (
            "[capabilities]\nkeep = [\"CAP_CHOWN\"]\n",
            "needs root or a user namespace",
        ),
        (
            "[process]\nuser = 0\n",
            "changing the user or groups without root needs a user namespace",
        ),
        (
            "[seccomp]\nallow = [\"ptrace\"]\ndeny = [\"ptrace\"]\n",
            "both allowed and denied",
        ),
        (
            "[resources]\ncpu = 1\ncpu-quota = 100000\n",
            "say the same thing twice",
        ),
        (
            "[namespaces]\nuser = true\nmount = true\n[[mount]]\ntype = \"symlink\"\nsource = \"x\"\ntarget = \"/a\"\n[[mount]]\ntype = \"tmpfs\"\ntarget = \"/a/b\"\n",
            "lies beneath",
        ),
        (
            "[namespaces]\nuser = true\nmount = true\n[landlock]\nread = [\"/usr\"]\n",
            "cannot see",
        ),
    ];
    for (body, expected) in cases {
        let errs = errors(&format!("version = 1\n{body}"));
        assert!(
            errs.iter().any(|e| e.contains(expected)),
            "{body}: expected `{expected}` in {errs:#?}"
        );
    }
}

#[test]
fn root_may_create_namespaces_and_switch_ids_without_a_user_namespace() {
    let mut host = HostFacts::fixed();
    host.uid = 0;
    host.gid = 0;
    let p = try_compile(
        "version = 1\n[namespaces]\npid = true\nmount = true\n[process]\nuser = 1000\n",
        &host,
    )
    .unwrap_or_else(|d| panic!("{d:?}"));
    assert_eq!(p.process.uid, 1000);
}

#[test]
fn landlock_sees_everything_without_a_mount_namespace() {
    // Without a mount namespace the sandbox shares the host's tree.
    let p = plan("version = 1\n[landlock]\nread = [\"/usr\", \"/opt/tools\"]\n");
    assert_eq!(p.landlock.map(|l| l.paths.len()), Some(2));
}

#[test]
fn compilation_is_deterministic_for_fixed_host_facts() {
    let text = std::fs::read_to_string("profiles/cargo-build.toml").expect("profile");
    // Relative extends resolve against the current directory (the repository).
    let text = text.replace("base/minimal.toml", "profiles/base/minimal.toml");
    let a = try_compile(&text, &HostFacts::fixed()).expect("compiles");
    let b = try_compile(&text, &HostFacts::fixed()).expect("compiles");
    assert_eq!(a, b);
}

#[test]
fn rootless_supplementary_groups_need_a_gid_map_helper() {
    let body =
        "version = 1\n[process]\ncommand = [\"id\"]\ngroups = [5]\n[namespaces]\nuser = true\n";
    let rootless = HostFacts::fixed();
    let errs = match try_compile(body, &rootless) {
        Ok(p) => panic!("compiled: {p:?}"),
        Err(d) => {
            d.0.into_iter()
                .filter(|d| d.is_error())
                .map(|d| d.message)
                .collect::<Vec<_>>()
        }
    };
    assert!(errs.iter().any(|e| e.contains("setgroups")), "{errs:?}");
    let mut root = HostFacts::fixed();
    root.uid = 0;
    root.gid = 0;
    assert!(try_compile(body, &root).is_ok());
}

/// A tmpfs starts empty: a Landlock path or working directory beneath it that no later
/// mount creates cannot be opened (Landlock) or entered (chdir) at run time.
#[test]
fn a_landlock_path_or_cwd_left_in_an_empty_tmpfs_is_an_error() {
    let errs = errors(
        "version = 1\nextends = [\"builtin:minimal\"]\n[process]\ncwd = \"/tmp/work\"\n\
         [landlock]\nread = [\"/\"]\nwrite = [\"/tmp/cache\", \"/tmp\"]\n",
    );
    assert_eq!(
        errs,
        [
            "the working directory `/tmp/work` will not exist in the sandbox: it lies in the empty tmpfs at `/tmp` and no mount creates it",
            "the sandbox cannot see `/tmp/cache`: it lies in the empty tmpfs at `/tmp` and no mount creates it",
        ]
    );
    // A later mount beneath the path creates it (as a parent of its target).
    plan(
        "version = 1\nextends = [\"builtin:minimal\"]\n[process]\ncwd = \"/tmp/work\"\n\
         [[mount]]\ntype = \"dir\"\ntarget = \"/tmp/work/out\"\n\
         [landlock]\nread = [\"/\"]\nwrite = [\"/tmp/work\"]\n",
    );
}

#[test]
fn terminal_defaults_to_auto_and_needs_a_session_of_its_own() {
    use stockade::plan::{Step, Terminal};
    let p = plan("version = 1\n");
    assert_eq!(p.process.terminal, Terminal::Auto);
    // Landlock and NOFILE before it (its fd was opened in the parent), seccomp after.
    let at = |s: Step| p.steps.iter().position(|x| *x == s);
    assert!(
        at(Step::AttachTerminal) > at(Step::NewSession),
        "{:?}",
        p.steps
    );
    assert!(at(Step::AttachTerminal) < at(Step::Exec), "{:?}", p.steps);
    let p = plan("version = 1\n[process]\nterminal = true\n[seccomp]\npreset = \"default\"\n");
    assert_eq!(p.process.terminal, Terminal::Always);
    let at = |s: Step| p.steps.iter().position(|x| *x == s);
    assert!(
        at(Step::AttachTerminal) < at(Step::Seccomp),
        "{:?}",
        p.steps
    );
    let p = plan("version = 1\n[process]\nterminal = false\n");
    assert_eq!(p.process.terminal, Terminal::Never);
    assert!(!p.steps.contains(&Step::AttachTerminal));
    // Sharing the caller's session means sharing its terminal: no pty under "auto".
    let p = plan("version = 1\n[process]\nnew-session = false\n");
    assert_eq!(p.process.terminal, Terminal::Never);
    let e = errors("version = 1\n[process]\nnew-session = false\nterminal = true\n");
    assert!(
        e.iter()
            .any(|m| m.contains("`process.terminal = true` needs")),
        "{e:?}"
    );
    let e = match try_compile(
        "version = 1\n[process]\nterminal = \"yes\"\n",
        &HostFacts::fixed(),
    ) {
        Ok(p) => panic!("compiled: {p:?}"),
        Err(d) => format!("{d:?}"),
    };
    assert!(e.contains("\\\"auto\\\", true or false"), "{e}");
}
