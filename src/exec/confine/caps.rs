//! Capabilities and no_new_privs, with raw prctl/capset so a kernel newer than the caps
//! crate's `Capability` enum (cap 41+) cannot leave a capability behind.

use super::failure::{mark, Call};
use crate::plan::CapsPlan;

/// `_LINUX_CAPABILITY_VERSION_3`: two 32-bit words per set.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

fn mask(caps: &[crate::plan::Cap]) -> u64 {
    caps.iter()
        .filter(|c| c.number < 64)
        .fold(0u64, |m, c| m | (1u64 << c.number))
}

fn check(rc: libc::c_int) -> Result<(), nix::Error> {
    if rc < 0 {
        Err(nix::Error::last())
    } else {
        Ok(())
    }
}

/// Drop every capability not kept from the bounding set (child, CAP_SETPCAP still held).
/// Loops to the kernel's `cap_last_cap`, not to a compiled-in list.
pub fn drop_bounding_set(plan: &CapsPlan, cap_last_cap: u8) -> Result<(), nix::Error> {
    let keep = mask(&plan.keep);
    for cap in 0..=u32::from(cap_last_cap.min(63)) {
        if keep & (1 << cap) != 0 {
            continue;
        }
        mark(Call::CapbsetDrop, cap);
        // SAFETY: PR_CAPBSET_DROP takes a capability number and no pointers.
        check(unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) })?;
    }
    Ok(())
}

/// Set effective = permitted = keep, inheritable = ambient, ambient = the plan's ambient
/// list (child, after the uid switch, which must have used PR_SET_KEEPCAPS).
///
/// Order: ambient cleared first (it may only hold caps that stay permitted and
/// inheritable), then capset, then the ambient raises, which need the cap in both.
pub fn set_capabilities(plan: &CapsPlan) -> Result<(), nix::Error> {
    let keep = mask(&plan.keep);
    let ambient = mask(&plan.ambient) & keep;
    mark(Call::AmbientClear, 0);
    // SAFETY: PR_CAP_AMBIENT_CLEAR_ALL takes no pointers.
    check(unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    })?;
    let mut header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [
        CapData {
            effective: keep as u32,
            permitted: keep as u32,
            inheritable: ambient as u32,
        },
        CapData {
            effective: (keep >> 32) as u32,
            permitted: (keep >> 32) as u32,
            inheritable: (ambient >> 32) as u32,
        },
    ];
    mark(Call::Capset, 0);
    // SAFETY: header and two data words in the v3 layout; the kernel only reads them.
    check(unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapHeader,
            data.as_ptr(),
        ) as libc::c_int
    })?;
    for cap in 0..64u32 {
        if ambient & (1 << cap) != 0 {
            mark(Call::AmbientRaise, cap);
            // SAFETY: PR_CAP_AMBIENT_RAISE takes a capability number and no pointers.
            check(unsafe {
                libc::prctl(
                    libc::PR_CAP_AMBIENT,
                    libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
                    cap as libc::c_ulong,
                    0,
                    0,
                )
            })?;
        }
    }
    Ok(())
}

/// PR_SET_NO_NEW_PRIVS: execve can no longer grant privileges (setuid bits, file caps).
pub fn set_no_new_privs() -> Result<(), nix::Error> {
    mark(Call::NoNewPrivs, 0);
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integers only.
    check(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) })
}
