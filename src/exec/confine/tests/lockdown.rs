//! Landlock, capabilities, rlimits, failure records.

use super::*;

fn landlock_plan(compat: Compat, abi: u8) -> LandlockPlan {
    LandlockPlan {
        compat,
        abi,
        handled_fs: vec!["write".into(), "exec".into()],
        paths: vec![],
        bind_tcp: None,
        connect_tcp: Some(vec![443]),
        scopes: vec!["signal".into()],
        required: vec![],
    }
}

#[test]
fn landlock_required_names_the_missing_feature_and_key() {
    let err = check_landlock(&landlock_plan(Compat::Required, 6), 3)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("landlock.connect-tcp needs Landlock ABI 4, kernel has 3"),
        "{err}"
    );
    assert!(
        err.contains("landlock.scope \"signal\" needs Landlock ABI 6"),
        "{err}"
    );
    assert!(
        err.contains("set landlock.compat = \"best-effort\" to run without them"),
        "{err}"
    );
    assert!(check_landlock(&landlock_plan(Compat::Required, 6), 6)
        .unwrap()
        .is_empty());
}

/// `landlock.required` holds under best-effort: only the named feature fails the run, the
/// rest stays best-effort.
#[test]
fn landlock_required_entries_fail_a_best_effort_plan() {
    let mut plan = landlock_plan(Compat::BestEffort, 6);
    plan.required = vec!["connect-tcp".into()];
    let err = check_landlock(&plan, 3).unwrap_err().to_string();
    assert!(
        err.contains("landlock.connect-tcp needs Landlock ABI 4, kernel has 3 (landlock.required names \"connect-tcp\")"),
        "{err}"
    );
    assert!(!err.contains("scope"), "the scope stays best-effort: {err}");
    assert!(
        err.contains("remove the entry from landlock.required"),
        "{err}"
    );
    let skipped = check_landlock(&plan, 4).unwrap();
    assert_eq!(skipped.len(), 1, "only the scope is skipped: {skipped:?}");
}

#[test]
fn landlock_best_effort_lists_what_is_skipped() {
    let skipped = check_landlock(&landlock_plan(Compat::BestEffort, 6), 3).unwrap();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    let prepared = prepare_landlock(&landlock_plan(Compat::BestEffort, 6), 3).unwrap();
    let status = LandlockStatus {
        ruleset: 1,
        missing: prepared.missing(),
    };
    assert_eq!(status.missing_names(), ["connect-tcp", "scope signal"]);
    let none = check_landlock(&landlock_plan(Compat::BestEffort, 6), 0).unwrap();
    assert!(
        none.iter().all(|l| l.contains("does not support")),
        "{none:?}"
    );
}

#[test]
fn landlock_rejects_features_above_the_pin_and_unknown_names() {
    let err = check_landlock(&landlock_plan(Compat::Required, 3), 7).unwrap_err();
    assert!(err.to_string().contains("pins landlock.abi = 3"), "{err}");
    let mut p = landlock_plan(Compat::Required, 6);
    p.handled_fs.push("raed".into());
    assert!(check_landlock(&p, 7)
        .unwrap_err()
        .to_string()
        .contains("raed"));
    let mut p = landlock_plan(Compat::Required, 6);
    p.scopes = vec!["signals".into()];
    assert!(check_landlock(&p, 7)
        .unwrap_err()
        .to_string()
        .contains("signals"));
}

#[test]
fn landlock_enforces_paths_in_a_child() {
    let kernel = kernel_landlock_abi();
    if kernel < 1 {
        skip("no Landlock in this kernel");
        return;
    }
    let dir = std::env::temp_dir().join(format!("stockade-ll-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("granted"), "x").unwrap();
    let plan = LandlockPlan {
        compat: Compat::Required,
        abi: 1,
        handled_fs: vec!["write".into(), "exec".into()],
        paths: vec![LandlockPathPlan {
            path: dir.clone(),
            access: vec!["read".into()],
            optional: false,
        }],
        bind_tcp: None,
        connect_tcp: None,
        scopes: vec![],
        required: vec![],
    };
    let prepared = prepare_landlock(&plan, kernel).unwrap();
    let inside =
        std::ffi::CString::new(dir.join("granted").into_os_string().into_encoded_bytes()).unwrap();
    let end = in_child(
        || prepared.apply().map(|s| assert_eq!(s.ruleset, 2)),
        || {
            // SAFETY: open/close on NUL-terminated paths.
            let ok = unsafe { libc::open(inside.as_ptr(), libc::O_RDONLY) };
            let denied = unsafe { libc::open(c"/etc/hostname".as_ptr(), libc::O_RDONLY) };
            let e = nix::Error::last() as i32;
            if ok >= 0 && denied < 0 && e == libc::EACCES {
                0
            } else {
                1
            }
        },
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(end, End::Exit(0));
    // A missing path is an error, never a silently dropped rule.
    let mut missing = plan.clone();
    missing.paths[0].path = "/nonexistent/stockade".into();
    let prepared = prepare_landlock(&missing, kernel).unwrap();
    assert_eq!(
        in_child(|| prepared.apply().map(|_| ()), || 0),
        End::Exit(200 + libc::ENOENT)
    );
}

#[test]
fn rlimits_apply_split_by_nofile() {
    let limits = vec![
        crate::plan::RlimitPlan {
            name: "RLIMIT_CORE".into(),
            resource: libc::RLIMIT_CORE,
            soft: 0,
            hard: 4096,
        },
        crate::plan::RlimitPlan {
            name: "RLIMIT_NOFILE".into(),
            resource: libc::RLIMIT_NOFILE,
            soft: 64,
            hard: 128,
        },
    ];
    let end = in_child(
        || apply_rlimits(&limits, false),
        || {
            let mut core = libc::rlimit {
                rlim_cur: 1,
                rlim_max: 1,
            };
            let mut nofile = core;
            // SAFETY: getrlimit writes one struct each.
            unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut core) };
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut nofile) };
            i32::from(!(core.rlim_cur == 0 && core.rlim_max == 4096 && nofile.rlim_cur != 64))
        },
    );
    assert_eq!(end, End::Exit(0));
    let end = in_child(
        || apply_rlimits(&limits, true),
        || {
            let mut nofile = libc::rlimit {
                rlim_cur: 1,
                rlim_max: 1,
            };
            // SAFETY: getrlimit writes one struct.
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut nofile) };
            i32::from(!(nofile.rlim_cur == 64 && nofile.rlim_max == 128))
        },
    );
    assert_eq!(end, End::Exit(0));
}

