//! OCI import: the generated profile is readable and means what the config says; what
//! stockade cannot honour is an error naming its JSON path.

mod oci_support;

use oci_support::full_plan;
use serde_json::{json, Value};
use stockade::compile::{compile, CompileOptions};
use stockade::host::HostFacts;
use stockade::oci::{export_config, import, import_bundle, OciError};
use stockade::profile::mount::MountKind;
use stockade::profile::Profile;

fn parse(toml_text: &str) -> Profile {
    toml::from_str(toml_text).unwrap_or_else(|e| panic!("{e}\n{toml_text}"))
}

/// A config a person could write for runc: things stockade can honour, nothing else.
fn handwritten() -> Value {
    json!({
        "ociVersion": "1.0.2",
        "root": {"path": "/srv/rootfs", "readonly": true},
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["/bin/sh", "-c", "echo $HOME"],
            "env": ["PATH=/usr/bin:/bin", "PRICE=$5"],
            "cwd": "/",
            "capabilities": {
                "bounding": ["CAP_KILL"], "effective": ["CAP_KILL"],
                "permitted": ["CAP_KILL"], "inheritable": ["CAP_KILL"], "ambient": []
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "hostname": "box",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "nodev", "mode=1777", "size=64m"]},
            {"destination": "/data", "type": "bind", "source": "/var/data",
             "options": ["rbind", "ro", "nosuid"]}
        ],
        "linux": {
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                           {"type": "uts"}, {"type": "mount"}],
            "resources": {"memory": {"limit": 268435456}, "pids": {"limit": 32},
                          "devices": []},
            "seccomp": {"defaultAction": "SCMP_ACT_ALLOW",
                        "syscalls": [{"names": ["ptrace"], "action": "SCMP_ACT_ERRNO"}]},
            "maskedPaths": ["/proc/kcore"],
            "cgroupsPath": "/box"
        },
        "hooks": {},
        "annotations": {"com.example.owner": "me"}
    })
}

