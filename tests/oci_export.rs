//! OCI export of hand-built Plans: schema validity, determinism, the mapping of each element,
//! notes and strict mode, and what the bundle directory gets.

mod oci_support;

use oci_support::{full_plan, minimal_plan, SchemaValidator};
use serde_json::{json, Value};
use stockade::oci::{export_bundle, export_config, NoteKind, OciError};

fn config(plan: &stockade::plan::Plan) -> Value {
    serde_json::from_str(&export_config(plan).unwrap().config_json).unwrap()
}

#[test]
fn hand_built_plans_validate_against_the_oci_schema() {
    let schema = SchemaValidator::new();
    for (name, plan) in [("minimal", minimal_plan()), ("full", full_plan())] {
        schema.assert_valid(name, &export_config(&plan).unwrap().config_json);
    }
}

#[test]
fn the_schema_check_can_fail() {
    // Guard against a validator that accepts everything (e.g. unresolved $refs).
    let schema = SchemaValidator::new();
    let mut bad = config(&minimal_plan());
    bad["process"]["user"]["uid"] = json!("root");
    bad["linux"]["namespaces"][0]["type"] = json!("bogus");
    assert_eq!(schema.errors(&bad).len(), 2, "{:?}", schema.errors(&bad));
}

#[test]
fn export_is_deterministic() {
    let plan = full_plan();
    let first = export_config(&plan).unwrap().config_json;
    for _ in 0..20 {
        // HashMap/HashSet iteration order differs between instances; output must not.
        assert_eq!(first, export_config(&plan).unwrap().config_json);
    }
}

#[test]
fn oci_version_is_one_crun_1_8_accepts() {
    assert_eq!(config(&minimal_plan())["ociVersion"], "1.1.0");
}

#[test]
fn minimal_plan_exports_nothing_it_did_not_ask_for() {
    let c = config(&minimal_plan());
    // oci-spec's Default impls carry runc-style defaults (hostname "youki", masked paths,
    // rlimits, capabilities); none may leak into the bundle.
    assert!(c.get("hostname").is_none(), "{c:#}");
    assert_eq!(c["linux"]["maskedPaths"], json!([]));
    assert_eq!(c["linux"]["readonlyPaths"], json!([]));
    assert!(c["linux"].get("resources").is_none());
    assert!(c["linux"].get("seccomp").is_none());
    assert!(c["linux"].get("cgroupsPath").is_none());
    assert!(c["process"].get("rlimits").is_none());
    assert!(c["process"].get("apparmorProfile").is_none());
    assert_eq!(c["process"]["capabilities"]["bounding"], json!([]));
    assert_eq!(c["linux"]["namespaces"], json!([{"type": "mount"}]));
    assert_eq!(c["mounts"], json!([]));
    assert_eq!(c["root"], json!({"path": "rootfs", "readonly": false}));
}

