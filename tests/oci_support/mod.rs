//! Shared helpers of the OCI tests: the official runtime-spec schema, and hand-built Plans
//! that cover every Plan element.
#![allow(dead_code)]

pub mod facts;

use serde_json::Value;
use std::path::PathBuf;
use stockade::plan::*;

/// `../shared/oci-runtime-spec-schema` beside the repository (or `$STOCKADE_SHARED/...`).
pub fn schema_dir() -> PathBuf {
    let shared = std::env::var_os("STOCKADE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    shared.join("oci-runtime-spec-schema")
}

/// A validator for `config.json` built from the local copy of the schema. The files are
/// draft-04 without `id` and refer to each other by file name, so each one is registered
/// under its `file://` URI and `config-schema.json`'s URI is the base (see SOURCE.md).
pub struct SchemaValidator {
    validator: jsonschema::Validator,
}

impl SchemaValidator {
    pub fn new() -> SchemaValidator {
        let dir = schema_dir();
        let dir = dir
            .canonicalize()
            .unwrap_or_else(|e| panic!("OCI schema copy {}: {e}", dir.display()));
        let mut builder = jsonschema::Registry::new();
        let mut root = None;
        let mut count = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let value: Value = serde_json::from_str(&text).unwrap();
            let uri = format!("file://{}", path.display());
            if path.file_name().unwrap() == "config-schema.json" {
                root = Some((uri.clone(), value.clone()));
            }
            builder = builder
                .add(&uri, jsonschema::Draft::Draft4.create_resource(value))
                .unwrap();
            count += 1;
        }
        assert!(
            count >= 13,
            "expected the 13 schema files in {}",
            dir.display()
        );
        let (root_uri, root_schema) = root.expect("config-schema.json in the schema copy");
        let registry = Box::leak(Box::new(builder.prepare().expect("schema registry")));
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .with_base_uri(root_uri)
            .with_registry(registry)
            .build(&root_schema)
            .expect("the OCI schema compiles");
        SchemaValidator { validator }
    }

    /// All schema errors of `config`, as `path: message` lines.
    pub fn errors(&self, config: &Value) -> Vec<String> {
        self.validator
            .iter_errors(config)
            .map(|e| format!("{}: {}", e.instance_path(), e))
            .collect()
    }

    pub fn assert_valid(&self, what: &str, config_json: &str) {
        let v: Value = serde_json::from_str(config_json).expect("config.json is JSON");
        let errors = self.errors(&v);
        assert!(
            errors.is_empty(),
            "{what}: config.json violates the OCI schema:\n{}\n{config_json}",
            errors.join("\n")
        );
    }
}

fn cap(number: u8, name: &str) -> Cap {
    Cap {
        number,
        name: name.into(),
    }
}

fn flags(read_only: bool, nosuid: bool, nodev: bool, noexec: bool) -> MountFlags {
    MountFlags {
        read_only,
        nosuid,
        nodev,
        noexec,
    }
}

fn mount(target: &str, flags: MountFlags, op: MountOp) -> MountPlan {
    MountPlan {
        target: target.into(),
        flags,
        op,
        links_followed: Vec::new(),
    }
}

/// The smallest sensible Plan: no namespaces but mount, tmpfs root, one command.
pub fn minimal_plan() -> Plan {
    Plan {
        source: "test:minimal".into(),
        description: None,
        process: ProcessPlan {
            argv: vec!["/bin/true".into()],
            env: vec![("PATH".into(), "/usr/bin:/bin".into())],
            cwd: "/".into(),
            uid: 0,
            gid: 0,
            groups: vec![],
            umask: 0o022,
            new_session: true,
            terminal: Terminal::Never,
            init: false,
            die_with_parent: false,
            timeout_ms: None,
            kill_signal: Signal {
                number: 15,
                name: "SIGTERM".into(),
            },
            grace_ms: 10_000,
        },
        namespaces: NamespacePlan {
            user: false,
            mount: true,
            pid: false,
            net: false,
            ipc: false,
            uts: false,
            cgroup: false,
            time: false,
            uid_map: vec![],
            gid_map: vec![],
            uid_map_helper: false,
            gid_map_helper: false,
            time_offsets: TimeOffsets::default(),
        },
        network: NetworkMode::Host,
        egress: None,
        root: RootPlan {
            kind: RootKind::Tmpfs,
            read_only: false,
        },
        hostname: None,
        domainname: None,
        mounts: vec![],
        masked_paths: vec![],
        read_only_paths: vec![],
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
        steps: vec![Step::Exec],
    }
}

