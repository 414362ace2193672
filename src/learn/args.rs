//! The arguments of a call that a seccomp rule could filter, as learn records them: socket
//! family and type, ioctl request, prctl option, the namespace flags of clone/clone3/unshare,
//! and PROT_EXEC of mmap/mprotect. Pure (the tracer hands in the raw arguments, and for
//! clone3 the first word of its `struct clone_args`).
//!
//! They are recorded and shown in the patch for review; the patch's rules do not restrict
//! arguments (one run does not show every value a program may pass).

/// The calls [`filterable`] names an argument of.
pub const CALLS: &[&str] = &[
    "socket",
    "socketpair",
    "ioctl",
    "prctl",
    "clone",
    "clone3",
    "unshare",
    "mmap",
    "mprotect",
    "pkey_mprotect",
];

/// `(what, value)` for a call whose arguments seccomp could filter; `None` otherwise.
/// `clone3_flags`: the `flags` field of clone3's argument, read from the tracee.
pub fn filterable(
    name: &str,
    a: &[u64; 6],
    clone3_flags: Option<u64>,
) -> Option<(&'static str, String)> {
    match name {
        "socket" | "socketpair" => Some((
            "family/type",
            format!("{}/{}", family(a[0]), sock_type(a[1])),
        )),
        "ioctl" => Some(("request", format!("{:#x}", a[1] as u32))),
        "prctl" => Some(("option", (a[0] as i32).to_string())),
        "clone" => Some(("namespaces", namespaces(a[0]))),
        "clone3" => clone3_flags.map(|f| ("namespaces", namespaces(f))),
        "unshare" => Some(("namespaces", namespaces(a[0]))),
        "mmap" | "mprotect" | "pkey_mprotect" => Some((
            "prot",
            if a[2] & libc::PROT_EXEC as u64 != 0 {
                "PROT_EXEC"
            } else {
                "no PROT_EXEC"
            }
            .to_owned(),
        )),
        _ => None,
    }
}

/// The capability an EPERM of `call` means was missing.
pub fn capability_for_eperm(call: &str) -> Option<&'static str> {
    crate::exec::confine::EPERM_CAPS
        .iter()
        .find(|(c, _)| *c == call)
        .map(|(_, cap)| *cap)
}

fn family(f: u64) -> String {
    match f as i32 {
        libc::AF_UNIX => "AF_UNIX".into(),
        libc::AF_INET => "AF_INET".into(),
        libc::AF_INET6 => "AF_INET6".into(),
        libc::AF_NETLINK => "AF_NETLINK".into(),
        libc::AF_PACKET => "AF_PACKET".into(),
        other => format!("family {other}"),
    }
}

fn sock_type(t: u64) -> String {
    // The low bits; SOCK_NONBLOCK and SOCK_CLOEXEC are flags, not the type.
    match (t as i32) & 0xf {
        libc::SOCK_STREAM => "SOCK_STREAM".into(),
        libc::SOCK_DGRAM => "SOCK_DGRAM".into(),
        libc::SOCK_RAW => "SOCK_RAW".into(),
        libc::SOCK_SEQPACKET => "SOCK_SEQPACKET".into(),
        other => format!("type {other}"),
    }
}

/// The CLONE_NEW* flags set, or `none` (a thread or a plain fork).
fn namespaces(flags: u64) -> String {
    let names = [
        (libc::CLONE_NEWUSER, "user"),
        (libc::CLONE_NEWNS, "mount"),
        (libc::CLONE_NEWPID, "pid"),
        (libc::CLONE_NEWNET, "net"),
        (libc::CLONE_NEWIPC, "ipc"),
        (libc::CLONE_NEWUTS, "uts"),
        (libc::CLONE_NEWCGROUP, "cgroup"),
    ];
    let set: Vec<&str> = names
        .iter()
        .filter(|(bit, _)| flags & *bit as u64 != 0)
        .map(|(_, n)| *n)
        .collect();
    if set.is_empty() {
        "none".into()
    } else {
        set.join("+")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filterable_arguments_are_named() {
        let a = |x: [u64; 6]| x;
        assert_eq!(
            filterable("socket", &a([2, 1 | 0o2000000, 0, 0, 0, 0]), None),
            Some(("family/type", "AF_INET/SOCK_STREAM".into()))
        );
        assert_eq!(
            filterable("ioctl", &a([1, 0x5401, 0, 0, 0, 0]), None),
            Some(("request", "0x5401".into()))
        );
        assert_eq!(
            filterable(
                "clone",
                &a([libc::CLONE_NEWUSER as u64 | 17, 0, 0, 0, 0, 0]),
                None
            ),
            Some(("namespaces", "user".into()))
        );
        assert_eq!(
            filterable("clone3", &a([0; 6]), Some(0)),
            Some(("namespaces", "none".into()))
        );
        assert_eq!(
            filterable("mmap", &a([0, 4096, 5, 0, 0, 0]), None),
            Some(("prot", "PROT_EXEC".into()))
        );
        assert_eq!(filterable("read", &a([0; 6]), None), None);
    }
}
