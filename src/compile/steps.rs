//! The one place that orders executor steps. See [`crate::plan::step`] for why each phase
//! comes where it does; each rule below has a unit test.

use crate::host::HostFacts;
use crate::plan::{Plan, Step};

/// Build the ordered step list for a plan whose other fields are final.
pub fn order(plan: &Plan, host: &HostFacts) -> Vec<Step> {
    let ns = &plan.namespaces;
    let mut s = Vec::new();
    // Parent: the cgroup exists and the id maps are written before the child does anything.
    if plan.resources.is_some() {
        s.push(Step::CreateCgroup);
    }
    if ns.user {
        s.push(Step::WriteIdMaps);
    }
    if plan.resources.is_some() {
        s.push(Step::EnterCgroup);
    }
    // Mounts: private propagation first, so nothing below reaches the host's mount table.
    if ns.mount {
        s.push(Step::MakeMountsPrivate);
        s.push(Step::PrepareRoot);
        s.extend((0..plan.mounts.len()).map(Step::Mount));
        // Pivot: once every mount exists; whole-root and path remounts after it, so they
        // cover the mounts made above.
        s.push(Step::PivotRoot);
        if plan.root.read_only {
            s.push(Step::RootReadOnly);
        }
        if !plan.masked_paths.is_empty() {
            s.push(Step::MaskPaths);
        }
        if !plan.read_only_paths.is_empty() {
            s.push(Step::ReadOnlyPaths);
        }
        // Last of the filesystem: it must cover whatever the mounts and remounts left.
        if !plan.protected_paths.is_empty() {
            s.push(Step::ProtectPaths);
        }
    }
    // Identity.
    if plan.hostname.is_some() {
        s.push(Step::SetHostname);
    }
    if plan.domainname.is_some() {
        s.push(Step::SetDomainname);
    }
    if plan.rlimits.iter().any(|r| r.resource != NOFILE) {
        s.push(Step::SetRlimits);
    }
    if plan.process.new_session {
        s.push(Step::NewSession);
    }
    s.push(Step::SetUmask);
    // Lockdown. Capabilities exist to drop only as root or in a user namespace.
    let privileged = host.uid == 0 || ns.user;
    if privileged {
        // The bounding set needs CAP_SETPCAP, which the uid switch may take away.
        s.push(Step::DropBoundingSet);
        s.push(Step::SwitchUser);
        s.push(Step::SetCapabilities);
    }
    // chdir as the final user, so directory permissions are checked as the payload.
    s.push(Step::Chdir);
    // no_new_privs before Landlock and seccomp: both require it without CAP_SYS_ADMIN.
    if plan.capabilities.no_new_privs {
        s.push(Step::NoNewPrivs);
    }
    // Landlock after every mount change (a landlocked process cannot mount).
    if plan.landlock.is_some() {
        s.push(Step::Landlock);
    }
    // RLIMIT_NOFILE after Landlock has opened its path fds.
    if plan.rlimits.iter().any(|r| r.resource == NOFILE) {
        s.push(Step::SetNofileLimit);
    }
    // The payload's terminal: in init's session (init forks the payload at seccomp or
    // execve, after this), before seccomp, which may deny ioctl.
    if plan.process.terminal != crate::plan::Terminal::Never {
        s.push(Step::AttachTerminal);
    }
    // seccomp last: everything after it runs under the filter.
    if plan.seccomp.is_some() {
        s.push(Step::Seccomp);
    }
    s.push(Step::Exec);
    s
}

const NOFILE: u32 = 7;

/// `plan` with a seccomp step (last before exec, as [`order`] places it) even where the
/// profile has no filter: `stockade run --learn-filter` loads the learning filter there.
pub fn with_learning_filter(plan: &Plan) -> Plan {
    let mut plan = plan.clone();
    if !plan.steps.contains(&Step::Seccomp) {
        let at = plan
            .steps
            .iter()
            .position(|s| *s == Step::Exec)
            .unwrap_or(plan.steps.len());
        plan.steps.insert(at, Step::Seccomp);
    }
    plan
}

#[cfg(test)]
mod tests {
    use crate::compile::{compile, CompileOptions};
    use crate::host::HostFacts;
    use crate::plan::{Phase, Step};
    use crate::profile::load::load;

    fn steps_of(name: &str, host: &HostFacts) -> Vec<Step> {
        let loaded = load(name).expect("builtin loads");
        let opts = CompileOptions {
            command: Some(vec!["true".into()]),
            command_optional: false,
        };
        compile(&loaded, host, &opts)
            .expect("builtin compiles")
            .plan
            .steps
    }

    fn pos(steps: &[Step], s: Step) -> usize {
        steps
            .iter()
            .position(|x| *x == s)
            .unwrap_or_else(|| panic!("{s:?} missing from {steps:?}"))
    }

