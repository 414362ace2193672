//! The relay's own CPU cost, without curl, servers or a sandbox (bench/README.md, "Egress
//! proxy"): a writer thread sends SIZE over loopback TCP, one [`Pump`] copies it to a second
//! connection, a reader thread drains that. Prints, per round, the relay thread's CPU time
//! (getrusage RUSAGE_THREAD) per GiB and the wall time, for the splice(2) pump and the
//! buffered one, interleaved.
//!
//! cargo run --release --example relay_cpu -- [ROUNDS] [MIB]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Instant;
use stockade::net::relay::Pump;

fn pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let a = TcpStream::connect(l.local_addr().expect("addr")).expect("connect");
    (a, l.accept().expect("accept").0)
}

/// This thread's user + system CPU time in ms.
fn cpu_ms() -> f64 {
    // SAFETY: getrusage fills the zeroed struct we pass.
    let r = unsafe {
        let mut r: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_THREAD, &mut r);
        r
    };
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    ms(r.ru_utime) + ms(r.ru_stime)
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let rounds = args.first().copied().unwrap_or(3);
    let total = args.get(1).copied().unwrap_or(1024) << 20;
    let gib = total as f64 / (1u64 << 30) as f64;
    for round in 1..=rounds {
        for splice in [true, false] {
            let ((mut a, b), (c, mut d)) = (pair(), pair());
            let writer = std::thread::spawn(move || {
                let buf = vec![1u8; 64 * 1024];
                let mut left = total;
                while left > 0 {
                    let n = left.min(buf.len());
                    a.write_all(&buf[..n]).expect("write");
                    left -= n;
                }
            });
            let reader = std::thread::spawn(move || {
                let mut buf = vec![0u8; 256 * 1024];
                let mut n = 0;
                while let Ok(k @ 1..) = d.read(&mut buf) {
                    n += k;
                }
                n
            });
            let mut pump = if splice {
                Pump::new()
            } else {
                Pump::buffered()
            };
            let (t0, c0) = (Instant::now(), cpu_ms());
            let (n, end) = pump.copy(&b, &c, None);
            let (wall, cpu) = (t0.elapsed().as_secs_f64(), cpu_ms() - c0);
            drop(c);
            assert!(end.is_ok() && n as usize == total, "copied {n}: {end:?}");
            writer.join().expect("writer");
            assert_eq!(reader.join().expect("reader"), total);
            println!(
                "round {round} {:8}: relay thread CPU {:5.0} ms per GiB, {:6.0} MiB/s",
                if pump.splices() { "splice" } else { "buffered" },
                cpu / gib,
                total as f64 / (1 << 20) as f64 / wall
            );
        }
    }
}
