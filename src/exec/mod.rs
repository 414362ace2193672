//! The native executor: runs a [`Plan`] for real.
//!
//! ```text
//! parent: prepare (strings, seccomp BPF, cgroup, pipes) ─ clone3 ─ id maps, cgroup ─ release
//!                                                            │
//! child:                          wait ─ namespaces ─ steps in plan order ─ [init fork] ─ execve
//!                                                            │
//! parent: records until EOF (= execve succeeded) ─ supervise (signals, timeout) ─ report
//! ```
//!
//! * One clone3, pipes for synchronization, no threads. The child only makes syscalls on
//!   data prepared by the parent and reports a failure as a fixed-size record
//!   `{step, syscall, errno}`; the parent renders it as
//!   `step 7/23 (bind /usr -> /usr, read-only): move_mount(2): EPERM` (exit 125; 126 and
//!   127 for a command that is not executable or not found).
//! * The steps run exactly in plan order ([`crate::plan::step`] documents why that order);
//!   the executor never reorders them.
//! * Nothing touches the host: mounts happen in the child's private mount namespace, no
//!   file is created outside it, and every exit path reaps the child and removes the
//!   cgroup.

pub mod child;
pub mod confine;
pub mod console;
pub mod error;
pub mod forward;
mod hints;
pub mod host_output;
mod host_path_error;
pub mod identity;
pub mod init;
pub mod listen_fds;
pub mod mounts;
pub mod notify;
mod overlay;
pub mod pivot;
pub mod prepare;
pub mod protect;
pub mod pty;
mod records;
pub mod report;
mod sandbox_paths;
pub mod signals;
pub mod spawn;
mod submodules;
pub mod supervisor;
pub mod sys;

pub use error::ExecError;
pub use report::{ExitCause, RunReport};

use crate::cgroup::Cgroup;
use crate::host::HostFacts;
use crate::plan::explain::describe_step;
use crate::plan::{Plan, Step};
use error::{pseudo_step, record_kind, Call, Record};
use nix::errno::Errno;
use records::read_records;
#[cfg(test)]
use records::to_error;
use report::{Durations, ExitReport, Skipped, TimeoutReport};
use std::os::fd::RawFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The shortest time a setup may take before the wall-time limit kills it.
const SETUP_TIMEOUT_FLOOR_MS: u64 = 10_000;

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Write the run report (JSON) to this file.
    pub report_path: Option<PathBuf>,
    /// Write the run report (JSON) to this inherited fd.
    pub report_fd: Option<RawFd>,
    /// `network.mode = "proxy"`: also append every decision as a JSON line here.
    pub net_log: Option<PathBuf>,
    /// Load `stockade learn`'s filter ([`confine::learning_filter`]) at the seccomp step
    /// instead of the profile's (the plan's steps must include it).
    pub learn_filter: bool,
}

/// How the payload ended.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// stockade's exit status: the payload's code, 128+N for signal N (when stockade
    /// cannot die of it, see [`RunOutcome::die_of`]), 124 after the wall-time limit.
    pub exit_code: i32,
    /// The payload died of this signal (not by the wall-time limit): stockade should die
    /// of it too ([`signals::die_of`]) once everything is cleaned up.
    pub die_of: Option<libc::c_int>,
    pub cause: ExitCause,
    /// The report (also written where [`RunOptions`] asked).
    pub report: RunReport,
}

