//! The child's records as the parent reads them: each step it completed (for the run
//! report's `enforced` list, in plan order), a step it skipped, and the first failure,
//! turned into an [`ExecError`] naming the step, the call and the errno.

use super::error::{pseudo_step, record_kind, Call, Record};
use super::report::Skipped;
use super::{
    hints, host_path_error, prepare, sandbox_paths, ExecError, RunReport, SETUP_TIMEOUT_FLOOR_MS,
};
use crate::plan::explain::describe_step;
use crate::plan::{Plan, Step};
use nix::errno::Errno;
use std::os::fd::RawFd;
use std::time::Instant;

/// Read the child's records until EOF (the payload's execve succeeded) or a failure.
/// A setup that outlives `deadline` (the wall-time limit, counted from the start) is
/// reported as a failure; the caller then kills the child.
pub(super) fn read_records(
    plan: &Plan,
    prep: &prepare::Prepared,
    fd: RawFd,
    rep: &mut RunReport,
    deadline: Option<Instant>,
) -> Option<ExecError> {
    let mut failure = None;
    let mut last_child_step = 0usize;
    let mut skipped_steps = Vec::new();
    'records: loop {
        let mut buf = [0u8; Record::SIZE];
        let mut got = 0;
        while got < Record::SIZE {
            if let Some(d) = deadline {
                let left = d.saturating_duration_since(Instant::now());
                let mut p = libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                };
                let ms = i32::try_from(left.as_millis().max(1)).unwrap_or(i32::MAX);
                // SAFETY: one valid pollfd.
                if unsafe { libc::poll(&mut p, 1, ms) } == 0 {
                    failure = Some(ExecError::SetupTimeout {
                        after_ms: plan
                            .process
                            .timeout_ms
                            .unwrap_or(0)
                            .max(SETUP_TIMEOUT_FLOOR_MS),
                    });
                    break 'records;
                }
            }
            // SAFETY: reading into the unfilled tail of a live buffer.
            let n = unsafe { libc::read(fd, buf[got..].as_mut_ptr().cast(), Record::SIZE - got) };
            if n < 0 && Errno::last() == Errno::EINTR {
                continue;
            }
            if n <= 0 {
                break;
            }
            got += n as usize;
        }
        if got < Record::SIZE {
            break;
        }
        let rec = Record::from_bytes(buf);
        match rec.kind {
            record_kind::SKIPPED => {
                skipped_steps.push(rec.step as usize);
                if let Some(step) = plan.steps.get(rec.step as usize) {
                    rep.skipped.push(Skipped {
                        setting: describe_step(plan, step),
                        reason: "optional source does not exist".into(),
                    });
                }
            }
            record_kind::LANDLOCK => {
                rep.landlock = Some(crate::exec::confine::LandlockStatus {
                    ruleset: rec.data as u8,
                    missing: rec.data2,
                });
            }
            _ => {
                last_child_step = rec.step as usize;
                failure = Some(
                    sandbox_paths::describe(plan, prep, &rec)
                        .unwrap_or_else(|| to_error(plan, rec)),
                );
            }
        }
    }
    // Steps the child completed: all of them on success, those before the failure
    // otherwise; a skipped optional mount was not enforced.
    let done = match &failure {
        None => plan.steps.len(),
        Some(_) => last_child_step.min(plan.steps.len()),
    };
    for (i, step) in plan.steps.iter().enumerate().take(done) {
        if step.in_parent() || skipped_steps.contains(&i) {
            continue;
        }
        rep.enforced.push(describe_step(plan, step));
    }
    failure
}

pub(super) fn to_error(plan: &Plan, rec: Record) -> ExecError {
    let call = Call::from_u32(rec.call).map_or("unknown syscall", Call::name);
    let errno = Errno::from_raw(rec.errno);
    let total = plan.steps.len();
    let desc_for = |s: u32| -> &'static str {
        match s {
            pseudo_step::SYNC => "waiting for the parent",
            pseudo_step::LOOPBACK => "network namespace: bring up loopback",
            pseudo_step::EGRESS => "network proxy: listeners on the sandbox's loopback",
            pseudo_step::TIME_NS => "time namespace: clock offsets",
            pseudo_step::CGROUP_NS => "cgroup namespace",
            pseudo_step::CLOSE_FDS => "close inherited file descriptors",
            pseudo_step::INIT => "start init",
            _ => "unknown step",
        }
    };
    match plan.steps.get(rec.step as usize) {
        Some(step @ Step::Exec) if rec.call == Call::Execve as u32 => ExecError::Exec {
            index: rec.step as usize + 1,
            total,
            desc: describe_step(plan, step),
            call,
            errno,
            not_found: matches!(errno, Errno::ENOENT | Errno::ENOTDIR),
            hint: if errno == Errno::EACCES {
                hints::exec_denied(plan)
            } else {
                String::new()
            },
        },
        Some(step) => ExecError::Step {
            index: rec.step as usize + 1,
            total,
            desc: describe_step(plan, step),
            call: if rec.call == Call::OpenHostPath as u32 && errno == Errno::ELOOP {
                host_path_error::describe(plan, step).unwrap_or_else(|| call.to_string())
            } else if rec.data != 0 {
                crate::exec::confine::describe_call(
                    rec.data as u8,
                    rec.data2 as u32,
                    plan.landlock.as_ref(),
                    &plan.rlimits,
                )
            } else {
                call.to_string()
            },
            errno,
        },
        None => ExecError::Setup {
            desc: desc_for(rec.step),
            call,
            errno,
        },
    }
}