    #[test]
    fn phases_never_go_backwards() {
        let steps = steps_of("builtin:strict", &HostFacts::fixed());
        assert!(
            steps.windows(2).all(|w| w[0].phase() <= w[1].phase()),
            "{steps:?}"
        );
        assert_eq!(steps.first().map(Step::phase), Some(Phase::Parent));
    }

    #[test]
    fn seccomp_is_last_before_exec() {
        let steps = steps_of("builtin:strict", &HostFacts::fixed());
        let n = steps.len();
        assert_eq!(&steps[n - 2..], &[Step::Seccomp, Step::Exec]);
    }

    #[test]
    fn landlock_after_every_mount_change() {
        let steps = steps_of("builtin:strict", &HostFacts::fixed());
        let landlock = pos(&steps, Step::Landlock);
        for (i, s) in steps.iter().enumerate() {
            if matches!(s.phase(), Phase::Mounts | Phase::Pivot) {
                assert!(i < landlock, "{s:?} after Landlock");
            }
        }
    }

    #[test]
    fn no_new_privs_before_landlock_and_seccomp() {
        let steps = steps_of("builtin:strict", &HostFacts::fixed());
        let nnp = pos(&steps, Step::NoNewPrivs);
        assert!(nnp < pos(&steps, Step::Landlock));
        assert!(nnp < pos(&steps, Step::Seccomp));
    }

    #[test]
    fn bounding_set_dropped_before_the_uid_switch() {
        let steps = steps_of("builtin:strict", &HostFacts::fixed());
        assert!(pos(&steps, Step::DropBoundingSet) < pos(&steps, Step::SwitchUser));
        assert!(pos(&steps, Step::SwitchUser) < pos(&steps, Step::SetCapabilities));
        assert!(pos(&steps, Step::SwitchUser) < pos(&steps, Step::Chdir));
    }

    #[test]
    fn id_maps_and_cgroup_come_first_in_the_parent() {
        let steps = steps_of("builtin:strict", &HostFacts::fixed());
        assert_eq!(
            &steps[..3],
            &[Step::CreateCgroup, Step::WriteIdMaps, Step::EnterCgroup]
        );
        assert!(steps[3..].iter().all(|s| !s.in_parent()));
    }

    #[test]
    fn mounts_are_private_before_any_mount() {
        let steps = steps_of("builtin:minimal", &HostFacts::fixed());
        let private = pos(&steps, Step::MakeMountsPrivate);
        assert!(steps
            .iter()
            .enumerate()
            .all(|(i, s)| !matches!(s, Step::Mount(_) | Step::PrepareRoot) || i > private));
        assert!(pos(&steps, Step::Mount(0)) < pos(&steps, Step::Mount(1)));
        assert!(pos(&steps, Step::PivotRoot) > pos(&steps, Step::Mount(8)));
    }

    #[test]
    fn root_without_user_namespace_still_drops_capabilities() {
        let mut host = HostFacts::fixed();
        host.uid = 0;
        let steps = steps_of_text(
            "version = 1\n[namespaces]\nmount = true\npid = true\n",
            &host,
        );
        assert!(steps.contains(&Step::DropBoundingSet));
        assert!(pos(&steps, Step::DropBoundingSet) < pos(&steps, Step::SwitchUser));
        assert!(!steps.contains(&Step::WriteIdMaps));
    }

    #[test]
    fn unprivileged_without_user_namespace_skips_capability_steps() {
        // A non-root caller has no capabilities to drop and cannot switch ids.
        let steps = steps_of_text("version = 1\n", &HostFacts::fixed());
        for s in [
            Step::DropBoundingSet,
            Step::SwitchUser,
            Step::SetCapabilities,
            Step::WriteIdMaps,
        ] {
            assert!(!steps.contains(&s), "{s:?} in {steps:?}");
        }
        // no_new_privs (the default) still comes.
        assert!(steps.contains(&Step::NoNewPrivs));
    }

    /// Steps of a profile given as text (command given on the command line).
    fn steps_of_text(text: &str, host: &HostFacts) -> Vec<Step> {
        let loaded = match crate::profile::load::load_text("test.toml", text) {
            Ok(l) => l,
            Err(e) => panic!("{:?}", e.diagnostics),
        };
        let opts = CompileOptions {
            command: Some(vec!["true".into()]),
            command_optional: false,
        };
        match compile(&loaded, host, &opts) {
            Ok(c) => c.plan.steps,
            Err(d) => panic!("{d:?}"),
        }
    }

    const FULL: &str = r#"
version = 1
[namespaces]
user = true
mount = true
pid = true
uts = true
[filesystem]
hostname = "h"
domainname = "d"
read-only = true
masked-paths = ["/proc/kcore"]
read-only-paths = ["/proc/sys"]
[[mount]]
type = "proc"
[[mount]]
type = "tmpfs"
target = "/tmp"
[rlimits]
nofile = 64
core = 0
[landlock]
read = ["/tmp"]
[seccomp]
deny = ["ptrace"]
[resources]
pids = 10
"#;