/// Run `plan`: set up the sandbox, run the payload, supervise it, report.
pub fn run(plan: &Plan, host: &HostFacts, opts: &RunOptions) -> Result<RunOutcome, ExecError> {
    let started = Instant::now();
    // Before anything runs: the payload may be able to plant a link in its place later.
    let report_file = match &opts.report_path {
        Some(p) => Some(report::open_report_file(p)?),
        None => None,
    };
    let mut rep = RunReport {
        version: report::REPORT_VERSION,
        profile: plan.source.clone(),
        command: plan.process.argv.clone(),
        namespaces: namespaces(plan),
        enforced: Vec::new(),
        skipped: Vec::new(),
        exit: ExitReport {
            cause: ExitCause::SetupFailure,
            exit_code: error::EXIT_SETUP_FAILURE,
            code: None,
            signal: None,
            error: None,
        },
        durations: Durations::default(),
        timeout: None,
        landlock: None,
        cgroup: None,
        network: None,
        notify: None,
    };
    let result = launch(plan, host, started, &mut rep, opts);
    rep.durations.total_ms = ms(started.elapsed());
    match &result {
        Ok(()) => {}
        Err(e) => {
            rep.exit.cause = ExitCause::SetupFailure;
            rep.exit.exit_code = e.exit_code();
            rep.exit.error = Some(e.to_string());
        }
    }
    if opts.report_path.is_some() || opts.report_fd.is_some() {
        if let Err(e) = rep.write(report_file.as_ref(), opts.report_fd) {
            crate::log::warn(&format!("writing the run report: {e}"));
        }
    }
    result.map(|()| RunOutcome {
        exit_code: rep.exit.exit_code,
        die_of: match rep.exit.cause {
            ExitCause::Signal | ExitCause::OomKill => rep.exit.signal,
            _ => None,
        },
        cause: rep.exit.cause,
        report: rep,
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn namespaces(plan: &Plan) -> Vec<&'static str> {
    plan.namespaces.names()
}

/// Everything between "start" and "the payload is gone", with the cgroup removed on
/// every path.
fn launch(
    plan: &Plan,
    host: &HostFacts,
    started: Instant,
    rep: &mut RunReport,
    opts: &RunOptions,
) -> Result<(), ExecError> {
    let cgroup = match (&plan.resources, plan.steps.contains(&Step::CreateCgroup)) {
        (Some(res), true) => {
            let (cg, skipped) = Cgroup::create(res)?;
            // best-effort: say what is not enforced before the payload runs.
            for s in &skipped {
                crate::log::warn(&format!("not enforced (best-effort): {s}"));
            }
            if cg.is_inert() {
                rep.skipped.push(Skipped {
                    setting: "resources".into(),
                    reason: "no cgroup could be created: no limit is enforced".into(),
                });
            } else {
                rep.enforced.push(describe_step(plan, &Step::CreateCgroup));
            }
            rep.skipped.extend(skipped.into_iter().map(|s| Skipped {
                setting: "resources".into(),
                reason: s,
            }));
            Some(cg)
        }
        _ => None,
    };
    let r = launch_in(plan, host, started, rep, cgroup.as_ref(), opts);
    if let Some(cg) = cgroup {
        let mut outcome = cg.outcome();
        if let Some(res) = &plan.resources {
            // Why the payload ended, as the cgroup saw it (OOM kill, pids limit).
            outcome.message = crate::cgroup::exit_message(&outcome, res, rep.exit.signal);
        }
        if let Some(m) = &outcome.message {
            crate::log::error(m);
        }
        if r.is_ok() && outcome.oom_killed && rep.exit.signal == Some(libc::SIGKILL) {
            rep.exit.cause = ExitCause::OomKill;
        }
        rep.cgroup = Some(outcome);
        if let Err(e) = cg.destroy() {
            crate::log::warn(&format!("removing the cgroup: {e}"));
        }
    }
    r
}

/// Whether this process's user namespace has setgroups(2) denied (inherited by children).
fn own_setgroups_denied() -> bool {
    std::fs::read_to_string("/proc/self/setgroups").is_ok_and(|s| s.trim() == "deny")
}

fn launch_in(
    plan: &Plan,
    host: &HostFacts,
    started: Instant,
    rep: &mut RunReport,
    cgroup: Option<&Cgroup>,
    opts: &RunOptions,
) -> Result<(), ExecError> {
    // A writer without CAP_SETGID must deny setgroups before writing gid_map; the setuid
    // helpers and real root do not need to. Decided by the capability, not by uid 0: uid 0
    // of an outer sandbox's user namespace (stockade nested in stockade) has no
    // capabilities, and its gid_map write is refused (EPERM) unless setgroups is denied.
    // A namespace whose own setgroups is already "deny" (systemd's PrivateUsers=, an outer
    // sandbox) passes that on to every namespace below it: the kernel then refuses
    // setgroups(2) in the child whatever we write, so the identity step must not call it.
    let setgroups_denied = plan.namespaces.user
        && !plan.namespaces.gid_map_helper
        && (!caps::has_cap(None, caps::CapSet::Effective, caps::Capability::CAP_SETGID)
            .unwrap_or(false)
            || own_setgroups_denied());
    let saved_mask = supervisor::block_signals();
    // Placeholders for missing protected paths, removed once the sandbox is gone.
    let mut placeholders = protect::Placeholders::default();
    let r = (|| {
        // Socket activation: check LISTEN_PID and the fds before anything else is opened.
        listen_fds::prepare(plan.systemd.listen_fds.as_ref())?;
        let mut relay = match &plan.systemd.notify_socket {
            Some(s) => Some(notify::NotifyRelay::new(s, plan.systemd.notify_all)?),
            None => None,
        };
        let mut prep = prepare::prepare(plan, saved_mask, setgroups_denied, host.landlock_abi)?;
        // Here, before clone and after prepare compiled the profile's filter: the learning
        // filter takes its place at the same (last) seccomp step.
        if opts.learn_filter {
            let filter = confine::learning_filter(plan.seccomp.as_ref())
                .ok_or(confine::ConfineError::TooLong(usize::MAX))?;
            prep.seccomp = Some(confine::SeccompProgram { filter, log: false });
            rep.enforced
                .push("seccomp: stockade learn's filter (what the profile would refuse stops for the tracer)".into());
        }
        if let Some(r) = &relay {
            notify::add_mount(&mut prep, r)?;
        }
        if plan.steps.contains(&Step::ProtectPaths) {
            let (paths, mut held) = protect::resolve(plan)?;
            prep.protected = paths;
            prep.protected_file_binds = std::mem::take(&mut held.file_binds);
            placeholders = held;
            // What was resolved, not what the plan asked: a file bind has nothing inside
            // it, and a path under a placeholder directory is covered by that directory.
            rep.enforced.push(format!(
                "protected (read-only, not creatable): {}",
                prep.protected
                    .iter()
                    .map(|p| p.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        rep.skipped
            .extend(plan.unprotected_paths.iter().map(|p| Skipped {
                setting: "filesystem.unprotected".into(),
                reason: format!(
                    "{} ({}) left writable: the profile opted out of protecting it",
                    p.path.display(),
                    p.name
                ),
            }));
        if let Some(l) = &prep.landlock {
            // best-effort: say what is not enforced before the payload runs.
            for s in &l.not_enforced {
                crate::log::warn(&format!("not enforced (best-effort): {s}"));
            }
            rep.skipped.extend(l.not_enforced.iter().map(|s| Skipped {
                setting: "landlock".into(),
                reason: s.clone(),
            }));
        }
        prep.cap_last_cap = host.cap_last_cap;
        // The payload's pty, before clone: the child attaches the slave, the master stays.
        let pty = pty::open_for(plan, &mut prep)?;
        // network.mode = "proxy": fork the proxy now, before the launch pipes exist (it must
        // not hold them) and while the supervisor is still single-threaded.
        let mut egress = match &plan.egress {
            Some(_) => Some(
                crate::net::supervise::Egress::start(
                    plan,
                    opts.net_log.as_deref(),
                    3 + prep.listen_fds as RawFd,
                    opts.learn_filter,
                )
                .map_err(|e| ExecError::Egress(e.to_string()))?,
            ),
            None => None,
        };
        let mut pipes = spawn::pipes(prep.init_fork_at.is_some(), prep.listen_fds)?;
        let into = cgroup.and_then(|c| c.clone_into_fd());
        // cgroup v1: the child joins its leaves itself, before anything else.
        let self_join = cgroup.and_then(Cgroup::self_join);
        // SAFETY: stockade is single-threaded here; the child runs child::run only.
        let pid = unsafe { spawn::clone(spawn::clone_flags(plan), into)? };
        if pid == 0 {
            if let Some(j) = &self_join {
                join_cgroup_in_child(plan, j, &pipes);
            }
            let fds = child::ChildFds {
                sync_r: pipes.sync_r,
                sync_w: pipes.sync_w,
                rec_w: pipes.rec_w,
                status_w: pipes.status_w,
                egress: egress.as_ref().map_or(-1, |e| e.child_fd()),
            };
            child::run(plan, &mut prep, fds)
        }
        pipes.close_child_ends();
        // Only the child holds the slave now: the master reads EIO once it is gone.
        let pty = pty.map(|p| p.parent_side(&mut prep));
        if let Some(e) = egress.as_mut() {
            e.close_child_end();
        }
        let placed = into.is_some() || self_join.is_some();
        drop(self_join);
        if let Err(e) = parent_steps(plan, pid, setgroups_denied, cgroup, placed, rep) {
            spawn::kill_and_reap(pid);
            return Err(e);
        }
        // SAFETY: writing one byte from a live buffer.
        if unsafe { libc::write(pipes.sync_w, [1u8].as_ptr().cast(), 1) } != 1 {
            let e = Errno::last();
            spawn::kill_and_reap(pid);
            return Err(error::sys_err("write(2)")(e));
        }
        // A stuck setup is bounded by the wall-time limit too (never less than 10 s: the
        // limit is meant for the payload, and a loaded machine must not turn a short one
        // into a setup failure).
        let setup_deadline = plan
            .process
            .timeout_ms
            .map(|t| started + Duration::from_millis(t.max(SETUP_TIMEOUT_FLOOR_MS)));
        let failure = read_records(plan, &prep, pipes.rec_r, rep, setup_deadline);
        if pty.is_none() {
            // `terminal = "auto"` without a terminal here: the step did nothing.
            let d = describe_step(plan, &Step::AttachTerminal);
            rep.enforced.retain(|e| *e != d);
        }
        if let Some(r) = relay.as_mut() {
            // The child mounted the relay socket (or failed): the host path can go.
            r.sandbox_ready();
        }
        let exec_at = Instant::now();
        rep.durations.setup_ms = ms(exec_at - started);
        if let (Some(r), None) = (relay.as_mut(), &failure) {
            // Senders are checked against the payload's pid from now on.
            r.payload_started(pid, prep.init_fork_at.is_some());
        }
        if let Some(e @ ExecError::SetupTimeout { .. }) = failure {
            // A setup stuck in the kernel (a hung network filesystem): the whole sandbox
            // goes, its PID namespace with it.
            spawn::kill_and_reap(pid);
            return Err(e);
        }
        if let Some(e) = failure {
            // The child (or the payload, for exec errors) exits by itself; reap it.
            let mut st = 0;
            // SAFETY: valid out pointer.
            while unsafe { libc::waitpid(pid, &mut st, 0) } < 0 && Errno::last() == Errno::EINTR {}
            return Err(e);
        }
        // The wall-time limit counts from the payload's start, so setup never eats into it.
        let timeout = plan.process.timeout_ms.map(|t| supervisor::Timeout {
            after: Duration::from_millis(t),
            signal: plan.process.kill_signal.number,
            signal_name: plan.process.kill_signal.name.clone(),
            grace: Duration::from_millis(plan.process.grace_ms),
        });
        let whole_group = !plan.namespaces.pid && plan.process.new_session;
        let forwarder = forward::Forwarder::new(
            pid,
            prep.init_fork_at.is_some(),
            !plan.namespaces.pid,
            plan.systemd.forward_manager_signals,
        )
        .with_job_group(plan.process.new_session);
        // Raw mode from here: the payload runs (a setup failure above leaves the caller's
        // terminal untouched).
        let mut job = supervisor::Job::new(plan, pty, prep.init_fork_at.is_none());
        let ended = supervisor::supervise(
            pid,
            exec_at,
            timeout.as_ref(),
            whole_group,
            pipes.status_r,
            &forwarder,
            relay.as_mut(),
            &mut job,
        );
        if let Some(r) = relay.as_mut() {
            // Messages sent just before the payload ended (STOPPING=1, EXIT_STATUS=), and
            // what still waits for room in systemd's queue.
            r.finish(ended.timed_out);
            rep.notify = Some(r.report());
        }
        rep.durations.payload_ms = Some(ms(exec_at.elapsed()));
        if let Some(e) = egress.take() {
            rep.network = Some(report::NetworkReport::new(e.finish()));
        }
        let code = supervisor::status_to_exit_code(ended.status);
        rep.exit.exit_code = code;
        if libc::WIFSIGNALED(ended.status) {
            rep.exit.cause = ExitCause::Signal;
            rep.exit.signal = Some(libc::WTERMSIG(ended.status));
        } else {
            rep.exit.cause = ExitCause::Exit;
            rep.exit.code = Some(libc::WEXITSTATUS(ended.status));
        }
        if ended.timed_out {
            // A wall-time kill is a failure whatever the payload returned (timeout(1)).
            rep.exit.cause = ExitCause::Timeout;
            rep.exit.exit_code = signals::EXIT_TIMEOUT;
        }
        if let Some(t) = &timeout {
            rep.timeout = Some(TimeoutReport {
                limit_ms: t.after.as_millis() as u64,
                fired: ended.timed_out,
                kill_signal: t.signal_name.clone(),
                killed_after_grace: ended.killed,
            });
        }
        Ok(())
    })();
    // Without a PID namespace a daemonized descendant may outlive the payload inside the
    // mount namespace; unlinking a placeholder would detach its protecting mount there.
    // Such a run leaves its empty placeholders behind rather than open that window.
    if plan.namespaces.pid {
        placeholders.remove();
    }
    supervisor::restore_signals(&saved_mask);
    r
}

/// In the child right after clone: join the cgroup v1 leaves (see `cgroup::join`). On
/// failure, report the EnterCgroup step and exit only after the parent's release byte (or
/// its death), so that byte's write succeeds and the parent reads the record.
fn join_cgroup_in_child(plan: &Plan, join: &crate::cgroup::SelfJoin, pipes: &spawn::Pipes) {
    let Err(errno) = join.enter() else {
        return;
    };
    let step = plan.steps.iter().position(|s| *s == Step::EnterCgroup);
    let rec = Record {
        kind: record_kind::FAILED,
        step: step.map_or(pseudo_step::SYNC, |i| i as u32),
        call: Call::Write as u32,
        errno,
        data: 0,
        data2: 0,
    };
    // Our copy of the parent's end: without closing it, a dead parent would never EOF.
    sys::close(pipes.sync_w);
    let _ = sys::write_all(pipes.rec_w, &rec.to_bytes());
    let mut b = [0u8; 1];
    // SAFETY: b is a valid 1-byte buffer; _exit never returns.
    unsafe {
        libc::read(pipes.sync_r, b.as_mut_ptr().cast(), 1);
        libc::_exit(error::EXIT_SETUP_FAILURE)
    }
}

fn parent_steps(
    plan: &Plan,
    pid: libc::pid_t,
    setgroups_denied: bool,
    cgroup: Option<&Cgroup>,
    placed: bool,
    rep: &mut RunReport,
) -> Result<(), ExecError> {
    for step in plan.steps.iter().filter(|s| s.in_parent()) {
        match step {
            Step::WriteIdMaps => spawn::write_id_maps(pid, plan, setgroups_denied)?,
            Step::EnterCgroup => {
                // Not placed by clone3(CLONE_INTO_CGROUP) nor joining by itself: move it.
                if let (Some(cg), false) = (cgroup, placed) {
                    cg.attach(pid)?;
                }
                if cgroup.is_none_or(Cgroup::is_inert) {
                    continue;
                }
            }
            Step::CreateCgroup => continue,
            _ => {}
        }
        rep.enforced.push(describe_step(plan, step));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::{compile, CompileOptions};
    use crate::profile::load::load;

    fn strict_plan() -> Plan {
        let loaded = load("builtin:strict").expect("builtin loads");
        let opts = CompileOptions {
            command: Some(vec!["true".into()]),
            command_optional: false,
        };
        compile(&loaded, &HostFacts::fixed(), &opts)
            .expect("builtin compiles")
            .plan
    }

    fn record(step: usize, call: Call, errno: Errno) -> Record {
        Record {
            kind: record_kind::FAILED,
            step: step as u32,
            call: call as u32,
            errno: errno as i32,
            ..Record::default()
        }
    }

    #[test]
    fn step_failure_renders_index_description_syscall_errno() {
        let plan = strict_plan();
        let i = plan
            .steps
            .iter()
            .position(|s| matches!(s, Step::Mount(m) if plan.mounts[*m].target == std::path::Path::new("/usr")))
            .expect("a /usr mount step");
        let e = to_error(&plan, record(i, Call::MoveMount, Errno::EPERM));
        let want = format!(
            "step {}/{} (bind /usr -> /usr, read-only, nodev): move_mount(2): EPERM",
            i + 1,
            plan.steps.len()
        );
        assert_eq!(e.to_string(), want);
        assert_eq!(e.exit_code(), 125);
    }

    #[test]
    fn exec_failures_map_to_126_and_127() {
        let plan = strict_plan();
        let exec = plan.steps.len() - 1;
        let not_found = to_error(&plan, record(exec, Call::Execve, Errno::ENOENT));
        assert_eq!(not_found.exit_code(), 127);
        assert!(not_found
            .to_string()
            .ends_with("execve(2): ENOENT (command not found)"));
        let denied = to_error(&plan, record(exec, Call::Execve, Errno::EACCES));
        assert_eq!(denied.exit_code(), 126);
        assert!(denied
            .to_string()
            .ends_with("execve(2): EACCES (not executable)"));
    }

    #[test]
    fn pseudo_steps_are_named() {
        let plan = strict_plan();
        let e = to_error(
            &plan,
            record(pseudo_step::LOOPBACK as usize, Call::Ioctl, Errno::EPERM),
        );
        assert_eq!(
            e.to_string(),
            "network namespace: bring up loopback: ioctl(2): EPERM"
        );
        assert_eq!(e.exit_code(), 125);
    }

    #[test]
    fn namespaces_are_listed_in_order() {
        let plan = strict_plan();
        let ns = namespaces(&plan);
        assert_eq!(ns.first(), Some(&"user"));
        assert!(ns.contains(&"pid") && ns.contains(&"net"));
    }
}
