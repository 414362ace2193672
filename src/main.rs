//! `stockade`: parse the command line, run the command, exit with its status.
//!
//! The C runtime calls [`main`] directly (`no_main`) instead of Rust's start-up: that
//! start-up asks glibc for the main thread's stack bounds to install a stack-overflow
//! handler, and for the main thread glibc finds them by reading and `sscanf`-ing all of
//! /proc/self/maps, about a tenth of the instructions of a whole `stockade run` before the
//! executor. What else that start-up does, and a launcher needs, is done here by hand:
//! standard descriptors made valid, SIGPIPE ignored, a panic turned into exit status 101.
//! Command-line arguments still reach `std::env::args` (glibc hands them to std's
//! initialiser). What is given up: the "has overflowed its stack" message (a stack
//! overflow is then a plain SIGSEGV) and the name `main` in panic messages.

// The test harness brings its own `main` (the binary has no unit tests).
#![cfg_attr(not(test), no_main)]

#[cfg(not(test))]
mod entry {
    /// The exit status of a panic, as Rust's own start-up reports it.
    const EXIT_PANIC: i32 = 101;

    #[no_mangle]
    pub extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
        // Before anything changes a disposition: the payload gets back what was inherited.
        stockade::exec::signals::record_inherited();
        open_missing_standard_fds();
        // Writing to a closed pipe must be an EPIPE error (reported, exit status), not a silent
        // death by signal; the sandbox child restores the inherited one before execve.
        // SAFETY: setting a disposition to SIG_IGN installs no handler code.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
        let status = std::panic::catch_unwind(|| {
            let cli = stockade::cli::Cli::parse_fast();
            stockade::app::main(cli)
        })
        .unwrap_or(EXIT_PANIC);
        // `exit` flushes stdout before leaving.
        std::process::exit(status)
    }

    /// Open /dev/null on any of descriptors 0, 1 and 2 that is closed, so that no file stockade
    /// opens (a profile, a report, a lock) becomes the payload's or its own stdout by accident.
    fn open_missing_standard_fds() {
        let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
            fd,
            events: 0,
            revents: 0,
        });
        loop {
            // SAFETY: `fds` is a valid array of three pollfd; a zero timeout never blocks.
            if unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) } >= 0 {
                break;
            }
            match std::io::Error::last_os_error().raw_os_error() {
                Some(libc::EINTR) => continue,
                _ => {
                    // poll cannot run (RLIMIT_NOFILE of 0, no memory): ask each descriptor.
                    for fd in 0..3 {
                        // SAFETY: F_GETFD only reads the descriptor's flags.
                        let closed = unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1
                            && std::io::Error::last_os_error().raw_os_error() == Some(libc::EBADF);
                        if closed {
                            open_dev_null();
                        }
                    }
                    return;
                }
            }
        }
        for fd in fds {
            if fd.revents & libc::POLLNVAL != 0 {
                open_dev_null();
            }
        }
    }

    /// Open /dev/null on the lowest free descriptor (the closed standard one being filled).
    fn open_dev_null() {
        // SAFETY: a constant NUL-terminated path; the descriptor is deliberately kept open.
        if unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) } == -1 {
            // Running on without a standard descriptor could send output into a file stockade
            // opens later; there is no descriptor left to report the failure on.
            std::process::abort();
        }
    }
}
