//! Named syscall groups with systemd's names and membership (`@mount`, `@privileged`, ...).
//!
//! The table is data, written after the membership systemd 252 reports with
//! `systemd-analyze syscall-filter` (the systemd of Debian 12, the reference platform), plus
//! `@sandbox` (landlock_* and seccomp) which systemd added later. Members are syscall names
//! for every architecture systemd supports, so a group names syscalls that do not exist on
//! x86_64 (`vm86`, `_llseek`, `*32`, ...): the seccomp compiler skips those for the native
//! architecture (a deny list cannot be weakened by a syscall the kernel does not have).
//! Members starting with `@` include another group.

/// One named group. Members are syscall names or other `@groups`.
#[derive(Debug)]
pub struct Group {
    pub name: &'static str,
    pub description: &'static str,
    pub members: &'static [&'static str],
}

/// Every group, sorted by name.
#[rustfmt::skip]
pub static GROUPS: &[Group] = &[
    Group {
        name: "@aio",
        description: "Asynchronous IO",
        members: &[
            "io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64",
            "io_setup", "io_submit", "io_uring_enter", "io_uring_register", "io_uring_setup",
        ],
    },
    Group {
        name: "@basic-io",
        description: "Basic IO",
        members: &[
            "_llseek", "close", "close_range", "dup", "dup2", "dup3", "lseek", "pread64", "preadv",
            "preadv2", "pwrite64", "pwritev", "pwritev2", "read", "readv", "write", "writev",
        ],
    },
    Group {
        name: "@chown",
        description: "Change ownership of files and directories",
        members: &[
            "chown", "chown32", "fchown", "fchown32", "fchownat", "lchown", "lchown32",
        ],
    },
    Group {
        name: "@clock",
        description: "Change the system time",
        members: &[
            "adjtimex", "clock_adjtime", "clock_adjtime64", "clock_settime", "clock_settime64",
            "settimeofday",
        ],
    },
    Group {
        name: "@cpu-emulation",
        description: "System calls for CPU emulation functionality",
        members: &[
            "modify_ldt", "subpage_prot", "switch_endian", "vm86", "vm86old",
        ],
    },
    Group {
        name: "@debug",
        description: "Debugging, performance monitoring and tracing functionality",
        members: &[
            "lookup_dcookie", "perf_event_open", "pidfd_getfd", "ptrace", "rtas",
            "s390_runtime_instr", "sys_debug_setcontext",
        ],
    },
    Group {
        name: "@default",
        description: "System calls that are always permitted",
        members: &[
            "arch_prctl", "brk", "cacheflush", "clock_getres", "clock_getres_time64",
            "clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64",
            "execve", "exit", "exit_group", "futex", "futex_time64", "futex_waitv",
            "get_robust_list", "get_thread_area", "getegid", "getegid32", "geteuid", "geteuid32",
            "getgid", "getgid32", "getgroups", "getgroups32", "getpgid", "getpgrp", "getpid",
            "getppid", "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32",
            "getrlimit", "getsid", "gettid", "gettimeofday", "getuid", "getuid32", "membarrier",
            "mmap", "mmap2", "mprotect", "munmap", "nanosleep", "pause", "prlimit64",
            "restart_syscall", "riscv_flush_icache", "riscv_hwprobe", "rseq", "rt_sigreturn",
            "sched_getaffinity", "sched_yield", "set_robust_list", "set_thread_area",
            "set_tid_address", "set_tls", "sigreturn", "time", "ugetrlimit", "uretprobe",
        ],
    },
    Group {
        name: "@file-system",
        description: "File system operations",
        members: &[
            "access", "chdir", "chmod", "close", "creat", "faccessat", "faccessat2", "fallocate",
            "fchdir", "fchmod", "fchmodat", "fchmodat2", "fcntl", "fcntl64", "fgetxattr",
            "flistxattr", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs",
            "fstatfs64", "ftruncate", "ftruncate64", "futimesat", "getcwd", "getdents",
            "getdents64", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1",
            "inotify_rm_watch", "lgetxattr", "link", "linkat", "listxattr", "llistxattr",
            "lremovexattr", "lsetxattr", "lstat", "lstat64", "mkdir", "mkdirat", "mknod",
            "mknodat", "newfstatat", "oldfstat", "oldlstat", "oldstat", "open", "openat",
            "openat2", "readlink", "readlinkat", "removexattr", "rename", "renameat", "renameat2",
            "rmdir", "setxattr", "stat", "stat64", "statfs", "statfs64", "statx", "symlink",
            "symlinkat", "truncate", "truncate64", "unlink", "unlinkat", "utime", "utimensat",
            "utimensat_time64", "utimes",
        ],
    },
    Group {
        name: "@io-event",
        description: "Event loop system calls",
        members: &[
            "_newselect", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old",
            "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2",
            "poll", "ppoll", "ppoll_time64", "pselect6", "pselect6_time64", "select",
        ],
    },
    Group {
        name: "@ipc",
        description: "SysV IPC, POSIX Message Queues or other IPC",
        members: &[
            "ipc", "memfd_create", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
            "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "msgctl",
            "msgget", "msgrcv", "msgsnd", "pipe", "pipe2", "process_madvise", "process_vm_readv",
            "process_vm_writev", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64",
            "shmat", "shmctl", "shmdt", "shmget",
        ],
    },
    Group {
        name: "@keyring",
        description: "Kernel keyring access",
        members: &[
            "add_key", "keyctl", "request_key",
        ],
    },
    Group {
        name: "@memlock",
        description: "Memory locking control",
        members: &[
            "mlock", "mlock2", "mlockall", "munlock", "munlockall",
        ],
    },
    Group {
        name: "@module",
        description: "Loading and unloading of kernel modules",
        members: &[
            "delete_module", "finit_module", "init_module",
        ],
    },
    Group {
        name: "@mount",
        description: "Mounting and unmounting of file systems",
        members: &[
            "chroot", "fsconfig", "fsmount", "fsopen", "fspick", "mount", "mount_setattr",
            "move_mount", "open_tree", "pivot_root", "umount", "umount2",
        ],
    },
    Group {
        name: "@network-io",
        description: "Network or Unix socket IO, should not be needed if not network facing",
        members: &[
            "accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt",
            "listen", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "send",
            "sendmmsg", "sendmsg", "sendto", "setsockopt", "shutdown", "socket", "socketcall",
            "socketpair",
        ],
    },
    Group {
        name: "@obsolete",
        description: "Unusual, obsolete or unimplemented system calls",
        members: &[
            "_sysctl", "afs_syscall", "bdflush", "break", "create_module", "ftime",
            "get_kernel_syms", "getpmsg", "gtty", "idle", "lock", "mpx", "prof", "profil",
            "putpmsg", "query_module", "security", "sgetmask", "ssetmask", "stime", "stty",
            "sysfs", "tuxcall", "ulimit", "uselib", "ustat", "vserver",
        ],
    },
    Group {
        name: "@pkey",
        description: "System calls used for memory protection keys",
        members: &[
            "pkey_alloc", "pkey_free", "pkey_mprotect",
        ],
    },
    Group {
        name: "@privileged",
        description: "All system calls which need super-user capabilities",
        members: &[
            "@chown", "@clock", "@module", "@raw-io", "@reboot", "@swap", "_sysctl", "acct", "bpf",
            "capset", "chroot", "fanotify_init", "fanotify_mark", "nfsservctl",
            "open_by_handle_at", "pivot_root", "quotactl", "quotactl_fd", "setdomainname",
            "setfsuid", "setfsuid32", "setgroups", "setgroups32", "sethostname", "setresuid",
            "setresuid32", "setreuid", "setreuid32", "setuid", "setuid32", "vhangup",
        ],
    },
    Group {
        name: "@process",
        description: "Process control, execution, namespacing operations",
        members: &[
            "capget", "clone", "clone3", "execveat", "fork", "getrusage", "kill", "pidfd_open",
            "pidfd_send_signal", "prctl", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "setns",
            "swapcontext", "tgkill", "times", "tkill", "unshare", "vfork", "wait4", "waitid",
            "waitpid",
        ],
    },
    Group {
        name: "@raw-io",
        description: "Raw I/O port access",
        members: &[
            "ioperm", "iopl", "pciconfig_iobase", "pciconfig_read", "pciconfig_write",
            "s390_pci_mmio_read", "s390_pci_mmio_write",
        ],
    },
    Group {
        name: "@reboot",
        description: "Reboot and reboot preparation/kexec",
        members: &[
            "kexec_file_load", "kexec_load", "reboot",
        ],
    },
    Group {
        name: "@resources",
        description: "Alter resource settings",
        members: &[
            "ioprio_set", "mbind", "migrate_pages", "move_pages", "nice", "sched_setaffinity",
            "sched_setattr", "sched_setparam", "sched_setscheduler", "set_mempolicy",
            "set_mempolicy_home_node", "setpriority", "setrlimit",
        ],
    },
    Group {
        name: "@sandbox",
        description: "Seccomp and Landlock sandbox configuration (systemd 257+)",
        members: &[
            "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "seccomp",
        ],
    },
    Group {
        name: "@setuid",
        description: "Operations for changing user/group credentials",
        members: &[
            "setgid", "setgid32", "setgroups", "setgroups32", "setregid", "setregid32",
            "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32",
            "setuid", "setuid32",
        ],
    },
    Group {
        name: "@signal",
        description: "Process signal handling",
        members: &[
            "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigsuspend", "rt_sigtimedwait",
            "rt_sigtimedwait_time64", "sigaction", "sigaltstack", "signal", "signalfd",
            "signalfd4", "sigpending", "sigprocmask", "sigsuspend",
        ],
    },
    Group {
        name: "@swap",
        description: "Enable/disable swap devices",
        members: &[
            "swapoff", "swapon",
        ],
    },
    Group {
        name: "@sync",
        description: "Synchronize files and memory to storage",
        members: &[
            "fdatasync", "fsync", "msync", "sync", "sync_file_range", "sync_file_range2", "syncfs",
        ],
    },
    Group {
        name: "@system-service",
        description: "General system service operations",
        members: &[
            "@aio", "@basic-io", "@chown", "@default", "@file-system", "@io-event", "@ipc",
            "@keyring", "@memlock", "@network-io", "@process", "@resources", "@setuid", "@signal",
            "@sync", "@timer", "arm_fadvise64_64", "capget", "capset", "copy_file_range",
            "fadvise64", "fadvise64_64", "flock", "get_mempolicy", "getcpu", "getpriority",
            "ioctl", "ioprio_get", "kcmp", "madvise", "mremap", "name_to_handle_at", "oldolduname",
            "olduname", "personality", "readahead", "readdir", "remap_file_pages",
            "sched_get_priority_max", "sched_get_priority_min", "sched_getattr", "sched_getparam",
            "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
            "sched_yield", "sendfile", "sendfile64", "setfsgid", "setfsgid32", "setfsuid",
            "setfsuid32", "setpgid", "setsid", "splice", "sysinfo", "tee", "umask", "uname",
            "userfaultfd", "vmsplice",
        ],
    },
    Group {
        name: "@timer",
        description: "Schedule operations by time",
        members: &[
            "alarm", "getitimer", "setitimer", "timer_create", "timer_delete", "timer_getoverrun",
            "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
            "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
            "timerfd_settime64", "times",
        ],
    },
];

