//! Payloads for the cgroup tests: the test binary re-executes itself with
//! `STOCKADE_CG_PAYLOAD=<mode>` and runs `payload_entry`, which calls [`run_payload`]. No
//! python or busybox is needed, inside the VM or inside a sandbox (the binary only needs
//! glibc from /usr).
//!
//! With `STOCKADE_CG_GATE=1` the payload first waits for two bytes on stdin, so a test
//! supervisor can attach it to a cgroup before it does anything.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::time::{Duration, Instant};

pub const PAYLOAD_ENV: &str = "STOCKADE_CG_PAYLOAD";
pub const GATE_ENV: &str = "STOCKADE_CG_GATE";

/// Arguments that make the test binary run only `payload_entry`.
pub const ENTRY_ARGS: [&str; 5] = [
    "payload_entry",
    "--exact",
    "--nocapture",
    "--test-threads=1",
    "-q",
];

/// Run the payload `mode` and exit. Prints `RESULT:<text>` on success.
pub fn run_payload(mode: &str) -> ! {
    if std::env::var(GATE_ENV).as_deref() == Ok("1") {
        let mut go = [0u8; 2];
        let _ = std::io::stdin().read_exact(&mut go);
    }
    let result = match mode {
        "alloc" => {
            let mut held: Vec<Vec<u8>> = Vec::new();
            for _ in 0..400 {
                // Non-zero fill: every page is touched (zeroed memory could stay untouched).
                held.push(vec![0xa5u8; 1 << 20]);
            }
            format!("allocated {} MiB", held.len())
        }
        "forkbomb" => {
            let mut forked = 0u64;
            while forked < 10_000 {
                // SAFETY: the child only calls close/pause.
                match unsafe { libc::fork() } {
                    0 => {
                        // Let go of the pipes so whoever reads our output sees EOF when we
                        // exit; the sleepers stay until the cgroup is destroyed.
                        unsafe {
                            libc::close(1);
                            libc::close(2);
                        }
                        loop {
                            unsafe { libc::pause() };
                        }
                    }
                    -1 => break,
                    _ => forked += 1,
                }
            }
            forked.to_string()
        }
        "spin" => {
            let spin = || {
                let end = Instant::now() + Duration::from_secs(3);
                let mut x = 0u64;
                while Instant::now() < end {
                    x = x.wrapping_add(1);
                }
                std::hint::black_box(x);
            };
            // Two busy processes: demand (2 cores) well above the quota being tested.
            // SAFETY: the child spins and _exits.
            let pid = unsafe { libc::fork() };
            spin();
            if pid == 0 {
                unsafe { libc::_exit(0) };
            }
            let mut st = 0;
            unsafe { libc::waitpid(pid, &mut st, 0) };
            "spun".to_string()
        }
        other => {
            eprintln!("unknown payload {other}");
            std::process::exit(2);
        }
    };
    println!("RESULT:{result}");
    let _ = std::io::stdout().flush();
    std::process::exit(0);
}

/// The `RESULT:` line of a payload's output.
pub fn result_of(stdout: &str) -> Option<String> {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT:"))
        .map(str::to_string)
}