fn import_err(config: &Value) -> String {
    match import(&config.to_string()) {
        Ok(p) => panic!("import succeeded:\n{p}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn generated_profile_is_commented_versioned_and_compiles() {
    let text = import(&handwritten().to_string()).unwrap();
    assert!(text.starts_with("#:schema "), "{text}");
    assert!(text.contains("\nversion = 1\n"), "{text}");
    // Every top-level table is introduced by a comment.
    let lines: Vec<&str> = text.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        let is_top = (l.starts_with('[') && !l[1..].contains('.') && !l.starts_with("[["))
            || *l == "[[mount]]";
        if is_top {
            assert!(
                lines[i - 1].starts_with('#'),
                "no comment above {l}:\n{text}"
            );
        }
    }
    // What was not imported is said, not dropped silently.
    assert!(text.contains("com.example.owner"), "{text}");
    assert!(text.contains("linux.cgroupsPath"), "{text}");

    let p = parse(&text);
    assert_eq!(
        p.filesystem.as_ref().unwrap().root.as_deref(),
        Some("/srv/rootfs")
    );
    assert_eq!(p.filesystem.as_ref().unwrap().read_only, Some(true));
    // `$` is literal in OCI and doubled for the profile's variable expansion.
    let set = p.env.as_ref().unwrap().set.as_ref().unwrap();
    assert_eq!(set["PRICE"], "$$5");
    assert_eq!(
        p.process.as_ref().unwrap().command.as_ref().unwrap()[2],
        "echo $$HOME"
    );
    // stockade's proc protects /proc/kcore by itself: not repeated.
    assert_eq!(p.filesystem.as_ref().unwrap().masked_paths, Some(vec![]));

    // And the profile compiles, to what the config said.
    let dir = oci_support::TempDir::new("import");
    let file = dir.join("imported.toml");
    std::fs::write(&file, &text).unwrap();
    let loaded = stockade::profile::load::load(file.to_str().unwrap()).unwrap();
    // The config has no user namespace: as for runc, that takes root.
    let mut root = HostFacts::fixed();
    (root.uid, root.gid) = (0, 0);
    let plan = compile(&loaded, &root, &CompileOptions::default())
        .unwrap_or_else(|d| panic!("{d}\n{text}"))
        .plan;
    drop(dir);
    assert_eq!(plan.process.argv, ["/bin/sh", "-c", "echo $HOME"]);
    assert!(plan.process.env.contains(&("PRICE".into(), "$5".into())));
    assert_eq!(plan.hostname.as_deref(), Some("box"));
    assert!(plan.namespaces.pid && plan.namespaces.net && !plan.namespaces.user);
    assert_eq!(plan.mounts.len(), 3);
    assert_eq!(
        plan.mounts[1].op,
        stockade::plan::MountOp::Tmpfs {
            size: Some(64 << 20),
            mode: 0o1777
        }
    );
    assert!(plan.mounts[2].flags.read_only && plan.mounts[2].flags.nosuid);
    assert!(!plan.mounts[2].flags.nodev);
    let r = plan.resources.unwrap();
    assert_eq!((r.memory_max, r.pids_max), (Some(256 << 20), Some(32)));
    let s = plan.seccomp.unwrap();
    assert_eq!(s.rules.len(), 1);
    assert_eq!(
        s.rules[0].action,
        stockade::plan::SeccompAction::Errno { errno: libc::EPERM }
    );
    assert_eq!(plan.capabilities.keep.len(), 1);
    assert_eq!(plan.rlimits.len(), 1);
}

#[test]
fn stockade_mount_types_come_back_from_the_annotations() {
    let text = import(&export_config(&full_plan()).unwrap().config_json).unwrap();
    let p = parse(&text);
    let kinds: Vec<MountKind> = p.mount.as_ref().unwrap().iter().map(|m| m.kind).collect();
    // Same order as the Plan: the dev helpers vanish, dir/symlink/file are restored.
    assert_eq!(
        kinds,
        [
            MountKind::Bind,
            MountKind::Bind,
            MountKind::Symlink,
            MountKind::Proc,
            MountKind::Dev,
            MountKind::Mqueue,
            MountKind::Tmpfs,
            MountKind::Dir,
            MountKind::Symlink,
            MountKind::Dir,
            MountKind::File,
            MountKind::Overlay,
        ]
    );
    let mounts = p.mount.unwrap();
    assert_eq!(mounts[1].optional, Some(true));
    assert_eq!(mounts[10].content.as_deref(), Some("127.0.0.1 localhost\n"));
    let process = p.process.unwrap();
    assert_eq!(process.timeout.as_deref(), Some("1m 30s"));
    assert_eq!(process.die_with_parent, Some(true));
    let landlock = p.landlock.unwrap();
    assert_eq!(landlock.connect_tcp, Some(vec![443]));
}

/// A modification of the hand-written config.
type Change = Box<dyn Fn(&mut Value)>;

#[test]
fn terminal_true_imports_as_a_pty_and_false_as_none() {
    let mut c = handwritten();
    c["process"]["terminal"] = json!(true);
    let text = import(&c.to_string()).unwrap();
    assert!(text.contains("terminal = true"), "{text}");
    c["process"]["terminal"] = json!(false);
    let text = import(&c.to_string()).unwrap();
    assert!(text.contains("terminal = false"), "{text}");
}

#[test]
fn unsupported_fields_are_errors_naming_the_json_path() {
    let cases: Vec<(&str, Change)> = vec![
        (
            "linux.devices[0]",
            Box::new(|c| {
                c["linux"]["devices"] =
                    json!([{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]);
            }),
        ),
        (
            "hooks.prestart",
            Box::new(|c| {
                c["hooks"] = json!({"prestart": [{"path": "/bin/true"}]});
            }),
        ),
        (
            "mounts[1].type",
            Box::new(|c| c["mounts"][1]["type"] = json!("sysfs")),
        ),
        (
            "mounts[1].options[0]",
            Box::new(|c| c["mounts"][1]["options"][0] = json!("uid=5")),
        ),
        (
            "linux.namespaces[1].path",
            Box::new(|c| {
                c["linux"]["namespaces"][1]["path"] = json!("/proc/1/ns/net");
            }),
        ),
        (
            "process.capabilities.effective",
            Box::new(|c| {
                c["process"]["capabilities"]["effective"] = json!([]);
            }),
        ),
        (
            "process.capabilities",
            Box::new(|c| {
                c["process"].as_object_mut().unwrap().remove("capabilities");
            }),
        ),
        (
            "linux.seccomp.syscalls[0].action",
            Box::new(|c| {
                c["linux"]["seccomp"]["syscalls"][0]["action"] = json!("SCMP_ACT_NOTIFY");
            }),
        ),
        (
            "linux.seccomp.listenerPath",
            Box::new(|c| {
                c["linux"]["seccomp"]["listenerPath"] = json!("/run/agent.sock");
            }),
        ),
        (
            "linux.resources.memory.reservation",
            Box::new(|c| {
                c["linux"]["resources"]["memory"]["reservation"] = json!(1024);
            }),
        ),
        (
            "linux.resources.unified.cpu.max",
            Box::new(|c| {
                c["linux"]["resources"]["unified"] = json!({"cpu.max": "max"});
            }),
        ),
        (
            "linux.sysctl.net.ipv4.ip_forward",
            Box::new(|c| {
                c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
            }),
        ),
        (
            "process.apparmorProfile",
            Box::new(|c| c["process"]["apparmorProfile"] = json!("x")),
        ),
        (
            "linux.rootfsPropagation",
            Box::new(|c| c["linux"]["rootfsPropagation"] = json!("shared")),
        ),
        (
            "linux.timeOffsets.monotonic.nanosecs",
            Box::new(|c| {
                c["linux"]["timeOffsets"] = json!({"monotonic": {"secs": 1, "nanosecs": 5}});
            }),
        ),
        (
            "mounts[0].options[0]",
            Box::new(|c| c["mounts"][0]["options"] = json!(["ro"])),
        ),
        (
            "root.path",
            Box::new(|c| c["root"]["path"] = json!("rootfs")),
        ),
        (
            "process.user.username",
            Box::new(|c| c["process"]["user"]["username"] = json!("me")),
        ),
        (
            "windows",
            Box::new(|c| c["windows"] = json!({"layerFolders": ["C:\\x"]})),
        ),
    ];
    for (path, change) in cases {
        let mut c = handwritten();
        change(&mut c);
        let err = import_err(&c);
        assert!(
            err.contains(&format!("`{path}")),
            "expected `{path}` in: {err}"
        );
    }
}

#[test]
fn malformed_input_is_an_error_not_a_panic() {
    for text in [
        "",
        "{",
        "[]",
        "null",
        "{\"ociVersion\": 1}",
        "{\"ociVersion\": \"2.0.0\"}",
    ] {
        assert!(import(text).is_err(), "{text:?} was accepted");
    }
    let e = import("{").unwrap_err();
    assert!(matches!(e, OciError::Json(_)), "{e}");
    let mut c = handwritten();
    c["process"]["env"] = json!(["NOEQUALS"]);
    assert!(import_err(&c).contains("`process.env[0]`"));
}

#[test]
fn bundle_relative_paths_resolve_against_the_bundle() {
    let mut c = handwritten();
    c["root"]["path"] = json!("rootfs");
    c["mounts"][2]["source"] = json!("data");
    let text = import_bundle(&c.to_string(), std::path::Path::new("/srv/bundle")).unwrap();
    let p = parse(&text);
    assert_eq!(
        p.filesystem.unwrap().root.as_deref(),
        Some("/srv/bundle/rootfs")
    );
    assert_eq!(
        p.mount.unwrap()[2].source.as_deref(),
        Some("/srv/bundle/data")
    );
}
