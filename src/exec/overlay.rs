//! Overlay mounts over host directories pinned by fd (see [`overlay`]).

use super::error::{Call, Ctx, Fail};
use super::mounts::{open_host, Fd};
use super::sys;
use nix::errno::Errno;
use std::ffi::CStr;
use std::os::fd::RawFd;

/// The host directories of an overlay, as the plan names them.
pub struct OverlayDirs<'a> {
    pub lower: &'a [std::ffi::CString],
    pub upper: Option<&'a CStr>,
    pub work: Option<&'a CStr>,
}

/// `/proc/self/fd/N` for an fd, formatted without allocating.
struct FdPath([u8; FD_PATH_LEN]);

/// `/proc/self/fd/` (14 bytes), at most 10 digits, a NUL: room to spare.
pub const FD_PATH_LEN: usize = 32;

impl FdPath {
    fn new(fd: RawFd) -> FdPath {
        let mut b = [0u8; FD_PATH_LEN];
        let prefix = b"/proc/self/fd/";
        b[..prefix.len()].copy_from_slice(prefix);
        let mut digits = [0u8; 10];
        let (mut n, mut len) = (fd.max(0) as u32, 0);
        loop {
            digits[len] = b'0' + (n % 10) as u8;
            len += 1;
            n /= 10;
            if n == 0 || len == digits.len() {
                break;
            }
        }
        for k in 0..len {
            b[prefix.len() + k] = digits[len - 1 - k];
        }
        FdPath(b)
    }

    fn as_cstr(&self) -> &CStr {
        CStr::from_bytes_until_nul(&self.0).unwrap_or(c"")
    }

    fn bytes(&self) -> &[u8] {
        self.as_cstr().to_bytes()
    }
}

/// Close the fds of a scratch list on every exit path (and mark them closed).
struct FdList<'a>(&'a mut [RawFd]);

impl Drop for FdList<'_> {
    fn drop(&mut self) {
        for fd in self.0.iter_mut() {
            if *fd >= 0 {
                sys::close(*fd);
                *fd = -1;
            }
        }
    }
}

/// A new overlay mount over host directories opened with [`open_host`].
///
/// Check and pin: each directory is opened once with RESOLVE_NO_SYMLINKS, and overlayfs
/// is handed `/proc/self/fd/N` for it. The kernel resolves that magic link to exactly the
/// directory the fd holds, not by name again, so renaming or swapping the profile's path
/// for a link afterwards changes nothing. (`fsconfig(FSCONFIG_SET_FD)` for layers needs a
/// newer kernel than the 6.1 this must run on; the /proc path works on every kernel with
/// the new mount API. /proc here is still the host's own procfs: nothing the sandbox
/// controls, since the new root is not yet in place.)
pub fn overlay(
    userns: bool,
    dirs: &OverlayDirs,
    scratch: &mut super::prepare::OverlayScratch,
    attrs: u64,
) -> Result<RawFd, Fail> {
    let n = dirs.lower.len();
    let fds = FdList(&mut scratch.fds);
    for (k, l) in dirs.lower.iter().enumerate() {
        fds.0[k] = open_host(l, libc::O_PATH | libc::O_DIRECTORY)
            .ctx(Call::OpenHostPath)?
            .into_raw();
    }
    for (k, d) in [dirs.upper, dirs.work].into_iter().enumerate() {
        if let Some(d) = d {
            fds.0[n + k] = open_host(d, libc::O_PATH | libc::O_DIRECTORY)
                .ctx(Call::OpenHostPath)?
                .into_raw();
        }
    }
    let fs = Fd(sys::fsopen(c"overlay").ctx(Call::Fsopen)?);
    // `lowerdir+` (Linux 6.8) takes one layer per call; older kernels reject the key with
    // EINVAL and take the `:`-joined list instead (fd paths need no escaping).
    let mut one_by_one = true;
    for k in 0..n {
        match sys::fsconfig_string(fs.0, c"lowerdir+", FdPath::new(fds.0[k]).as_cstr()) {
            Ok(()) => {}
            Err(Errno::EINVAL) if k == 0 => {
                one_by_one = false;
                break;
            }
            Err(e) => return Err(Fail::new(Call::Fsconfig, e)),
        }
    }
    if !one_by_one {
        let buf = &mut scratch.joined;
        let mut at = 0;
        for k in 0..n {
            let p = FdPath::new(fds.0[k]);
            let b = p.bytes();
            if k > 0 {
                buf[at] = b':';
                at += 1;
            }
            buf[at..at + b.len()].copy_from_slice(b);
            at += b.len();
        }
        buf[at] = 0;
        let joined = CStr::from_bytes_until_nul(buf).unwrap_or(c"");
        sys::fsconfig_string(fs.0, c"lowerdir", joined).ctx(Call::Fsconfig)?;
    }
    for (k, key) in [c"upperdir", c"workdir"].into_iter().enumerate() {
        if fds.0[n + k] >= 0 {
            let p = FdPath::new(fds.0[n + k]);
            sys::fsconfig_string(fs.0, key, p.as_cstr()).ctx(Call::Fsconfig)?;
        }
    }
    if userns {
        // trusted.* xattrs are out of reach in a user namespace.
        sys::fsconfig_flag(fs.0, c"userxattr").ctx(Call::Fsconfig)?;
    }
    sys::fsconfig_create(fs.0).ctx(Call::Fsconfig)?;
    sys::fsmount(fs.0, attrs).ctx(Call::Fsmount)
}

#[cfg(test)]
mod tests {
    use super::FdPath;

    #[test]
    fn fd_paths_are_formatted_without_allocating() {
        assert_eq!(FdPath::new(0).as_cstr(), c"/proc/self/fd/0");
        assert_eq!(FdPath::new(7).bytes(), b"/proc/self/fd/7");
        assert_eq!(FdPath::new(1234567).as_cstr(), c"/proc/self/fd/1234567");
        assert_eq!(FdPath::new(i32::MAX).as_cstr(), c"/proc/self/fd/2147483647");
    }
}
