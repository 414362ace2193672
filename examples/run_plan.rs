//! Development driver for the executor: builds a strict-like Plan in Rust and runs it.
//!
//! `cargo run --example run_plan -- [--no-init] [--ro-root] [--timeout MS] -- CMD ARGS...`

use std::path::PathBuf;
use stockade::exec::{run, RunOptions};
use stockade::host::HostFacts;
use stockade::plan::*;

/// A bind of a host path; a host path that is a symlink (`/bin -> usr/bin` on merged-/usr
/// hosts) is bound from what it points to, as a profile with `follow-symlinks = true`
/// would be: the executor never follows links in host paths itself.
fn bind(src: &str, ro: bool) -> MountPlan {
    let source = std::fs::canonicalize(src).unwrap_or_else(|_| PathBuf::from(src));
    MountPlan {
        target: PathBuf::from(src),
        flags: MountFlags {
            read_only: ro,
            nosuid: true,
            nodev: true,
            noexec: false,
        },
        op: MountOp::Bind {
            source,
            recursive: true,
            optional: true,
        },
        links_followed: Vec::new(),
    }
}

fn simple(target: &str, op: MountOp) -> MountPlan {
    MountPlan {
        target: PathBuf::from(target),
        flags: MountFlags::default(),
        op,
        links_followed: Vec::new(),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sep = args.iter().position(|a| a == "--").unwrap_or(args.len());
    let (opts, cmd) = (&args[..sep], args.get(sep + 1..).unwrap_or(&[]));
    let host = HostFacts::probe();
    let mut plan_init = true;
    let mut ro_root = false;
    let mut timeout_ms = None;
    let mut it = opts.iter();
    while let Some(o) = it.next() {
        match o.as_str() {
            "--no-init" => plan_init = false,
            "--ro-root" => ro_root = true,
            "--timeout" => timeout_ms = it.next().and_then(|v| v.parse().ok()),
            other => {
                eprintln!("unknown option {other}");
                std::process::exit(2);
            }
        }
    }
    let mut mounts = vec![
        bind("/usr", true),
        bind("/lib", true),
        bind("/lib64", true),
        bind("/bin", true),
        bind("/etc", true),
        simple("/proc", MountOp::Proc { unmasked: false }),
        simple("/dev", MountOp::Dev),
        simple(
            "/tmp",
            MountOp::Tmpfs {
                size: Some(1 << 20),
                mode: 0o1777,
            },
        ),
        simple("/srv/data", MountOp::Dir { mode: 0o750 }),
        simple(
            "/srv/hello.txt",
            MountOp::File {
                content: "hello\n".into(),
                mode: 0o640,
            },
        ),
        simple(
            "/srv/link",
            MountOp::Symlink {
                link: "hello.txt".into(),
            },
        ),
    ];
    let probe = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/debug");
    mounts.push(bind(probe.to_str().unwrap_or("/"), true));
    let mut steps = vec![
        Step::WriteIdMaps,
        Step::MakeMountsPrivate,
        Step::PrepareRoot,
    ];
    steps.extend((0..mounts.len()).map(Step::Mount));
    steps.push(Step::PivotRoot);
    if ro_root {
        steps.push(Step::RootReadOnly);
    }
    steps.extend([
        Step::MaskPaths,
        Step::ReadOnlyPaths,
        Step::SetHostname,
        Step::NewSession,
        Step::SetUmask,
        Step::SwitchUser,
        Step::Chdir,
        Step::NoNewPrivs,
        Step::Exec,
    ]);
    let plan = Plan {
        source: "example".into(),
        description: None,
        process: ProcessPlan {
            argv: cmd.to_vec(),
            env: vec![("PATH".into(), "/usr/bin:/bin".into())],
            cwd: PathBuf::from("/"),
            uid: 0,
            gid: 0,
            groups: vec![],
            umask: 0o022,
            new_session: true,
            terminal: Terminal::Never,
            init: plan_init,
            die_with_parent: true,
            timeout_ms,
            kill_signal: Signal {
                number: 15,
                name: "SIGTERM".into(),
            },
            grace_ms: 1000,
        },
        namespaces: NamespacePlan {
            user: true,
            mount: true,
            pid: true,
            net: true,
            ipc: true,
            uts: true,
            cgroup: true,
            time: true,
            uid_map: vec![IdMap {
                inside: 0,
                outside: host.uid,
                count: 1,
            }],
            gid_map: vec![IdMap {
                inside: 0,
                outside: host.gid,
                count: 1,
            }],
            uid_map_helper: false,
            gid_map_helper: false,
            time_offsets: TimeOffsets {
                monotonic: 86400,
                boottime: 0,
            },
        },
        network: NetworkMode::None,
        egress: None,
        root: RootPlan {
            kind: RootKind::Tmpfs,
            read_only: ro_root,
        },
        hostname: Some("example".into()),
        domainname: None,
        mounts,
        masked_paths: vec![PathBuf::from("/etc/shadow"), PathBuf::from("/srv/data")],
        read_only_paths: vec![PathBuf::from("/srv")],
        protected_paths: vec![],
        unprotected_paths: vec![],
        resources: None,
        rlimits: vec![],
        seccomp: None,
        landlock: None,
        capabilities: CapsPlan {
            keep: vec![],
            ambient: vec![],
            no_new_privs: true,
        },
        systemd: SystemdPlan {
            notify_socket: None,
            listen_fds: None,
            forward_manager_signals: false,
            notify_all: false,
        },
        warnings: vec![],
        steps,
    };
    match run(&plan, &host, &RunOptions::default()) {
        Ok(o) => std::process::exit(o.exit_code),
        Err(e) => {
            eprintln!("stockade: {e}");
            std::process::exit(e.exit_code());
        }
    }
}