/// Look a group up by name (with the leading `@`).
pub fn lookup(name: &str) -> Option<&'static Group> {
    GROUPS.iter().find(|g| g.name == name)
}

/// Expand a group to syscall names, recursively, sorted and without duplicates.
/// `None` when the group (or a group it includes) does not exist.
pub fn expand(name: &str) -> Option<Vec<&'static str>> {
    let mut out = Vec::new();
    expand_into(name, &mut out, 0)?;
    out.sort_unstable();
    out.dedup();
    Some(out)
}

fn expand_into(name: &str, out: &mut Vec<&'static str>, depth: u32) -> Option<()> {
    // The table nests at most two levels; the bound turns an accidental cycle into `None`
    // instead of a stack overflow.
    if depth > 8 {
        return None;
    }
    for m in lookup(name)?.members {
        if m.starts_with('@') {
            expand_into(m, out, depth + 1)?;
        } else {
            out.push(m);
        }
    }
    Some(())
}

/// The text of `stockade seccomp groups`: every group with its description and members
/// (included groups listed as `@name`, as systemd-analyze does).
pub fn render_groups() -> String {
    let mut out = String::new();
    for (i, g) in GROUPS.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(g.name);
        out.push('\n');
        out.push_str("    # ");
        out.push_str(g.description);
        out.push('\n');
        for m in g.members {
            out.push_str("    ");
            out.push_str(m);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYSTEMD_NAMES: &[&str] = &[
        "@default",
        "@basic-io",
        "@file-system",
        "@io-event",
        "@ipc",
        "@keyring",
        "@memlock",
        "@module",
        "@mount",
        "@network-io",
        "@obsolete",
        "@privileged",
        "@process",
        "@raw-io",
        "@reboot",
        "@resources",
        "@setuid",
        "@signal",
        "@swap",
        "@sync",
        "@system-service",
        "@timer",
        "@clock",
        "@cpu-emulation",
        "@debug",
        "@aio",
        "@chown",
        "@pkey",
        "@sandbox",
    ];

    #[test]
    fn every_systemd_group_exists_and_expands() {
        for name in SYSTEMD_NAMES {
            let members = expand(name).unwrap_or_else(|| panic!("{name} missing"));
            assert!(!members.is_empty(), "{name} is empty");
        }
        assert_eq!(GROUPS.len(), SYSTEMD_NAMES.len());
    }

    #[test]
    fn table_is_sorted_unique_and_references_resolve() {
        for pair in GROUPS.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} before {}",
                pair[0].name,
                pair[1].name
            );
        }
        for g in GROUPS {
            assert!(g.name.starts_with('@'));
            let mut seen = std::collections::HashSet::new();
            for m in g.members {
                assert!(seen.insert(m), "{} lists {m} twice", g.name);
                if m.starts_with('@') {
                    assert!(lookup(m).is_some(), "{} includes unknown {m}", g.name);
                } else {
                    assert!(
                        m.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                        "bad syscall name {m}"
                    );
                }
            }
        }
    }

    #[test]
    fn expansion_is_the_union_of_direct_members_and_included_groups() {
        for g in GROUPS {
            let expanded = expand(g.name).unwrap();
            let mut want: Vec<&str> = Vec::new();
            for m in g.members {
                match m.strip_prefix('@') {
                    Some(_) => want.extend(expand(m).unwrap()),
                    None => want.push(m),
                }
            }
            want.sort_unstable();
            want.dedup();
            assert_eq!(expanded, want, "{}", g.name);
        }
    }

    #[test]
    fn known_memberships_match_systemd() {
        let mount = expand("@mount").unwrap();
        for s in [
            "mount",
            "umount2",
            "pivot_root",
            "fsopen",
            "fsmount",
            "move_mount",
            "open_tree",
            "mount_setattr",
            "chroot",
        ] {
            assert!(mount.contains(&s), "@mount lacks {s}");
        }
        let privileged = expand("@privileged").unwrap();
        for s in [
            "chown",
            "settimeofday",
            "init_module",
            "reboot",
            "swapon",
            "iopl",
            "bpf",
            "setuid",
        ] {
            assert!(privileged.contains(&s), "@privileged lacks {s}");
        }
        let service = expand("@system-service").unwrap();
        for s in [
            "read", "openat", "clone", "socket", "kill", "setuid", "ioctl", "execve",
        ] {
            assert!(service.contains(&s), "@system-service lacks {s}");
        }
        for s in ["mount", "reboot", "init_module", "ptrace", "swapon"] {
            assert!(
                !service.contains(&s),
                "@system-service must not contain {s}"
            );
        }
        assert_eq!(
            expand("@sandbox").unwrap(),
            [
                "landlock_add_rule",
                "landlock_create_ruleset",
                "landlock_restrict_self",
                "seccomp"
            ]
        );
    }

    #[test]
    fn unknown_groups_do_not_expand() {
        assert!(expand("@nope").is_none());
        assert!(lookup("mount").is_none());
    }

    #[test]
    fn render_lists_every_group_with_description_and_members() {
        let text = render_groups();
        for g in GROUPS {
            assert!(text.contains(&format!("{}\n    # {}\n", g.name, g.description)));
        }
        assert!(text.contains("\n    pivot_root\n"));
    }
}
