//! Exported bundles run under the real runtimes (runc and crun), and what the payload sees
//! inside is what the Plan says: ids, hostname, cwd, umask, env, capabilities, no_new_privs,
//! seccomp denials with their errno, rlimits, mounts and their flags, masked and read-only
//! paths, the rootfs entries and bundle files. The payload is busybox from the host's /usr.
//!
//! The comparison with `stockade run` itself (same facts through the probe) lives in the
//! differential tests; this file proves the bundle half on its own.

mod oci_support;

use oci_support::{minimal_plan, skip, Runtime};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use stockade::oci::export_bundle;
use stockade::plan::*;

const BUSYBOX: &str = "/usr/bin/busybox";

/// Prints `key=value` facts, one per line.
const SCRIPT: &str = r#"
echo "ids=$(id -u) $(id -g) $(id -G)"
echo "hostname=$(hostname)"
echo "cwd=$(pwd)"
echo "umask=$(umask)"
echo "env=$(env | grep -v -E '^(PWD|SHLVL|_)=' | sort | tr '\n' ' ')"
grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status | tr -d '\t' | sed 's/:/=/'
echo "nofile=$(ulimit -n) $(ulimit -Hn)"
echo "greeting=$(cat /etc/greeting)"
touch /tmp/x && chmod 600 /tmp/x 2>/tmp/err; echo "chmod=$? $(cat /tmp/err)"
echo "work=$(stat -c '%a %F' /work)"
echo "binlink=$(readlink /bin)"
echo "keys=$(stat -c '%F %t:%T' /proc/keys 2>&1)"
echo x 2>/dev/null >/proc/sysrq-trigger; echo "sysrq=$?"
echo "devnull=$(stat -c '%F %t:%T' /dev/null)"
echo "shm=$(stat -c '%a' /dev/shm)"
for m in /usr /tmp /proc /dev /dev/pts /dev/shm /etc/greeting; do
  echo "mount $m=$(awk -v m="$m" '$5 == m { split($6, o, ","); s=""; for (i in o) if (o[i] ~ /^(ro|rw|nosuid|nodev|noexec)$/) s = s o[i] " "; print s }' /proc/self/mountinfo | tr ' ' '\n' | sort | tr '\n' ' ')"
done
echo "lo=$(cat /sys/class/net/lo/operstate 2>/dev/null || ip -o link show lo | grep -c UP)"
echo "session=$(cut -d' ' -f6 /proc/$$/stat) $$"
"#;

fn runtime_plan() -> Plan {
    let mut p = minimal_plan();
    p.source = "test:runtimes".into();
    p.process.argv = vec![BUSYBOX.into(), "sh".into(), "-c".into(), SCRIPT.into()];
    p.process.env = vec![
        ("FOO".into(), "bar baz".into()),
        ("HOME".into(), "/work".into()),
        ("PATH".into(), "/usr/bin".into()),
    ];
    p.process.cwd = "/work".into();
    p.process.uid = 1000;
    p.process.gid = 1000;
    p.process.groups = vec![1000, 10];
    p.process.umask = 0o027;
    p.namespaces.user = true;
    p.namespaces.pid = true;
    p.namespaces.ipc = true;
    p.namespaces.uts = true;
    p.namespaces.net = true;
    p.namespaces.cgroup = true;
    p.namespaces.uid_map = vec![IdMap {
        inside: 0,
        outside: 200_000,
        count: 65_536,
    }];
    p.namespaces.gid_map = p.namespaces.uid_map.clone();
    p.network = NetworkMode::None;
    p.hostname = Some("oci-test".into());
    let flags = |read_only, nosuid, nodev, noexec| MountFlags {
        read_only,
        nosuid,
        nodev,
        noexec,
    };
    let m = |target: &str, flags, op| MountPlan {
        target: target.into(),
        flags,
        op,
        links_followed: Vec::new(),
    };
    p.mounts = vec![
        m(
            "/usr",
            flags(true, true, true, false),
            MountOp::Bind {
                source: "/usr".into(),
                recursive: true,
                optional: false,
            },
        ),
        m(
            "/bin",
            MountFlags::default(),
            MountOp::Symlink {
                link: "usr/bin".into(),
            },
        ),
        m(
            "/proc",
            flags(false, true, true, true),
            MountOp::Proc { unmasked: false },
        ),
        m("/dev", flags(false, true, false, false), MountOp::Dev),
        m(
            "/tmp",
            flags(false, true, true, true),
            MountOp::Tmpfs {
                size: Some(16 << 20),
                mode: 0o1777,
            },
        ),
        m("/work", MountFlags::default(), MountOp::Dir { mode: 0o750 }),
        m(
            "/etc/greeting",
            flags(true, true, true, false),
            MountOp::File {
                content: "hello from the bundle\n".into(),
                mode: 0o644,
            },
        ),
    ];
    p.rlimits = vec![RlimitPlan {
        name: "RLIMIT_NOFILE".into(),
        resource: libc::RLIMIT_NOFILE,
        soft: 64,
        hard: 128,
    }];
    p.seccomp = Some(SeccompPlan {
        default_action: SeccompAction::Allow,
        rules: ["chmod", "fchmodat"]
            .iter()
            .map(|s| SeccompRulePlan {
                syscall: s.to_string(),
                action: SeccompAction::Errno { errno: libc::EXDEV },
                args: vec![],
            })
            .collect(),
        extra_architectures: vec![],
        log: false,
    });
    p.capabilities = CapsPlan {
        keep: vec![Cap {
            number: 10,
            name: "CAP_NET_BIND_SERVICE".into(),
        }],
        ambient: vec![Cap {
            number: 10,
            name: "CAP_NET_BIND_SERVICE".into(),
        }],
        no_new_privs: true,
    };
    p.resources = Some(ResourcePlan {
        compat: Compat::Required,
        memory_max: Some(64 << 20),
        memory_high: None,
        memory_swap_max: None,
        cpu_quota_us: Some(50_000),
        cpu_period_us: 100_000,
        cpu_weight: None,
        pids_max: Some(32),
        io_weight: None,
        cpuset_cpus: None,
        cpuset_mems: None,
    });
    p
}

