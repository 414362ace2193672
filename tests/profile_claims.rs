//! Every shipped profile's `description` and header comment, claim by claim, checked from
//! inside the sandbox through the built binary (issue 16, item 9: "every shipped profile's
//! description is true where it runs"). tests/vm/claims.test.sh checks the same on the VM's
//! Linux 6.1 (Landlock ABI 2, cgroup v2), where a claim that needs a newer kernel must make
//! the run fail with a located message instead of holding silently less.
//!
//! The probe (`stockade-probe`) is bound read-only at /probe by a one-file profile that
//! extends the shipped one ([`with_probe`]); it adds no write, network or limit (and, where
//! the profile has Landlock, only `exec` of /probe). The VM runs the shipped files
//! unchanged, with the probe installed under /usr.
//!
//! Where each claim is checked (this file unless named):
//!
//! | profile | claim | enforced by | checked in |
//! |---|---|---|---|
//! | base/minimal | user, mount, pid, ipc, uts, cgroup, net namespaces | namespaces | `base_minimal`, VM |
//! | base/minimal | network loopback only | net namespace | `base_minimal`, VM |
//! | base/minimal | /usr, /etc read-only | read-only binds | `base_minimal`, VM |
//! | base/minimal | private /tmp | tmpfs | `base_minimal`, VM |
//! | base/minimal | no caps, no_new_privs, default seccomp | caps, prctl, seccomp | `base_minimal`, VM |
//! | cargo-build | writes only to the source tree (+ private /tmp) | read-only root and binds | `cargo_build`, VM |
//! | cargo-build | no network | net namespace | `cargo_build`, VM |
//! | cargo-build | CARGO_*/RUST* kept, nothing else | env | `cargo_build` |
//! | cargo-build | 1 h | supervisor timeout | `limits_in_the_plan` |
//! | cargo-build | 4 GiB, 512 tasks where cgroups can be used | cgroup, best-effort | `cargo_build` (report), VM (cgroup v2) |
//! | cargo-build | a real offline build | | rlimit_host.rs `a_real_cargo_build_runs_under_a_hard_nofile_of_4096` |
//! | git-clone | github.com and codeload.github.com only, via the proxy | net namespace + proxy | `git_clone` (no route), net_profiles.rs `git_clone_profile_over_dumb_http` (allow/deny) |
//! | git-clone | current dir and /tmp writable only; HOME=/tmp, no system config | read-only root, env | `git_clone`, VM |
//! | git-clone | 15 min; 1 GiB where cgroups can be used | timeout, cgroup | `limits_in_the_plan` |
//! | npm-ci | registry.npmjs.org only, via the proxy; scripts do not run | net namespace + proxy, argv | `npm_ci`, net_profiles.rs `npm_ci_profile_against_a_local_registry` |
//! | npm-ci | TCP only to the proxy's ports, no listening (Landlock ABI 4) | Landlock, best-effort | `npm_ci` (ABI >= 4), VM (not enforced, said so) |
//! | npm-ci | project dir writable, root read-only | mounts | `npm_ci`, VM |
//! | npm-ci | 30 min; 2 GiB where cgroups can be used | timeout, cgroup | `limits_in_the_plan` |
//! | pip-fetch-build | fetch: PyPI only via the proxy; build: no network | proxy / net namespace | `pip_fetch_build`, VM, net_profiles.rs `pip_fetch_build_profile_against_a_local_index` |
//! | pip-fetch-build | project dir writable, root read-only | mounts | `pip_fetch_build`, VM |
//! | pip-fetch-build | 15 min per phase; 1 GiB where cgroups can be used | timeout, cgroup | `limits_in_the_plan` |
//! | notify-daemon | own network (loopback), read-only root, no caps | namespaces, mounts, caps | `notify_daemon`, VM |
//! | notify-daemon | sd_notify relayed | relay | systemd_host.rs `notify_relay_from_an_isolated_payload`, VM systemd.test.sh |
//! | web-static-socket | no network of its own, root and content read-only | net namespace, mounts | `web_static_socket`, VM |
//! | web-static-socket | Landlock forbids TCP bind/connect (ABI 4) | Landlock, best-effort | `web_static_socket` (ABI >= 4) |
//! | web-static-socket | serves on the socket systemd passes | LISTEN_FDS | systemd_host.rs `socket_activation_serves_from_an_empty_network_namespace`, VM systemd.test.sh |
//! | web-static | read-only root and content | read-only mounts | `web_static` |
//! | web-static | TCP bind only :8080, no outgoing TCP | Landlock ABI 4, `landlock.required` | `web_static`; VM: `check`/`run` fail at `landlock.required[0]` |
//! | web-static | no UDP, no other non-TCP socket | seccomp argument rules | `web_static`, VM |
//! | web-static | uid 1000, own user namespace, no caps | user namespace, caps | `web_static` |
//! | web-static | 256 MiB, 64 tasks, 1 CPU where cgroups can be used | cgroup, best-effort | `web_static` (pids from inside), `limits_in_the_plan` |
//! | busybox-pidns | own PID namespace, fresh /proc: ps sees only the sandbox | pid namespace, proc mount | exec_busybox.rs `busybox_pidns_ps_sees_only_the_sandbox` |
//! | busybox-container | mount/user/pid/ipc/uts/net namespaces, hostname, loopback | namespaces | exec_busybox.rs `busybox_container_has_its_own_namespaces_and_hostname` |
//! | busybox-container | minimal /dev, private /tmp (64 MiB) | dev and tmpfs mounts | `busybox_container_dev_and_tmp` |