/// A Plan using every element the export maps.
pub fn full_plan() -> Plan {
    let mut p = minimal_plan();
    p.source = "test:full".into();
    p.description = Some("every Plan element".into());
    p.process.argv = vec!["/bin/sh".into(), "-c".into(), "echo \"$HOME\"".into()];
    p.process.env = vec![
        ("HOME".into(), "/home/u".into()),
        ("PATH".into(), "/usr/bin:/bin".into()),
    ];
    p.process.cwd = "/work".into();
    p.process.uid = 1000;
    p.process.gid = 1000;
    p.process.groups = vec![10, 100];
    p.process.umask = 0o077;
    p.process.init = true;
    p.process.die_with_parent = true;
    p.process.timeout_ms = Some(90_000);
    p.process.kill_signal = Signal {
        number: 2,
        name: "SIGINT".into(),
    };
    p.process.grace_ms = 5_000;
    p.namespaces = NamespacePlan {
        user: true,
        mount: true,
        pid: true,
        net: true,
        ipc: true,
        uts: true,
        cgroup: true,
        time: true,
        uid_map: vec![IdMap {
            inside: 1000,
            outside: 1000,
            count: 1,
        }],
        gid_map: vec![IdMap {
            inside: 1000,
            outside: 1000,
            count: 1,
        }],
        uid_map_helper: false,
        gid_map_helper: false,
        time_offsets: TimeOffsets {
            monotonic: 3600,
            boottime: -60,
        },
    };
    p.network = NetworkMode::None;
    p.root.read_only = true;
    p.hostname = Some("sandbox".into());
    p.domainname = Some("example.org".into());
    let d = flags(false, true, true, false);
    p.mounts = vec![
        mount(
            "/usr",
            flags(true, true, true, false),
            MountOp::Bind {
                source: "/usr".into(),
                recursive: true,
                optional: false,
            },
        ),
        mount(
            "/lib64",
            flags(true, true, true, false),
            MountOp::Bind {
                source: "/lib64".into(),
                recursive: false,
                optional: true,
            },
        ),
        mount(
            "/bin",
            d,
            MountOp::Symlink {
                link: "usr/bin".into(),
            },
        ),
        mount(
            "/proc",
            flags(false, true, true, true),
            MountOp::Proc { unmasked: false },
        ),
        mount("/dev", flags(false, true, false, true), MountOp::Dev),
        mount(
            "/dev/mqueue",
            flags(false, true, true, true),
            MountOp::Mqueue,
        ),
        mount(
            "/tmp",
            flags(false, true, true, false),
            MountOp::Tmpfs {
                size: Some(64 << 20),
                mode: 0o1777,
            },
        ),
        mount("/tmp/cache", d, MountOp::Dir { mode: 0o700 }),
        mount(
            "/tmp/link",
            d,
            MountOp::Symlink {
                link: "/etc".into(),
            },
        ),
        mount("/work", d, MountOp::Dir { mode: 0o755 }),
        mount(
            "/etc/hosts",
            flags(true, true, true, false),
            MountOp::File {
                content: "127.0.0.1 localhost\n".into(),
                mode: 0o644,
            },
        ),
        mount(
            "/opt",
            flags(true, true, true, false),
            MountOp::Overlay {
                lower: vec!["/srv/a".into(), "/srv/b".into()],
                upper: None,
                work: None,
            },
        ),
    ];
    p.masked_paths = vec!["/proc/kcore".into(), "/proc/keys".into()];
    p.read_only_paths = vec!["/proc/sys".into()];
    p.resources = Some(ResourcePlan {
        compat: Compat::Required,
        memory_max: Some(512 << 20),
        memory_high: Some(384 << 20),
        memory_swap_max: Some(0),
        cpu_quota_us: Some(150_000),
        cpu_period_us: 100_000,
        cpu_weight: Some(100),
        pids_max: Some(64),
        io_weight: Some(200),
        cpuset_cpus: Some("0-1".into()),
        cpuset_mems: Some("0".into()),
    });
    p.rlimits = vec![
        RlimitPlan {
            name: "RLIMIT_NOFILE".into(),
            resource: 7,
            soft: 256,
            hard: 1024,
        },
        RlimitPlan {
            name: "RLIMIT_CORE".into(),
            resource: 4,
            soft: 0,
            hard: 0,
        },
        RlimitPlan {
            name: "RLIMIT_STACK".into(),
            resource: 3,
            soft: 8 << 20,
            hard: RLIM_UNLIMITED,
        },
    ];
    p.seccomp = Some(SeccompPlan {
        default_action: SeccompAction::Allow,
        rules: vec![
            SeccompRulePlan {
                syscall: "mount".into(),
                action: SeccompAction::Errno { errno: 1 },
                args: vec![],
            },
            SeccompRulePlan {
                syscall: "umount2".into(),
                action: SeccompAction::Errno { errno: 1 },
                args: vec![],
            },
            SeccompRulePlan {
                syscall: "ptrace".into(),
                action: SeccompAction::KillProcess,
                args: vec![],
            },
            SeccompRulePlan {
                syscall: "clone".into(),
                action: SeccompAction::Errno { errno: 38 },
                args: vec![SeccompArgPlan {
                    index: 0,
                    op: SeccompOp::MaskedEq,
                    value: 0x1000_0000,
                    mask: 0x1000_0000,
                }],
            },
            SeccompRulePlan {
                syscall: "personality".into(),
                action: SeccompAction::Errno { errno: 13 },
                args: vec![SeccompArgPlan {
                    index: 0,
                    op: SeccompOp::Ne,
                    value: 0,
                    mask: 0,
                }],
            },
        ],
        extra_architectures: vec!["x86".into(), "x32".into()],
        log: true,
    });
    p.landlock = Some(LandlockPlan {
        compat: Compat::Required,
        abi: 4,
        handled_fs: vec!["read-file".into(), "write-file".into()],
        paths: vec![LandlockPathPlan {
            path: "/usr".into(),
            access: vec!["read-file".into()],
            optional: false,
        }],
        bind_tcp: None,
        connect_tcp: Some(vec![443]),
        scopes: vec![],
        required: vec![],
    });
    p.capabilities = CapsPlan {
        keep: vec![cap(10, "CAP_NET_BIND_SERVICE"), cap(0, "CAP_CHOWN")],
        ambient: vec![cap(10, "CAP_NET_BIND_SERVICE")],
        no_new_privs: true,
    };
    p.systemd = SystemdPlan {
        notify_socket: Some("/run/systemd/notify".into()),
        listen_fds: None,
        forward_manager_signals: false,
        notify_all: false,
    };
    p
}