fn facts(stdout: &str) -> BTreeMap<String, String> {
    stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn bundle_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("stockade-oci-rt-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn run_in(rt: Runtime, plan: &Plan, bundle: &Path) -> BTreeMap<String, String> {
    export_bundle(plan, bundle, false).expect("export");
    let id = format!("stockade-oci-{}-{}", rt.name(), std::process::id());
    let (code, out, err) = rt.run(bundle, &id);
    let _ = std::fs::remove_dir_all(bundle);
    assert_eq!(
        code,
        0,
        "{} failed:\nstdout:\n{out}\nstderr:\n{err}",
        rt.name()
    );
    facts(&out)
}

fn check(rt: Runtime) {
    if let Err(reason) = rt.available() {
        return skip(&reason);
    }
    if !Path::new(BUSYBOX).exists() {
        return skip("busybox-static is not installed");
    }
    let f = run_in(rt, &runtime_plan(), &bundle_dir(rt.name()));
    let expect = [
        ("ids", "1000 1000 1000 10"),
        ("hostname", "oci-test"),
        ("cwd", "/work"),
        ("umask", "0027"),
        ("env", "FOO=bar baz HOME=/work PATH=/usr/bin"),
        ("CapInh", "0000000000000400"),
        ("CapPrm", "0000000000000400"),
        ("CapEff", "0000000000000400"),
        ("CapBnd", "0000000000000400"),
        ("CapAmb", "0000000000000400"),
        ("NoNewPrivs", "1"),
        ("Seccomp", "2"),
        ("nofile", "64 128"),
        ("greeting", "hello from the bundle"),
        ("chmod", "1 chmod: /tmp/x: Invalid cross-device link"),
        ("work", "750 directory"),
        ("binlink", "usr/bin"),
        ("keys", "character special file 1:3"),
        ("sysrq", "1"),
        ("devnull", "character special file 1:3"),
        ("shm", "1777"),
        ("mount /usr", "nodev nosuid ro"),
        ("mount /tmp", "nodev noexec nosuid rw"),
        ("mount /proc", "nodev noexec nosuid rw"),
        ("mount /dev", "noexec nosuid rw"),
        ("mount /dev/pts", "noexec nosuid rw"),
        ("mount /dev/shm", "nodev nosuid rw"),
        ("mount /etc/greeting", "nodev nosuid ro"),
        ("lo", "1"),
        ("session", "1 1"),
    ];
    let mut wrong = Vec::new();
    for (k, v) in expect {
        let got = f.get(k).map(String::as_str).unwrap_or("(missing)");
        if got.trim() != v {
            wrong.push(format!("{k}: expected `{v}`, got `{got}`"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{}: {}\nall facts: {f:#?}",
        rt.name(),
        wrong.join("\n")
    );
}

#[test]
fn runc_runs_the_bundle_as_planned() {
    check(Runtime::Runc);
}

#[test]
fn crun_runs_the_bundle_as_planned() {
    check(Runtime::Crun);
}