mod claims_support;
mod common;

use claims_support::*;
use common::*;
use serde_json::Value;
use std::path::Path;

#[test]
fn base_minimal() {
    if need_root() || need_sandbox() {
        return;
    }
    let dir = TempDir::new("claims-base");
    let marker = format!("stockade-claims-marker-{}", std::process::id());
    std::fs::write(Path::new("/tmp").join(&marker), "host").unwrap();
    let (_l, port) = host_listener();
    let p = with_probe(&dir, "base/minimal.toml");
    // As root and as the unprivileged test user (when it can be created).
    let mut users = vec![None];
    users.extend(test_user().map(Some));
    for user in &users {
        let checks = [
            c("facts", &["facts"]),
            c("usr", &["try-write", "/usr/claims"]),
            c("etc", &["try-write", "/etc/claims"]),
            c("tmp", &["try-write", "/tmp/claims"]),
            c("marker", &["try-read", &format!("/tmp/{marker}")]),
            c("ptrace", &["try-syscall", "ptrace", "0"]),
            c("mount", &["try-mount", "/tmp"]),
            c("connect", &["try-connect", &port]),
        ];
        let mut cmd = TestCommand::run(&p, &["/bin/sh", "-c", &script(&checks)]);
        if let Some((u, g)) = user {
            cmd = cmd.with_user(*u, *g);
        }
        let out = cmd.output();
        assert!(out.status.success(), "{}", stderr(&out));
        let r = parse(&out);
        let facts = &r["facts"];
        own_namespaces(facts, false);
        loopback_only(facts);
        locked_down(facts);
        read_only_mount(facts, "/usr");
        read_only_mount(facts, "/etc");
        refused(&r, "usr");
        refused(&r, "etc");
        assert_eq!(mount_at(facts, "/tmp")["fstype"], "tmpfs");
        assert_eq!(r["tmp"]["ok"], true, "{}", r["tmp"]);
        assert_eq!(errno(&r, "marker"), "ENOENT", "the host's /tmp shows");
        assert_eq!(errno(&r, "ptrace"), "EPERM", "default seccomp");
        assert_eq!(errno(&r, "mount"), "EPERM");
        assert_eq!(r["connect"]["ok"], false, "reached the host's loopback");
    }
    let _ = std::fs::remove_file(Path::new("/tmp").join(&marker));
}

