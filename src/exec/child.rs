//! The child after clone: wait for the parent, set up the namespaces, run the plan's
//! steps in order, execve. No allocation, no panics, no logging: a failure is sent to the
//! parent as one fixed-size [`Record`] and the child `_exit`s.

use super::confine;
use super::error::{pseudo_step, record_kind, Call, Ctx, Fail, Record};
use super::error::{EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND, EXIT_SETUP_FAILURE};
use super::prepare::Prepared;
use super::{identity, init, mounts, pivot, sys};
use crate::plan::{Plan, Step};
use nix::errno::Errno;
use std::os::fd::RawFd;

/// The child's ends of the launch pipes.
#[derive(Debug, Clone, Copy)]
pub struct ChildFds {
    /// Parent → child: one byte releases the child (id maps and cgroup are in place).
    /// Kept open until execve: it reports POLLHUP once the supervisor is gone.
    pub sync_r: RawFd,
    /// The parent's end, closed at once in the child so only the supervisor holds it.
    pub sync_w: RawFd,
    /// Child → parent: records; EOF (CLOEXEC) means the payload's execve succeeded.
    pub rec_w: RawFd,
    /// Init → parent: the payload's stops (wait statuses with WIFSTOPPED) and, last, its
    /// raw wait status (-1 without init).
    pub status_w: RawFd,
    /// `network.mode = "proxy"`: the channel the listeners go to the proxy over (-1
    /// otherwise). Closed by `crate::net::listeners::create_and_send`.
    pub egress: RawFd,
}

struct Child<'a> {
    plan: &'a Plan,
    prep: &'a mut Prepared,
    fds: ChildFds,
    root: RawFd,
    saved_umask: libc::mode_t,
    umask_set: bool,
    /// confine::last_call() before the current step, to tell whether it failed in there.
    confine_mark: (u8, u32),
    /// This is the payload process (init has been started).
    in_payload: bool,
    /// Without a PID namespace: this process's `/proc/thread-self/children`, opened before
    /// the root changes and Landlock applies (init reads it to find what is left); -1
    /// otherwise.
    keeper_children: RawFd,
    /// The pty was attached (fds 0, 1, 2 are its slave).
    pty_attached: bool,
}

fn send(fd: RawFd, rec: Record) {
    let _ = sys::write_all(fd, &rec.to_bytes());
}

fn exit(code: i32) -> ! {
    // SAFETY: _exit is async-signal-safe and never returns.
    unsafe { libc::_exit(code) }
}

