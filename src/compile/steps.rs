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
    // seccomp last: everything after it runs under the filter.
    if plan.seccomp.is_some() {
        s.push(Step::Seccomp);
    }
    s.push(Step::Exec);
    s
}

const NOFILE: u32 = 7;

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
    fn unprivileged_without_user_namespace_skips_capability_steps() {
        let mut host = HostFacts::fixed();
        host.uid = 0;
        let steps = steps_of("builtin:strict", &host);
        assert!(steps.contains(&Step::DropBoundingSet));
    }
}