#[test]
fn cargo_build() {
    if need_root() || need_sandbox() {
        return;
    }
    let dir = TempDir::new("claims-cargo");
    for d in ["home/.cargo", "home/.rustup", "work"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    let (home, work) = (dir.join("home"), dir.join("work"));
    let (_l, port) = host_listener();
    let report = dir.join("report.json");
    let p = with_probe(&dir, "cargo-build.toml");
    let w = |f: &str| work.join(f).display().to_string();
    let h = |f: &str| home.join(f).display().to_string();
    let checks = [
        c("facts", &["facts"]),
        c("src", &["try-write", &w("written")]),
        c("root", &["try-write", "/claims"]),
        c("cargo", &["try-write", &h(".cargo/x")]),
        c("rustup", &["try-write", &h(".rustup/x")]),
        c("connect", &["try-connect", &port]),
    ];
    let mut cmd = TestCommand::new([
        "run".as_ref(),
        p.as_os_str(),
        "--report".as_ref(),
        report.as_os_str(),
        "--".as_ref(),
        "/bin/sh".as_ref(),
        "-c".as_ref(),
        script(&checks).as_ref(),
    ])
    .current_dir(&work);
    for (k, v) in [
        ("HOME", home.to_str().unwrap()),
        ("CARGO_CLAIMS", "1"),
        ("RUSTFLAGS", "-Cclaims"),
        ("SECRET_CLAIMS", "1"),
    ] {
        cmd = cmd.env(k, v);
    }
    let out = cmd.output();
    assert!(out.status.success(), "{}", stderr(&out));
    let r = parse(&out);
    let facts = &r["facts"];
    own_namespaces(facts, false);
    loopback_only(facts);
    locked_down(facts);
    read_only_mount(facts, "/");
    assert_eq!(r["src"]["ok"], true, "{}", r["src"]);
    assert!(work.join("written").exists(), "the write reached the tree");
    for l in ["root", "cargo", "rustup"] {
        refused(&r, l);
    }
    assert_eq!(r["connect"]["ok"], false);
    assert_eq!(env_of(facts, "CARGO_CLAIMS"), Some("1"));
    assert_eq!(env_of(facts, "RUSTFLAGS"), Some("-Cclaims"));
    assert_eq!(env_of(facts, "SECRET_CLAIMS"), None, "env is cleared");
    // As root here the limits are enforced: the report lists nothing skipped.
    let rep: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert!(rep["cgroup"]["version"].is_u64(), "{:#}", rep["cgroup"]);
    assert_eq!(rep["cgroup"]["not_enforced"], serde_json::json!([]));
}

#[test]
fn git_clone() {
    if need_root() || need_sandbox() {
        return;
    }
    let dir = TempDir::new("claims-git");
    let (_l, port) = host_listener();
    let p = with_probe(&dir, "git-clone.toml");
    let checks = [
        c("facts", &["facts"]),
        c("cwd", &["try-write", &dir.join("x").display().to_string()]),
        c("root", &["try-write", "/claims"]),
        c("tmp", &["try-write", "/tmp/x"]),
        c("connect", &["try-connect", &port]),
    ];
    let (r, _) = probe(&p, dir.path(), &[], &checks);
    let facts = &r["facts"];
    own_namespaces(facts, false);
    loopback_only(facts);
    locked_down(facts);
    read_only_mount(facts, "/");
    refused(&r, "root");
    assert_eq!(r["cwd"]["ok"], true);
    assert_eq!(r["tmp"]["ok"], true);
    assert_eq!(r["connect"]["ok"], false, "a direct route to the host");
    assert_eq!(env_of(facts, "HOME"), Some("/tmp"));
    assert_eq!(env_of(facts, "GIT_CONFIG_NOSYSTEM"), Some("1"));
    assert_eq!(env_of(facts, "HTTPS_PROXY"), Some("http://127.0.0.1:3128"));
}

#[test]
fn npm_ci() {
    if need_root() || need_sandbox() {
        return;
    }
    let dir = TempDir::new("claims-npm");
    let p = with_probe(&dir, "npm-ci.toml");
    let checks = [
        c("facts", &["facts"]),
        c("cwd", &["try-write", &dir.join("x").display().to_string()]),
        c("root", &["try-write", "/claims"]),
        c("connect", &["try-connect", "9"]),
        c("bind", &["try-bind", "8000"]),
    ];
    let (r, _) = probe(&p, dir.path(), &[], &checks);
    let facts = &r["facts"];
    own_namespaces(facts, false);
    loopback_only(facts);
    locked_down(facts);
    read_only_mount(facts, "/");
    refused(&r, "root");
    assert_eq!(r["cwd"]["ok"], true);
    assert_eq!(env_of(facts, "npm_config_cache"), Some("/tmp/npm-cache"));
    if landlock_net() {
        assert_eq!(errno(&r, "connect"), "EACCES", "Landlock connect-tcp");
        assert_eq!(errno(&r, "bind"), "EACCES", "Landlock bind-tcp");
    } else {
        assert_eq!(r["connect"]["ok"], false);
    }
    let plan = plan_json(&shipped("npm-ci.toml"));
    let argv = plan["process"]["argv"].as_array().unwrap();
    assert!(argv.iter().any(|a| a == "--ignore-scripts"), "{argv:?}");
}

#[test]
fn pip_fetch_build() {
    if need_root() || need_sandbox() {
        return;
    }
    let dir = TempDir::new("claims-pip");
    let (_l, port) = host_listener();
    // `-- CMD` cannot replace a phase's command: a copy with the probe in both phases.
    let text = std::fs::read_to_string(shipped("pip-fetch-build.toml")).unwrap();
    let checks = [
        c("facts", &["facts"]),
        c("cwd", &["try-write", &dir.join("x").display().to_string()]),
        c("root", &["try-write", "/claims"]),
        c("connect", &["try-connect", &port]),
    ];
    let cmd = serde_json::to_string(&["/bin/sh", "-c", &script(&checks)]).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        if line.starts_with("command = ") {
            out.push_str(&format!("command = {cmd}\n"));
        } else if line.starts_with("extends = ") {
            let base = shipped("base/minimal.toml");
            out.push_str(&format!("extends = [\"{}\"]\n", base.display()));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    let out = out.replace("exec = [\"/usr\"]", "exec = [\"/usr\", \"/probe\"]");
    let out = out.replacen(
        "[[phase]]",
        &format!(
            "[[mount]]\ntype = \"bind\"\nsource = \"{}\"\ntarget = \"/probe\"\nread-only = true\n\n[[phase]]",
            probe_dir().display()
        ),
        1,
    );
    let p = dir.join("pip.toml");
    std::fs::write(&p, out).unwrap();
    for phase in ["fetch", "build"] {
        let o = TestCommand::new([
            "run".as_ref(),
            p.as_os_str(),
            "--phase".as_ref(),
            phase.as_ref(),
        ])
        .current_dir(dir.path())
        .output();
        assert!(o.status.success(), "{phase}: {}", stderr(&o));
        let r = parse(&o);
        let facts = &r["facts"];
        own_namespaces(facts, false);
        loopback_only(facts);
        read_only_mount(facts, "/");
        refused(&r, "root");
        assert_eq!(r["cwd"]["ok"], true);
        assert_eq!(r["connect"]["ok"], false);
        let proxy = env_of(facts, "HTTPS_PROXY");
        match phase {
            "fetch" => assert_eq!(proxy, Some("http://127.0.0.1:3128")),
            _ => assert_eq!(proxy, None, "the build phase has no proxy"),
        }
    }
}

#[test]
fn notify_daemon() {
    if need_root() || need_sandbox() {
        return;
    }
    let dir = TempDir::new("claims-notify");
    let p = with_probe(&dir, "notify-daemon.toml");
    let checks = [c("facts", &["facts"]), c("root", &["try-write", "/claims"])];
    let (r, _) = probe(&p, dir.path(), &[], &checks);
    let facts = &r["facts"];
    own_namespaces(facts, false);
    loopback_only(facts);
    locked_down(facts);
    read_only_mount(facts, "/");
    refused(&r, "root");
}

fn www(dir: &TempDir) -> String {
    let www = dir.join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("index.html"), "hello\n").unwrap();
    www.display().to_string()
}

#[test]
fn web_static_socket() {
    if need_root() || need_sandbox() {
        return;
    }
    let dir = TempDir::new("claims-wss");
    let www = www(&dir);
    let (_l, port) = host_listener();
    let p = with_probe(&dir, "web-static-socket.toml");
    let checks = [
        c("facts", &["facts"]),
        c("root", &["try-write", "/claims"]),
        c("www", &["try-write", "/srv/www/index.html"]),
        c("connect", &["try-connect", &port]),
        c("bind", &["try-bind", "8080"]),
    ];
    let (r, _) = probe(&p, dir.path(), &[("STOCKADE_WWW", &www)], &checks);
    let facts = &r["facts"];
    own_namespaces(facts, false);
    loopback_only(facts);
    locked_down(facts);
    read_only_mount(facts, "/");
    read_only_mount(facts, "/srv/www");
    refused(&r, "root");
    refused(&r, "www");
    assert_eq!(r["connect"]["ok"], false);
    if landlock_net() {
        assert_eq!(errno(&r, "bind"), "EACCES", "Landlock bind-tcp = []");
    }
}

#[test]
fn web_static() {
    if need_root() || need_sandbox() {
        return;
    }
    if !landlock_net() {
        // On such a kernel the run must fail instead: tests/vm/claims.test.sh checks that.
        skip("web-static needs Landlock ABI 4 (Linux 6.7)");
        return;
    }
    let dir = TempDir::new("claims-web");
    let www = www(&dir);
    let (l, port) = host_listener();
    // The control: the host's listener takes connections.
    assert!(std::net::TcpStream::connect(l.local_addr().unwrap()).is_ok());
    let p = with_probe(&dir, "web-static.toml");
    let sock = |label, args: &[&str]| {
        let mut a = vec!["try-syscall", "socket"];
        a.extend_from_slice(args);
        c(label, &a)
    };
    let checks = [
        c("facts", &["facts"]),
        c("root", &["try-write", "/claims"]),
        c("www", &["try-write", "/srv/www/index.html"]),
        c("tmp", &["try-write", "/tmp/x"]),
        c("bind8081", &["try-bind", "8081"]),
        c("bind8080", &["try-bind", "8080"]),
        c("connect", &["try-connect", &port]),
        sock("udp4", &["2", "2", "0"]),
        sock("udp6", &["10", "0x80002", "0"]),
        sock("ping", &["2", "2", "1"]),
        sock("raw", &["10", "3", "58"]),
        sock("sctp", &["2", "1", "132"]),
        sock("mptcp", &["10", "1", "262"]),
        sock("vsock", &["40", "1", "0"]),
        sock("packet", &["17", "3", "0"]),
        sock("high", &["0x100000002", "1", "0"]),
        sock("tcp4", &["2", "0x80801", "0"]),
        sock("tcp6", &["10", "1", "6"]),
        sock("unix", &["1", "1", "0"]),
    ];
    let (r, _) = probe(&p, dir.path(), &[("STOCKADE_WWW", &www)], &checks);
    let facts = &r["facts"];
    own_namespaces(facts, true);
    locked_down(facts);
    assert_eq!(facts["uid"], serde_json::json!([1000, 1000, 1000]));
    read_only_mount(facts, "/");
    read_only_mount(facts, "/srv/www");
    refused(&r, "root");
    refused(&r, "www");
    assert_eq!(r["tmp"]["ok"], true, "the private /tmp");
    assert_eq!(errno(&r, "bind8081"), "EACCES");
    // 8080 is allowed; something else on this host may hold it.
    let e8080 = errno(&r, "bind8080");
    assert!(e8080 == "none" || e8080 == "EADDRINUSE", "{e8080}");
    assert_eq!(errno(&r, "connect"), "EACCES", "outgoing TCP");
    for s in [
        "udp4", "udp6", "ping", "raw", "sctp", "mptcp", "vsock", "packet", "high",
    ] {
        assert_eq!(errno(&r, s), "EACCES", "socket {s}: {}", r[s]);
    }
    for s in ["tcp4", "tcp6", "unix"] {
        assert!(r[s]["ret"].is_i64(), "socket {s} must work: {}", r[s]);
    }
    // 64 tasks, from inside: the 80th background sleep cannot start.
    let out = TestCommand::run(
        &p,
        &[
            "/bin/sh",
            "-c",
            "n=0; for i in $(seq 80); do /bin/sleep 5 & n=$((n+1)); done 2>/dev/null; echo started=$n",
        ],
    )
    .env("STOCKADE_WWW", &www)
    .output();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("started=80"),
        "80 tasks under pids = 64: {text} {}",
        stderr(&out)
    );
}

