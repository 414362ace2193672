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
    // `lowerdir+` (Linux 6.8) takes one layer per call. Kernels before 6.5 parse overlay
    // options the legacy way: fsconfig accepts any key and only FSCONFIG_CMD_CREATE fails
    // (EINVAL); 6.5 to 6.7 reject the key at once. Either way the `:`-joined `lowerdir`
    // is tried next, in a fresh context (fd paths need no escaping).
    match configure(userns, &fds, n, None) {
        Err(Fail {
            call: Call::Fsconfig,
            errno: Errno::EINVAL,
            ..
        }) => configure(userns, &fds, n, Some(&mut scratch.joined)),
        r => r,
    }
    .and_then(|fs| sys::fsmount(fs.0, attrs).ctx(Call::Fsmount))
}

/// A created overlay context: layers one by one (`joined` None) or as one joined value
/// written into `joined`.
fn configure(
    userns: bool,
    fds: &FdList,
    n: usize,
    joined: Option<&mut Vec<u8>>,
) -> Result<Fd, Fail> {
    let fs = Fd(sys::fsopen(c"overlay").ctx(Call::Fsopen)?);
    match joined {
        None => {
            for k in 0..n {
                let p = FdPath::new(fds.0[k]);
                sys::fsconfig_string(fs.0, c"lowerdir+", p.as_cstr()).ctx(Call::Fsconfig)?;
            }
        }
        Some(buf) => {
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
            let value = CStr::from_bytes_until_nul(buf).unwrap_or(c"");
            sys::fsconfig_string(fs.0, c"lowerdir", value).ctx(Call::Fsconfig)?;
        }
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
    Ok(fs)
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