/// Skip a test that cannot run here: print `SKIP: reason`, or fail when
/// `STOCKADE_TEST_REQUIRE=1` (CI) demands that everything runs.
pub fn skip(reason: &str) {
    if std::env::var("STOCKADE_TEST_REQUIRE").as_deref() == Ok("1") {
        panic!("required test cannot run: {reason}");
    }
    eprintln!("SKIP: {reason}");
}

/// An OCI runtime the tests drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    Runc,
    Crun,
}

impl Runtime {
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Runc => "runc",
            Runtime::Crun => "crun",
        }
    }

    /// Whether the runtime is installed and we may use it (root).
    pub fn available(self) -> Result<(), String> {
        if !nix::unistd::geteuid().is_root() {
            return Err(format!("{} tests need root", self.name()));
        }
        let ok = std::process::Command::new(self.name())
            .arg("--version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if ok {
            Ok(())
        } else {
            Err(format!("{} is not installed", self.name()))
        }
    }

    /// `runtime run` the bundle in the foreground; returns (exit code, stdout, stderr).
    ///
    /// crun 1.8 refuses this machine's hybrid cgroup layout (v1 controllers plus an empty
    /// cgroup2 at /sys/fs/cgroup/unified), so it runs in a private mount namespace where
    /// that cgroup2 mount is unmounted; the host's mounts stay untouched (`unshare -m`
    /// makes the new namespace's mounts private).
    pub fn run(self, bundle: &std::path::Path, id: &str) -> (i32, String, String) {
        let mut cmd = match self {
            Runtime::Runc => {
                let mut c = std::process::Command::new("runc");
                c.arg("run").arg("--bundle").arg(bundle).arg(id);
                c
            }
            Runtime::Crun => {
                let mut c = std::process::Command::new("unshare");
                c.args(["-m", "--propagation", "private", "sh", "-c"])
                    .arg(
                        "if mountpoint -q /sys/fs/cgroup/unified; then \
                         umount /sys/fs/cgroup/unified || exit 125; fi; \
                         exec crun run --bundle \"$0\" \"$1\"",
                    )
                    .arg(bundle)
                    .arg(id);
                c
            }
        };
        cmd.stdin(std::process::Stdio::null());
        let out = cmd.output().expect("start the runtime");
        // A container left behind by a failure must not leak into the next test.
        let _ = std::process::Command::new(self.name())
            .args(["delete", "--force", id])
            .output();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// A directory removed when dropped, also when the test panics.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("stockade-oci-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }

    pub fn join(&self, p: impl AsRef<std::path::Path>) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