/// Wall-time limits and cgroup limits the descriptions name, as the plan resolves them.
#[test]
fn limits_in_the_plan() {
    const GIB: u64 = 1 << 30;
    for (name, timeout_ms, memory) in [
        ("cargo-build.toml", 3_600_000, 4 * GIB),
        ("git-clone.toml", 900_000, GIB),
        ("npm-ci.toml", 1_800_000, 2 * GIB),
        ("web-static.toml", 0, 256 << 20),
    ] {
        let plan = plan_json(&shipped(name));
        if timeout_ms > 0 {
            assert_eq!(plan["process"]["timeout_ms"], timeout_ms, "{name}");
        }
        assert_eq!(plan["resources"]["memory_max"], memory, "{name}");
    }
    // A phased profile's plan is one per phase: 15 min and 1 GiB each.
    let pip = plan_json(&shipped("pip-fetch-build.toml"));
    let phases = pip.as_array().expect("one plan per phase");
    assert_eq!(phases.len(), 2);
    for ph in phases {
        assert_eq!(
            ph["plan"]["process"]["timeout_ms"], 900_000,
            "{}",
            ph["phase"]
        );
        assert_eq!(
            ph["plan"]["resources"]["memory_max"], GIB,
            "{}",
            ph["phase"]
        );
    }
    let web = plan_json(&shipped("web-static.toml"));
    assert_eq!(web["resources"]["pids_max"], 64);
    assert_eq!(
        web["resources"]["cpu_quota_us"],
        web["resources"]["cpu_period_us"]
    );
    let cargo = plan_json(&shipped("cargo-build.toml"));
    assert_eq!(cargo["resources"]["pids_max"], 512);
}