impl Child<'_> {
    fn fail(&self, step: u32, f: Fail) -> ! {
        // A confinement function records the syscall it was in (and on what: a path, a
        // capability); pass it on when it changed during this step.
        let (call, index) = confine::last_call();
        let fresh = (call, index) != self.confine_mark && call != 0;
        send(
            self.fds.rec_w,
            Record {
                kind: record_kind::FAILED,
                step,
                call: f.call as u32,
                errno: f.errno as i32,
                data: if fresh { u64::from(call) } else { 0 },
                data2: u64::from(if fresh { index } else { f.at }),
            },
        );
        exit(EXIT_SETUP_FAILURE)
    }

    fn check<T>(&self, step: u32, r: Result<T, Fail>) -> T {
        match r {
            Ok(v) => v,
            Err(f) => self.fail(step, f),
        }
    }

    /// Whether the supervisor is gone (its end of the sync pipe is closed). Used after
    /// re-arming PR_SET_PDEATHSIG, to close the window in which the signal was unset;
    /// unlike getppid() it works inside a PID namespace too.
    fn parent_gone(&self) -> bool {
        let mut p = libc::pollfd {
            fd: self.fds.sync_r,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, zero timeout.
        let n = unsafe { libc::poll(&mut p, 1, 0) };
        n > 0 && p.revents & libc::POLLHUP != 0
    }

    /// Namespace work that is not a plan step: it belongs to the namespaces themselves.
    fn setup(&mut self) {
        let plan = self.plan;
        sys::close(self.fds.sync_w);
        if plan.process.die_with_parent {
            let r = identity::set_pdeathsig();
            self.check(pseudo_step::SYNC, r);
        }
        // Wait for the parent: id maps written, cgroup joined. EOF means the parent died
        // or gave up (before PR_SET_PDEATHSIG could fire): leave quietly.
        let mut b = [0u8; 1];
        // SAFETY: b is a valid 1-byte buffer.
        let n = unsafe { libc::read(self.fds.sync_r, b.as_mut_ptr().cast(), 1) };
        if n != 1 {
            exit(EXIT_SETUP_FAILURE);
        }
        // Before any mount or mkdir: files the child creates need an owner the namespace
        // can represent.
        if self.prep.become_ns_root {
            let r = identity::become_ns_root();
            self.check(pseudo_step::SYNC, r);
        }
        // Modes of created directories and files must not depend on the caller's umask;
        // the plan's umask is set by its own step.
        // SAFETY: umask cannot fail.
        self.saved_umask = unsafe { libc::umask(0) };
        let mut keep = [
            self.fds.sync_r,
            self.fds.rec_w,
            self.fds.status_w,
            self.fds.egress,
            self.prep.pty_slave,
        ];
        keep.sort_unstable();
        let r = identity::close_inherited_fds(&keep, self.prep.listen_fds);
        self.check(pseudo_step::CLOSE_FDS, r);
        if self.prep.init_fork_at.is_some() && !plan.namespaces.pid {
            let r = identity::open_own_children();
            self.keeper_children = self.check(pseudo_step::INIT, r);
        }
        if plan.namespaces.cgroup {
            let r = identity::enter_cgroup_ns();
            self.check(pseudo_step::CGROUP_NS, r);
        }
        if let Some(offsets) = &self.prep.time_offsets {
            let r = identity::enter_time_ns(offsets);
            self.check(pseudo_step::TIME_NS, r);
        }
        if plan.namespaces.net {
            let r = identity::loopback_up();
            self.check(pseudo_step::LOOPBACK, r);
        }
        // Right after loopback is up, before any lockdown: the proxy's listeners, on the
        // sandbox's own 127.0.0.1, go to the proxy process (see crate::net::listeners).
        if let (Some(e), true) = (&plan.egress, self.fds.egress >= 0) {
            let r = crate::net::listeners::create_and_send(
                self.fds.egress,
                [e.http_port, e.socks_port, e.dns_port],
            )
            .map_err(|errno| Fail::new(Call::Socket, Errno::from_raw(errno)));
            self.check(pseudo_step::EGRESS, r);
        }
    }

    /// Start the payload, which runs the steps from `from` on; this process becomes init
    /// and never returns.
    ///
    /// The payload shares init's memory until its execve (CLONE_VM | CLONE_VFORK): a plain
    /// fork would copy init's page tables only for the payload to throw them away two steps
    /// later. Init is suspended meanwhile, so the payload may use `self` freely; it runs on
    /// its own prepared stack because it must not overwrite init's stack frames.
    fn start_init(&mut self, from: usize) -> ! {
        let Some(stack_top) = self.prep.payload_stack.as_ref().map(sys::ChildStack::top) else {
            self.fail(pseudo_step::INIT, Fail::new(Call::Fork, Errno::EINVAL))
        };
        // Not dumpable, before the payload exists: the payload (same uid, no capabilities)
        // must never be able to ptrace init, which has no seccomp filter. Set after the
        // clone, it would race the payload's first instructions. The flag lives in the
        // memory map the two share until execve, which gives the payload a map of its own
        // with the flag computed afresh.
        // SAFETY: prctl with integer arguments.
        if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
            self.fail(pseudo_step::INIT, Fail::new(Call::Prctl, Errno::last()))
        }
        // Anything the payload writes through `self` or into statics before its execve
        // is seen by init afterwards (today: `in_payload`, the confinement call marker and
        // the environment buffer, none of which init reads). No signal handler may ever be
        // installed in this process: one could run on memory the payload is using.
        // Without a PID namespace nothing kills what the payload leaves behind when init
        // exits, so init becomes the sandbox's keeper: the subreaper every orphan of the
        // payload is reparented to (set before the payload exists, so none escapes), told
        // of the supervisor's death by a catchable signal instead of SIGKILL, so that it can
        // kill them all first (init::Keeper).
        let keeper = if self.plan.namespaces.pid {
            None
        } else {
            let r = identity::become_keeper(self.plan.process.die_with_parent);
            self.check(pseudo_step::INIT, r);
            if self.parent_gone() {
                exit(EXIT_SETUP_FAILURE);
            }
            Some(init::Keeper {
                children: self.keeper_children,
                supervisor: self.fds.sync_r,
                die_with_parent: self.plan.process.die_with_parent,
            })
        };
        let mut start = PayloadStart { child: self, from };
        let arg = (&mut start as *mut PayloadStart).cast::<libc::c_void>();
        // SAFETY: stack_top is the top of the payload's own ChildStack; payload_entry ends
        // in execve or _exit (run_steps never returns, and panics abort); `start` outlives
        // the call because this process is suspended until the payload execs or exits.
        let r = unsafe { sys::clone_vfork(payload_entry, stack_top, arg) };
        let c = start.child;
        match r {
            Err(e) => c.fail(pseudo_step::INIT, Fail::new(Call::Fork, e)),
            Ok(pid) => {
                // Init keeps no copy of the record pipe, so its EOF still means "the
                // payload's execve succeeded".
                sys::close(c.fds.rec_w);
                init::run(
                    pid,
                    c.fds.status_w,
                    keeper,
                    c.prep.job_group,
                    !c.plan.process.new_session,
                )
            }
        }
    }

    /// The payload's side of start_init, before its remaining steps.
    fn payload_setup(&mut self) {
        self.in_payload = true;
        // Its own process group (and the pty's foreground one) before anything else: init
        // signals the payload's job by this group (exec::forward).
        if self.prep.job_group {
            super::pty::lead_job(self.pty_attached);
        }
        if self.fds.status_w >= 0 {
            sys::close(self.fds.status_w);
        }
        if self.plan.process.die_with_parent {
            let r = identity::set_pdeathsig();
            self.check(pseudo_step::INIT, r);
        }
    }

    /// Run the plan's steps from `from` to the end (Exec never returns).
    fn run_steps(&mut self, from: usize) -> ! {
        let plan = self.plan;
        for (i, step) in plan.steps.iter().enumerate().skip(from) {
            if self.prep.init_fork_at == Some(i) && !self.in_payload {
                self.start_init(i);
            }
            self.confine_mark = confine::last_call();
            if let Err(f) = self.step(i, *step) {
                self.fail(i as u32, f);
            }
        }
        // A plan without an Exec step is a compiler bug; never run nothing silently.
        self.fail(
            plan.steps.len() as u32,
            Fail::new(Call::Execve, Errno::EINVAL),
        )
    }

    fn step(&mut self, i: usize, step: Step) -> Result<(), Fail> {
        let plan = self.plan;
        match step {
            Step::CreateCgroup | Step::WriteIdMaps | Step::EnterCgroup => Ok(()),
            Step::MakeMountsPrivate => {
                // SAFETY: NULL source/fstype/data are allowed for a propagation change.
                sys::cvt(unsafe {
                    libc::mount(
                        std::ptr::null(),
                        c"/".as_ptr(),
                        std::ptr::null(),
                        libc::MS_REC | libc::MS_PRIVATE,
                        std::ptr::null(),
                    )
                })
                .ctx(Call::Mount)
                .map(drop)
            }
            Step::PrepareRoot => match mounts::prepare_root(plan, self.prep) {
                Ok(fd) => {
                    self.root = fd;
                    Ok(())
                }
                Err((Some(s), f)) => self.fail(s, f),
                Err((None, f)) => Err(f),
            },
            Step::Mount(m) => {
                // A step naming a mount the plan lacks is a compiler bug: fail, never panic.
                if m >= self.prep.mounts.len() {
                    return Err(Fail::new(Call::Mount, Errno::EINVAL));
                }
                if mounts::skipped(self.prep, m) {
                    send(
                        self.fds.rec_w,
                        Record {
                            kind: record_kind::SKIPPED,
                            step: i as u32,
                            ..Record::default()
                        },
                    );
                    return Ok(());
                }
                mounts::apply(self.prep, self.root, m)
            }
            Step::PivotRoot => {
                // Mounts the executor adds beyond the plan's (the sd_notify relay socket,
                // exec::notify) go last, over everything the profile mounted.
                for m in plan.mounts.len()..self.prep.mounts.len() {
                    mounts::apply(self.prep, self.root, m)?;
                }
                let r = pivot::pivot(self.root);
                self.root = -1;
                r
            }
            Step::RootReadOnly => pivot::root_read_only(),
            Step::MaskPaths => pivot::mask_paths(self.prep),
            Step::ReadOnlyPaths => pivot::read_only_paths(self.prep),
            Step::ProtectPaths => super::protect::protect_paths(self.prep),
            Step::SetHostname => identity::set_hostname(&self.prep.hostname),
            Step::SetDomainname => identity::set_domainname(&self.prep.domainname),
            Step::SetRlimits => confine::apply_rlimits(&plan.rlimits, false).ctx(Call::Setrlimit),
            Step::NewSession => identity::new_session(),
            Step::SetUmask => {
                identity::set_umask(plan.process.umask);
                self.umask_set = true;
                Ok(())
            }
            Step::DropBoundingSet => {
                confine::drop_bounding_set(&plan.capabilities, self.prep.cap_last_cap)
                    .ctx(Call::Capset)
            }
            Step::SwitchUser => {
                identity::switch_user(plan, self.prep)?;
                if plan.process.die_with_parent {
                    // The credential change cleared PR_SET_PDEATHSIG: arm it again, then
                    // make sure the supervisor did not die in between.
                    identity::set_pdeathsig()?;
                    if self.parent_gone() {
                        exit(EXIT_SETUP_FAILURE);
                    }
                }
                Ok(())
            }
            Step::SetCapabilities => {
                confine::set_capabilities(&plan.capabilities).ctx(Call::Capset)
            }
            Step::Chdir => identity::chdir(&self.prep.cwd),
            Step::NoNewPrivs => identity::no_new_privs(),
            Step::Landlock => {
                let Some(l) = &self.prep.landlock else {
                    return Ok(());
                };
                let status = l.apply().ctx(Call::Landlock)?;
                send(
                    self.fds.rec_w,
                    Record {
                        kind: record_kind::LANDLOCK,
                        step: i as u32,
                        data: u64::from(status.ruleset),
                        data2: status.missing,
                        ..Record::default()
                    },
                );
                Ok(())
            }
            Step::SetNofileLimit => {
                confine::apply_rlimits(&plan.rlimits, true).ctx(Call::Setrlimit)
            }
            Step::AttachTerminal => {
                let slave = self.prep.pty_slave;
                if slave < 0 {
                    return Ok(());
                }
                super::pty::attach(slave)?;
                self.prep.pty_slave = -1;
                self.pty_attached = true;
                Ok(())
            }
            Step::Seccomp => match &self.prep.seccomp {
                Some(p) => p.load().ctx(Call::Seccomp),
                None => Ok(()),
            },
            Step::Exec => self.exec(i),
        }
    }

    /// execve the payload, trying each PATH candidate like execvp. Never returns.
    fn exec(&mut self, i: usize) -> ! {
        if !self.umask_set {
            identity::set_umask(self.saved_umask);
        }
        // SAFETY: getpid has no preconditions. (No-op without LISTEN_PID/WATCHDOG_PID.)
        self.prep.exec.set_listen_pid(unsafe { libc::getpid() });
        // The dispositions stockade inherited (it ignores SIGPIPE for itself, and an
        // ignored disposition survives execve; one it inherited ignored must stay so),
        // then the inherited mask.
        self.prep.dispositions.apply();
        // SAFETY: restoring the mask; the set is initialized.
        unsafe {
            libc::sigprocmask(
                libc::SIG_SETMASK,
                &self.prep.saved_mask,
                std::ptr::null_mut(),
            );
        }
        let e = &self.prep.exec;
        let mut denied = false;
        let mut errno = Errno::ENOENT;
        for c in &e.candidates {
            // SAFETY: NUL-terminated path; argv/envp are NULL-terminated pointer arrays
            // into buffers that live as long as `prep`.
            unsafe { libc::execve(c.as_ptr(), e.argv_ptrs.as_ptr(), e.envp_ptrs.as_ptr()) };
            match Errno::last() {
                Errno::ENOENT | Errno::ENOTDIR => {}
                Errno::EACCES => denied = true,
                other => {
                    errno = other;
                    break;
                }
            }
        }
        if denied && errno == Errno::ENOENT {
            errno = Errno::EACCES;
        }
        send(
            self.fds.rec_w,
            Record {
                kind: record_kind::FAILED,
                step: i as u32,
                call: Call::Execve as u32,
                errno: errno as i32,
                ..Record::default()
            },
        );
        exit(if errno == Errno::ENOENT {
            EXIT_NOT_FOUND
        } else {
            EXIT_NOT_EXECUTABLE
        })
    }
}

/// What the payload's entry point needs: the child's state, shared with the suspended
/// init, and the step to resume at.
struct PayloadStart<'c, 'a> {
    child: &'c mut Child<'a>,
    from: usize,
}

extern "C" fn payload_entry(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: arg is the PayloadStart start_init passed; init is suspended until this
    // process execs or exits, so nothing else accesses it meanwhile.
    let start = unsafe { &mut *arg.cast::<PayloadStart>() };
    let from = start.from;
    start.child.payload_setup();
    start.child.run_steps(from)
}

/// The child's entry point after clone.
pub fn run(plan: &Plan, prep: &mut Prepared, fds: ChildFds) -> ! {
    let mut c = Child {
        plan,
        prep,
        fds,
        root: -1,
        saved_umask: 0o022,
        umask_set: false,
        confine_mark: (0, 0),
        in_payload: false,
        keeper_children: -1,
        pty_attached: false,
    };
    c.setup();
    c.run_steps(0)
}