#[test]
fn process_maps_every_field() {
    let c = config(&full_plan());
    let p = &c["process"];
    assert_eq!(p["args"], json!(["/bin/sh", "-c", "echo \"$HOME\""]));
    assert_eq!(p["env"], json!(["HOME=/home/u", "PATH=/usr/bin:/bin"]));
    assert_eq!(p["cwd"], "/work");
    assert_eq!(p["terminal"], false);
    assert_eq!(
        p["user"],
        json!({"uid": 1000, "gid": 1000, "umask": 0o077, "additionalGids": [10, 100]})
    );
    assert_eq!(p["noNewPrivileges"], true);
    let caps = &p["capabilities"];
    for set in ["bounding", "effective", "permitted", "inheritable"] {
        assert_eq!(
            caps[set],
            json!(["CAP_CHOWN", "CAP_NET_BIND_SERVICE"]),
            "{set}"
        );
    }
    assert_eq!(caps["ambient"], json!(["CAP_NET_BIND_SERVICE"]));
    assert_eq!(
        p["rlimits"],
        json!([
            {"type": "RLIMIT_NOFILE", "soft": 256, "hard": 1024},
            {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
            {"type": "RLIMIT_STACK", "soft": 8 << 20, "hard": u64::MAX},
        ])
    );
}

#[test]
fn linux_section_maps_namespaces_maps_and_paths() {
    let c = config(&full_plan());
    let l = &c["linux"];
    let types: Vec<&str> = l["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["user", "mount", "pid", "network", "ipc", "uts", "cgroup", "time"]
    );
    assert_eq!(
        l["uidMappings"],
        json!([{"containerID": 1000, "hostID": 1000, "size": 1}])
    );
    assert_eq!(
        l["timeOffsets"],
        json!({"boottime": {"secs": -60, "nanosecs": 0}, "monotonic": {"secs": 3600, "nanosecs": 0}})
    );
    // The Plan's own paths first, then what stockade's proc mount protects by itself.
    assert_eq!(
        l["maskedPaths"],
        json!([
            "/proc/kcore",
            "/proc/keys",
            "/proc/latency_stats",
            "/proc/timer_list",
            "/proc/timer_stats",
            "/proc/sched_debug",
            "/proc/acpi",
            "/proc/asound",
            "/proc/scsi"
        ])
    );
    assert_eq!(
        l["readonlyPaths"],
        json!([
            "/proc/sys",
            "/proc/sysrq-trigger",
            "/proc/irq",
            "/proc/bus",
            "/proc/fs"
        ])
    );
    assert_eq!(l["rootfsPropagation"], "private");
    assert_eq!(c["hostname"], "sandbox");
    assert_eq!(c["domainname"], "example.org");
    assert_eq!(c["root"], json!({"path": "rootfs", "readonly": true}));
}

#[test]
fn resources_use_the_runtimes_units() {
    let c = config(&full_plan());
    let r = &c["linux"]["resources"];
    assert_eq!(r["memory"]["limit"], 512 << 20);
    // OCI swap is memory + swap.
    assert_eq!(r["memory"]["swap"], 512 << 20);
    assert!(r["memory"].get("reservation").is_none());
    assert_eq!(r["cpu"]["quota"], 150_000);
    assert_eq!(r["cpu"]["period"], 100_000);
    // weight 100 → shares that runc/crun turn back into weight 100.
    assert_eq!(r["cpu"]["shares"], 2 + (99u64 * 262_142).div_ceil(9_999));
    assert_eq!(r["cpu"]["cpus"], "0-1");
    assert_eq!(r["cpu"]["mems"], "0");
    assert_eq!(r["pids"]["limit"], 64);
    assert_eq!(
        r["unified"],
        json!({"io.weight": "200", "memory.high": "402653184"})
    );
}

#[test]
fn seccomp_is_by_name_with_errno_and_args() {
    let c = config(&full_plan());
    let s = &c["linux"]["seccomp"];
    assert_eq!(s["defaultAction"], "SCMP_ACT_ALLOW");
    assert_eq!(
        s["architectures"],
        json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
    );
    assert_eq!(s["flags"], json!(["SECCOMP_FILTER_FLAG_LOG"]));
    assert_eq!(
        s["syscalls"],
        json!([
            {"names": ["mount", "umount2"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
            {"names": ["ptrace"], "action": "SCMP_ACT_KILL_PROCESS"},
            {"names": ["clone"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
             "args": [{"index": 0, "op": "SCMP_CMP_MASKED_EQ", "value": 0x1000_0000u64, "valueTwo": 0x1000_0000u64}]},
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
             "args": [{"index": 0, "op": "SCMP_CMP_NE", "value": 0}]},
        ])
    );
}

#[test]
fn errno_default_action_uses_default_errno_ret() {
    let mut plan = minimal_plan();
    plan.seccomp = Some(stockade::plan::SeccompPlan {
        default_action: stockade::plan::SeccompAction::Errno { errno: 38 },
        rules: vec![],
        extra_architectures: vec![],
        log: false,
    });
    let c = config(&plan);
    assert_eq!(
        c["linux"]["seccomp"],
        json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38, "architectures": ["SCMP_ARCH_X86_64"]})
    );
    SchemaValidator::new().assert_valid("errno default", &c.to_string());
}

#[test]
fn mounts_keep_order_options_and_map_the_special_types() {
    let c = config(&full_plan());
    let m = c["mounts"].as_array().unwrap();
    let summary: Vec<(String, String)> = m
        .iter()
        .map(|m| {
            (
                m["destination"].as_str().unwrap().to_string(),
                m["type"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expect = [
        ("/usr", "bind"),
        ("/lib64", "bind"),
        ("/proc", "proc"),
        ("/dev", "tmpfs"),
        ("/dev/pts", "devpts"),
        ("/dev/shm", "tmpfs"),
        ("/dev/mqueue", "mqueue"),
        ("/tmp", "tmpfs"),
        ("/tmp/cache", "tmpfs"), // a dir inside the /tmp tmpfs: OCI cannot mkdir there
        ("/etc/hosts", "bind"),
        ("/opt", "overlay"),
    ];
    let expect: Vec<(String, String)> = expect
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(summary, expect);
    assert_eq!(
        m[0]["options"],
        json!(["rbind", "ro", "nosuid", "nodev", "rro", "rnosuid", "rnodev"])
    );
    assert_eq!(m[1]["options"], json!(["bind", "ro", "nosuid", "nodev"]));
    assert_eq!(
        m[4]["options"],
        json!([
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620"
        ])
    );
    assert_eq!(
        m[3]["options"],
        json!(["nosuid", "noexec", "mode=0755", "size=65536"])
    );
    assert_eq!(m[5]["options"], json!(["nosuid", "nodev", "mode=1777"]));
    assert_eq!(
        m[7]["options"],
        json!(["nosuid", "nodev", "mode=1777", "size=67108864"])
    );
    assert_eq!(m[9]["source"], "files/10-hosts");
    assert_eq!(
        m[10]["options"],
        json!(["ro", "nosuid", "nodev", "lowerdir=/srv/a:/srv/b"])
    );
}

#[test]
fn what_oci_cannot_say_becomes_notes_and_annotations() {
    let exported = export_config(&full_plan()).unwrap();
    let c: Value = serde_json::from_str(&exported.config_json).unwrap();
    let a = &c["annotations"];
    let not_enforced: Vec<&str> = exported
        .notes
        .iter()
        .filter(|n| n.kind == NoteKind::NotEnforced)
        .map(|n| n.key.as_str())
        .collect();
    for key in [
        "org.stockade.landlock",
        "org.stockade.timeout",
        "org.stockade.init",
        "org.stockade.die-with-parent",
        "org.stockade.systemd",
        "org.stockade.rootfs", // the symlink inside /tmp
    ] {
        assert!(
            not_enforced.contains(&key),
            "{key} missing in {not_enforced:?}"
        );
        assert!(a.get(key).is_some(), "annotation {key} missing");
    }
    for n in &exported.notes {
        assert!(a.get(&n.key).is_some(), "note {n} has no annotation");
    }
    let landlock: Value =
        serde_json::from_str(a["org.stockade.landlock"].as_str().unwrap()).unwrap();
    assert_eq!(landlock["connect-tcp"], json!([443]));
    assert_eq!(landlock["paths"][0]["path"], "/usr");
    let timeout: Value = serde_json::from_str(a["org.stockade.timeout"].as_str().unwrap()).unwrap();
    assert_eq!(
        timeout,
        json!({"timeout-ms": 90000, "kill-signal": "SIGINT", "grace-ms": 5000})
    );
    // The minimal plan needs only the approximation of its tmpfs root.
    let minimal = export_config(&minimal_plan()).unwrap();
    assert!(minimal
        .notes
        .iter()
        .all(|n| n.kind == NoteKind::Approximated));
}

#[test]
fn strict_refuses_what_is_not_enforced_and_writes_nothing() {
    let dir = tempdir("strict");
    let bundle = dir.join("bundle");
    let err = export_bundle(&full_plan(), &bundle, true).unwrap_err();
    match &err {
        OciError::Strict(notes) => assert!(notes.iter().any(|n| n.key == "org.stockade.landlock")),
        other => panic!("expected a strict error, got {other}"),
    }
    assert!(err.to_string().contains("landlock"), "{err}");
    assert!(!bundle.exists());
    // Approximations alone pass strict.
    let notes = export_bundle(&minimal_plan(), &bundle, true).unwrap();
    assert!(!notes.is_empty());
}

#[test]
fn bundle_gets_config_rootfs_entries_and_files() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir("bundle");
    let bundle = dir.join("b");
    export_bundle(&full_plan(), &bundle, false).unwrap();
    let text = std::fs::read_to_string(bundle.join("config.json")).unwrap();
    assert_eq!(text, export_config(&full_plan()).unwrap().config_json);
    let rootfs = bundle.join("rootfs");
    assert_eq!(
        std::fs::read_link(rootfs.join("bin")).unwrap(),
        std::path::PathBuf::from("usr/bin")
    );
    let work = std::fs::metadata(rootfs.join("work")).unwrap();
    assert!(work.is_dir());
    assert_eq!(work.permissions().mode() & 0o7777, 0o755);
    assert!(
        !rootfs.join("tmp/link").exists(),
        "symlink inside a tmpfs mount cannot be made"
    );
    let hosts = bundle.join("files/10-hosts");
    assert_eq!(
        std::fs::read_to_string(&hosts).unwrap(),
        "127.0.0.1 localhost\n"
    );
    assert_eq!(
        std::fs::metadata(&hosts).unwrap().permissions().mode() & 0o7777,
        0o644
    );
    // A second export into the now non-empty bundle is refused and changes nothing.
    let err = export_bundle(&minimal_plan(), &bundle, false).unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");
    assert_eq!(
        std::fs::read_to_string(bundle.join("config.json")).unwrap(),
        text
    );
}

#[test]
fn failed_export_leaves_nothing_behind() {
    let dir = tempdir("fail");
    let bundle = dir.join("b");
    let mut plan = minimal_plan();
    // A dir below a symlink created earlier in rootfs must not follow it (it could point
    // outside the bundle): the export fails and removes the bundle it created.
    plan.mounts = vec![
        stockade::plan::MountPlan {
            target: "/x".into(),
            flags: Default::default(),
            op: stockade::plan::MountOp::Symlink {
                link: "/etc".into(),
            },
            links_followed: Vec::new(),
        },
        stockade::plan::MountPlan {
            target: "/x/y".into(),
            flags: Default::default(),
            op: stockade::plan::MountOp::Dir { mode: 0o755 },
            links_followed: Vec::new(),
        },
    ];
    let err = export_bundle(&plan, &bundle, false).unwrap_err();
    assert!(err.to_string().contains("not a directory"), "{err}");
    assert!(!bundle.exists());
    assert!(!std::path::Path::new("/etc/y").exists());
}

#[test]
fn empty_command_is_an_error() {
    let mut plan = minimal_plan();
    plan.process.argv.clear();
    let err = export_config(&plan).unwrap_err();
    assert!(err.to_string().contains("process.command"), "{err}");
}

fn tempdir(name: &str) -> oci_support::TempDir {
    oci_support::TempDir::new(name)
}

#[test]
fn read_only_submounts_are_repeated_for_crun_and_dropped_on_import() {
    use stockade::plan::{MountFlags, MountOp, MountPlan};
    let mut plan = minimal_plan();
    plan.read_only_paths = vec!["/etc".into()];
    plan.mounts = vec![
        MountPlan {
            target: "/etc/greeting".into(),
            flags: MountFlags {
                read_only: true,
                ..Default::default()
            },
            op: MountOp::File {
                content: "hi\n".into(),
                mode: 0o644,
            },
            links_followed: Vec::new(),
        },
        MountPlan {
            target: "/etc/cache".into(),
            flags: MountFlags::default(),
            op: MountOp::Tmpfs {
                size: None,
                mode: 0o755,
            },
            links_followed: Vec::new(),
        },
    ];
    let c = config(&plan);
    // The read-only file mount beneath /etc again (crun 1.8.1 loses its flags otherwise);
    // the writable tmpfs is left as it is.
    assert_eq!(
        c["linux"]["readonlyPaths"],
        json!(["/etc", "/etc/greeting"])
    );
    let profile: stockade::profile::Profile =
        toml::from_str(&stockade::oci::import(&c.to_string()).unwrap()).unwrap();
    assert_eq!(
        profile.filesystem.unwrap().read_only_paths,
        Some(vec!["/etc".to_string()])
    );
}