/// The hex value of a `Cap*:` line of /proc/self/status.
fn status_mask(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(u64::MAX)
}

#[test]
fn capability_sets_match_the_plan() {
    if !nix::unistd::geteuid().is_root() {
        skip("needs root (CAP_SETPCAP) to drop the bounding set");
        return;
    }
    let cap = |number: u8, name: &str| crate::plan::Cap {
        number,
        name: name.into(),
    };
    let plan = CapsPlan {
        keep: vec![cap(10, "CAP_NET_BIND_SERVICE"), cap(13, "CAP_NET_RAW")],
        ambient: vec![cap(10, "CAP_NET_BIND_SERVICE")],
        no_new_privs: true,
    };
    let last: u8 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40);
    let end = in_child(
        || drop_bounding_set(&plan, last).and_then(|_| set_capabilities(&plan)),
        || {
            let keep = (1u64 << 10) | (1 << 13);
            let want = [
                ("CapBnd:", keep),
                ("CapEff:", keep),
                ("CapPrm:", keep),
                ("CapInh:", 1 << 10),
                ("CapAmb:", 1 << 10),
                ("NoNewPrivs:", 1),
            ];
            want.iter()
                .position(|(f, v)| status_mask(f) != *v)
                .map_or(0, |i| 10 + i as i32)
        },
    );
    assert_eq!(end, End::Exit(0));
    // Nothing kept: every set empty.
    let none = CapsPlan {
        keep: vec![],
        ambient: vec![],
        no_new_privs: true,
    };
    let end = in_child(
        || drop_bounding_set(&none, last).and_then(|_| set_capabilities(&none)),
        || {
            let all_empty = ["CapBnd:", "CapEff:", "CapPrm:", "CapInh:", "CapAmb:"]
                .iter()
                .all(|f| status_mask(f) == 0);
            i32::from(!all_empty)
        },
    );
    assert_eq!(end, End::Exit(0));
}

#[test]
fn failing_call_is_recorded_for_the_report() {
    if kernel_landlock_abi() < 1 {
        skip("no Landlock in this kernel");
        return;
    }
    let plan = LandlockPlan {
        compat: Compat::Required,
        abi: 1,
        handled_fs: vec!["read".into()],
        paths: vec![
            LandlockPathPlan {
                path: "/".into(),
                access: vec!["read".into()],
                optional: false,
            },
            LandlockPathPlan {
                path: "/nonexistent/stockade".into(),
                access: vec!["read".into()],
                optional: false,
            },
        ],
        bind_tcp: None,
        connect_tcp: None,
        scopes: vec![],
        required: vec![],
    };
    let prepared = prepare_landlock(&plan, kernel_landlock_abi()).unwrap();
    let end = in_child(
        || Ok(()),
        || match (prepared.apply(), last_call()) {
            (Err(nix::Error::ENOENT), (7, 1)) => 0,
            _ => 1,
        },
    );
    assert_eq!(end, End::Exit(0));
    assert_eq!(
        describe_call(7, 1, Some(&plan), &[]),
        "openat2(2) of landlock path /nonexistent/stockade (no symlinks followed)"
    );
    assert_eq!(
        describe_call(9, 0x1_0000 + 443, Some(&plan), &[]),
        "landlock_add_rule(2) for TCP port 443"
    );
}

#[test]
fn landlock_status_serializes_with_readable_names() {
    let s = LandlockStatus {
        ruleset: 1,
        missing: 1 << 33,
    };
    let v = serde_json::to_value(s).unwrap();
    assert_eq!(v["ruleset"], 1);
    assert_eq!(v["status"], "partially enforced");
    assert_eq!(v["not_enforced"], serde_json::json!(["connect-tcp"]));
}

#[test]
fn an_abi_pin_above_the_kernel_is_reported_or_refused() {
    let mut p = landlock_plan(Compat::BestEffort, 9);
    p.connect_tcp = None;
    p.scopes = vec![];
    let skipped = check_landlock(&p, 7).unwrap();
    assert_eq!(
        skipped,
        ["landlock.abi = 9 needs Landlock ABI 9, kernel has 7 (access rights and scopes added after ABI 7 are not enforced)"]
    );
    p.compat = Compat::Required;
    let err = check_landlock(&p, 7).unwrap_err().to_string();
    assert!(
        err.starts_with("landlock.abi = 9 needs Landlock ABI 9, kernel has 7"),
        "{err}"
    );
    assert!(
        err.ends_with("set landlock.compat = \"best-effort\" to run without it"),
        "{err}"
    );
    // A pin the kernel meets reports nothing.
    assert!(check_landlock(&p, 9).unwrap().is_empty());
}