/// busybox-container's header: "a minimal /dev and a private /tmp" (64 MiB).
#[test]
fn busybox_container_dev_and_tmp() {
    if need_root() || need_sandbox() {
        return;
    }
    let dir = TempDir::new("claims-bb");
    let Some(rootfs) = busybox_rootfs(&dir) else {
        skip("a static busybox is needed (package busybox-static)");
        return;
    };
    let out = TestCommand::run(
        &shipped("busybox-container.toml"),
        &[
            "/bin/sh",
            "-c",
            "ls /dev; echo ---; grep ' /tmp ' /proc/mounts; touch /tmp/x && echo tmp-writable",
        ],
    )
    .env("STOCKADE_BUSYBOX_ROOT", &rootfs)
    .output();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let (dev, tmp) = text.split_once("---").unwrap();
    let dev: Vec<&str> = dev.split_whitespace().collect();
    for want in ["null", "zero", "urandom", "tty"] {
        assert!(dev.contains(&want), "no /dev/{want}: {dev:?}");
    }
    for host_only in ["sda", "vda", "mem", "kmsg", "kvm", "nvme0"] {
        assert!(
            !dev.contains(&host_only),
            "/dev/{host_only} of the host: {dev:?}"
        );
    }
    assert!(
        tmp.contains(" /tmp tmpfs ") && tmp.contains("size=65536k"),
        "{tmp}"
    );
    assert!(tmp.contains("tmp-writable"), "{tmp}");
}