    #[test]
    fn exec_is_always_last_and_seccomp_just_before_it() {
        let host = HostFacts::fixed();
        for text in [FULL, "version = 1\n", "version = 1\n[seccomp]\n"] {
            let steps = steps_of_text(text, &host);
            assert_eq!(steps.last(), Some(&Step::Exec), "{steps:?}");
            if steps.contains(&Step::Seccomp) {
                assert_eq!(steps[steps.len() - 2], Step::Seccomp);
            }
        }
    }

    #[test]
    fn nofile_limit_comes_after_landlock_opened_its_fds() {
        let steps = steps_of_text(FULL, &HostFacts::fixed());
        assert!(pos(&steps, Step::Landlock) < pos(&steps, Step::SetNofileLimit));
        assert!(pos(&steps, Step::SetNofileLimit) < pos(&steps, Step::Seccomp));
        // The other rlimits are set early, in the identity phase.
        assert!(pos(&steps, Step::SetRlimits) < pos(&steps, Step::DropBoundingSet));
    }

    #[test]
    fn only_nofile_means_no_early_rlimit_step() {
        let steps = steps_of_text("version = 1\n[rlimits]\nnofile = 64\n", &HostFacts::fixed());
        assert!(!steps.contains(&Step::SetRlimits), "{steps:?}");
        assert!(steps.contains(&Step::SetNofileLimit));
        let steps = steps_of_text("version = 1\n[rlimits]\ncore = 0\n", &HostFacts::fixed());
        assert!(steps.contains(&Step::SetRlimits));
        assert!(!steps.contains(&Step::SetNofileLimit), "{steps:?}");
    }

    #[test]
    fn remounts_and_masks_come_after_every_mount_and_the_pivot() {
        let steps = steps_of_text(FULL, &HostFacts::fixed());
        let pivot = pos(&steps, Step::PivotRoot);
        assert!(pos(&steps, Step::Mount(1)) < pivot);
        assert!(pos(&steps, Step::PrepareRoot) < pos(&steps, Step::Mount(0)));
        for s in [Step::RootReadOnly, Step::MaskPaths, Step::ReadOnlyPaths] {
            assert!(pos(&steps, s) > pivot, "{s:?} before pivot_root");
        }
        // Masks after the read-only root remount, so they are not undone by it.
        assert!(pos(&steps, Step::RootReadOnly) < pos(&steps, Step::MaskPaths));
    }

    #[test]
    fn hostname_and_identity_after_the_filesystem_before_lockdown() {
        let steps = steps_of_text(FULL, &HostFacts::fixed());
        let pivot = pos(&steps, Step::PivotRoot);
        for s in [
            Step::SetHostname,
            Step::SetDomainname,
            Step::NewSession,
            Step::SetUmask,
        ] {
            let p = pos(&steps, s);
            assert!(p > pivot && p < pos(&steps, Step::DropBoundingSet), "{s:?}");
        }
    }

    #[test]
    fn no_mount_namespace_means_no_mount_steps() {
        let steps = steps_of_text(
            "version = 1\n[namespaces]\nuser = true\npid = true\n",
            &HostFacts::fixed(),
        );
        assert!(
            steps
                .iter()
                .all(|s| !matches!(s.phase(), Phase::Mounts | Phase::Pivot)),
            "{steps:?}"
        );
    }

    #[test]
    fn no_resources_means_no_cgroup_steps_and_no_table_no_step() {
        let steps = steps_of_text("version = 1\n", &HostFacts::fixed());
        for s in [
            Step::CreateCgroup,
            Step::EnterCgroup,
            Step::Landlock,
            Step::Seccomp,
            Step::SetHostname,
            Step::SetRlimits,
            Step::SetNofileLimit,
        ] {
            assert!(!steps.contains(&s), "{s:?} in {steps:?}");
        }
        let steps = steps_of_text(
            "version = 1\n[process]\nnew-session = false\n[capabilities]\nno-new-privs = false\n",
            &HostFacts::fixed(),
        );
        assert!(!steps.contains(&Step::NewSession), "{steps:?}");
        assert!(!steps.contains(&Step::NoNewPrivs), "{steps:?}");
    }

    #[test]
    fn cgroup_is_created_before_the_maps_and_entered_after() {
        // The child is in its cgroup before it runs anything (the maps release it).
        let steps = steps_of_text(FULL, &HostFacts::fixed());
        assert_eq!(
            &steps[..3],
            &[Step::CreateCgroup, Step::WriteIdMaps, Step::EnterCgroup]
        );
    }

    #[test]
    fn mount_steps_follow_profile_order() {
        let steps = steps_of_text(FULL, &HostFacts::fixed());
        let mounts: Vec<&Step> = steps
            .iter()
            .filter(|s| matches!(s, Step::Mount(_)))
            .collect();
        assert_eq!(mounts, [&Step::Mount(0), &Step::Mount(1)]);
    }
}
