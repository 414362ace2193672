//! errno numbers ↔ names, for seccomp actions written as `errno:NAME` in profiles.

/// Linux errno names by number (asm-generic values, x86_64 and aarch64 agree).
const NAMES: &[(i32, &str)] = &[
    (libc::EPERM, "EPERM"),
    (libc::ENOENT, "ENOENT"),
    (libc::ESRCH, "ESRCH"),
    (libc::EINTR, "EINTR"),
    (libc::EIO, "EIO"),
    (libc::ENXIO, "ENXIO"),
    (libc::E2BIG, "E2BIG"),
    (libc::ENOEXEC, "ENOEXEC"),
    (libc::EBADF, "EBADF"),
    (libc::ECHILD, "ECHILD"),
    (libc::EAGAIN, "EAGAIN"),
    (libc::ENOMEM, "ENOMEM"),
    (libc::EACCES, "EACCES"),
    (libc::EFAULT, "EFAULT"),
    (libc::EBUSY, "EBUSY"),
    (libc::EEXIST, "EEXIST"),
    (libc::EXDEV, "EXDEV"),
    (libc::ENODEV, "ENODEV"),
    (libc::ENOTDIR, "ENOTDIR"),
    (libc::EISDIR, "EISDIR"),
    (libc::EINVAL, "EINVAL"),
    (libc::ENFILE, "ENFILE"),
    (libc::EMFILE, "EMFILE"),
    (libc::ENOTTY, "ENOTTY"),
    (libc::EFBIG, "EFBIG"),
    (libc::ENOSPC, "ENOSPC"),
    (libc::ESPIPE, "ESPIPE"),
    (libc::EROFS, "EROFS"),
    (libc::EMLINK, "EMLINK"),
    (libc::EPIPE, "EPIPE"),
    (libc::ERANGE, "ERANGE"),
    (libc::ENOSYS, "ENOSYS"),
    (libc::ENOTSUP, "ENOTSUP"),
    (libc::EAFNOSUPPORT, "EAFNOSUPPORT"),
    (libc::EPROTONOSUPPORT, "EPROTONOSUPPORT"),
    (libc::ECONNREFUSED, "ECONNREFUSED"),
    (libc::ENETUNREACH, "ENETUNREACH"),
    (libc::ETIMEDOUT, "ETIMEDOUT"),
    (libc::ENOTCONN, "ENOTCONN"),
];

/// The name of an errno, `None` when it is not in the table.
pub(super) fn name(errno: i32) -> Option<&'static str> {
    NAMES.iter().find(|(n, _)| *n == errno).map(|(_, s)| *s)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_unique_and_known() {
        assert_eq!(super::name(libc::EPERM), Some("EPERM"));
        assert_eq!(super::name(libc::ENOSYS), Some("ENOSYS"));
        assert_eq!(super::name(100_000), None);
    }
}
