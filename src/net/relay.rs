//! Moving bytes between the sandbox's client and the upstream, for CONNECT tunnels (HTTP and
//! SOCKS) and plain-HTTP forwards.
//!
//! Why splice(2): a read()/write() relay copies every byte twice between the kernel and the
//! proxy (socket → user buffer → socket) and costs two system calls per buffer. With
//! splice(2) the bytes go socket → pipe → socket inside the kernel: the pipe holds
//! references to the socket buffer's pages, so nothing is copied to user space and the
//! proxy only asks the kernel to move them.
//!
//! Why a 1 MiB pipe: one splice moves at most what the pipe holds. The default 64 KiB (16
//! pages) costs a splice pair per 64 KiB; 1 MiB (the default `/proc/sys/fs/pipe-max-size`,
//! so allowed for an unprivileged user too) is about a TCP receive window on a fast path and
//! cuts the system calls 16-fold. When F_SETPIPE_SZ is refused (a lowered limit, or the
//! user's pipe pages exhausted) the default size is used. The size counts against the
//! user's `pipe-user-pages-soft` (64 MiB): past ~32 open tunnels of an unprivileged user,
//! that user's new pipes (the payload's too) get 2 pages. Measured: bench/README.md.
//!
//! Each splice into the pipe is drained fully into the destination (partial splices are
//! retried) before the next read, so the pipe is empty between reads and a byte count is
//! always what the destination was given. When the kernel cannot splice these descriptors
//! (EINVAL, ENOSYS) or no pipe can be made, the pump falls back, silently and for good, to
//! read()/write() through one 256 KiB buffer allocated once and reused; bytes already in
//! the pipe are drained through it first. EINTR is retried; any other error ends the copy
//! with the count so far.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// The pipe size asked for, and the fallback's buffer.
pub const PIPE_SIZE: usize = 1024 * 1024;
pub const BUF_SIZE: usize = 256 * 1024;

/// One direction's mover: a pipe for splice(2) or, after a fallback, a buffer. Reused for
/// every copy in that direction (e.g. each response on a kept-alive client connection).
/// `Default` is the buffered pump.
#[derive(Default)]
pub struct Pump {
    pipe: Option<(File, OwnedFd, usize)>,
    buf: Vec<u8>,
}

/// The kernel cannot splice these descriptors: fall back to the buffered copy.
fn unsupported(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS))
}

fn splice(from: RawFd, to: RawFd, len: usize) -> io::Result<usize> {
    loop {
        // SAFETY: plain descriptors, no offsets (null), a length; the kernel checks them.
        let n = unsafe {
            libc::splice(
                from,
                std::ptr::null_mut(),
                to,
                std::ptr::null_mut(),
                len,
                libc::SPLICE_F_MOVE,
            )
        };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

impl Pump {
    /// A pump with a pipe (raised to [`PIPE_SIZE`] when allowed), or a buffered one when no
    /// pipe can be made.
    pub fn new() -> Pump {
        let mut fds = [0 as RawFd; 2];
        // SAFETY: pipe2 writes two descriptors into the array on success.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Pump::buffered();
        }
        // SAFETY: both descriptors are new and ours alone.
        let (r, w) = unsafe { (File::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // SAFETY: fcntl on our own pipe; a refusal leaves the default size.
        let size = unsafe {
            libc::fcntl(w.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_SIZE as libc::c_int);
            libc::fcntl(w.as_raw_fd(), libc::F_GETPIPE_SZ)
        };
        let size = if size > 0 { size as usize } else { 64 * 1024 };
        let pipe = Some((r, w, size));
        Pump { pipe, buf: vec![] }
    }

    /// A pump that copies through the buffer only.
    pub fn buffered() -> Pump {
        Pump::default()
    }

    /// Whether this pump (still) splices.
    pub fn splices(&self) -> bool {
        self.pipe.is_some()
    }

    fn buf(&mut self) -> &mut [u8] {
        if self.buf.is_empty() {
            self.buf = vec![0u8; BUF_SIZE];
        }
        &mut self.buf
    }

    /// Copy from `src` to `dst` until EOF of `src` or, with a `limit`, that many bytes.
    /// Returns the bytes given to `dst` and how the copy ended: `Ok` at EOF or the limit
    /// (fewer bytes than the limit: EOF came first), `Err` on an error of either side.
    pub fn copy(
        &mut self,
        src: &TcpStream,
        dst: &TcpStream,
        limit: Option<u64>,
    ) -> (u64, io::Result<()>) {
        let mut total = 0u64;
        let left = |total: u64| limit.map_or(u64::MAX, |l| l - total);
        'splice: while let Some((r, w, size)) = &self.pipe {
            let (r, w) = (r.as_raw_fd(), w.as_raw_fd());
            let want = left(total).min(*size as u64) as usize;
            if want == 0 {
                return (total, Ok(()));
            }
            let n = match splice(src.as_raw_fd(), w, want) {
                Ok(0) => return (total, Ok(())),
                Ok(n) => n,
                Err(e) if unsupported(&e) => {
                    self.pipe = None;
                    break;
                }
                Err(e) => return (total, Err(e)),
            };
            // Drain the pipe fully into `dst` before the next read.
            let mut in_pipe = n;
            while in_pipe > 0 {
                match splice(r, dst.as_raw_fd(), in_pipe) {
                    Ok(0) => return (total, Err(io::ErrorKind::WriteZero.into())),
                    Ok(m) => {
                        in_pipe -= m;
                        total += m as u64;
                    }
                    Err(e) if unsupported(&e) => {
                        if let Err(e) = self.drain_pipe(in_pipe, dst) {
                            return (total, Err(e));
                        }
                        total += in_pipe as u64;
                        self.pipe = None;
                        break 'splice;
                    }
                    Err(e) => return (total, Err(e)),
                }
            }
        }
        let (mut src, mut dst) = (src, dst); // the buffered copy
        loop {
            let want = left(total).min(BUF_SIZE as u64) as usize;
            if want == 0 {
                return (total, Ok(()));
            }
            let buf = &mut self.buf()[..want];
            let n = match src.read(buf) {
                Ok(0) => return (total, Ok(())),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return (total, Err(e)),
            };
            if let Err(e) = dst.write_all(&self.buf[..n]) {
                return (total, Err(e));
            }
            total += n as u64;
        }
    }

    /// The fallback after a failed splice out of the pipe: read what it holds and write it.
    fn drain_pipe(&mut self, mut in_pipe: usize, mut dst: &TcpStream) -> io::Result<()> {
        self.buf();
        let Some((r, _, _)) = &self.pipe else {
            return Ok(());
        };
        let mut r: &File = r;
        while in_pipe > 0 {
            let want = in_pipe.min(self.buf.len());
            match r.read(&mut self.buf[..want]) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    dst.write_all(&self.buf[..n])?;
                    in_pipe -= n;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Bytes moved by [`relay`], per direction.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Client to upstream (including `first`).
    pub out: u64,
    /// Upstream to client.
    pub inb: u64,
}

/// Relay both ways until both directions are done. `first` (bytes the proxy already read
/// from the client, e.g. a peeked ClientHello) goes upstream before anything else. EOF on
/// one side shuts down writing on the other (the other direction goes on); an error in
/// either direction shuts both sockets down, which ends the other direction too.
pub fn relay(client: &TcpStream, upstream: &TcpStream, first: &[u8]) -> Counts {
    let stop = || {
        let _ = client.shutdown(Shutdown::Both);
        let _ = upstream.shutdown(Shutdown::Both);
    };
    if !first.is_empty() {
        let mut u = upstream;
        if u.write_all(first).is_err() {
            stop();
            return Counts::default();
        }
    }
    let one_way = |from: &TcpStream, to: &TcpStream| {
        let (n, end) = Pump::new().copy(from, to, None);
        let _ = end
            .map(|()| to.shutdown(Shutdown::Write))
            .map_err(|_| stop());
        n
    };
    let (out, inb) = std::thread::scope(|s| {
        // No thread for the second direction (EAGAIN): end the connection, no panic.
        let Ok(back) = std::thread::Builder::new().spawn_scoped(s, || one_way(upstream, client))
        else {
            stop();
            return (0, 0);
        };
        let out = one_way(client, upstream);
        (out, back.join().unwrap_or(0))
    });
    let out = out + first.len() as u64;
    Counts { out, inb }
}

/// A request body of exactly `len` bytes from the client to the upstream: first what
/// `pending` holds (bytes read past the head), then the rest straight from the client. The
/// bytes after the body stay in `pending` or in the client socket, for the next request.
/// Returns the bytes given to the upstream; `Err` when the body could not be forwarded whole.
pub fn forward_body(
    pump: &mut Pump,
    pending: &mut Vec<u8>,
    client: &TcpStream,
    upstream: &TcpStream,
    len: u64,
) -> (u64, io::Result<()>) {
    let take = len.min(pending.len() as u64) as usize;
    let mut up = upstream;
    if let Err(e) = up.write_all(&pending[..take]) {
        return (0, Err(e));
    }
    pending.drain(..take);
    let rest = len - take as u64;
    if rest == 0 {
        return (take as u64, Ok(()));
    }
    let (n, end) = pump.copy(client, upstream, Some(rest));
    let end = match end {
        Ok(()) if n < rest => Err(io::ErrorKind::UnexpectedEof.into()),
        other => other,
    };
    (take as u64 + n, end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::time::{Duration, Instant};

    fn pair() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        (a, l.accept().unwrap().0)
    }

    fn pumps() -> [Pump; 2] {
        let p = Pump::new();
        assert!(p.splices(), "pipe2 works here");
        [p, Pump::buffered()]
    }

    fn read_all(mut s: &TcpStream) -> Vec<u8> {
        let mut v = Vec::new();
        s.read_to_end(&mut v).unwrap();
        v
    }

    fn read_n(mut s: &TcpStream, n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        s.read_exact(&mut v).unwrap();
        v
    }

    #[test]
    fn copies_to_eof_and_reuses_the_pump() {
        for mut p in pumps() {
            for round in 0..2u32 {
                let ((mut a, b), (c, d)) = (pair(), pair());
                let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 + round) as u8).collect();
                let sent = data.clone();
                let w = std::thread::spawn(move || a.write_all(&sent).unwrap());
                let (n, end) = p.copy(&b, &c, None);
                assert!(end.is_ok() && n == data.len() as u64);
                drop(c);
                assert_eq!(read_all(&d), data);
                w.join().unwrap();
            }
        }
    }

    #[test]
    fn the_body_is_bounded_by_its_length() {
        for mut p in pumps() {
            let (c, d) = pair();
            // All of the body and the next request already read past the head.
            let (_a, b) = pair();
            let mut pending = b"12345GET http://evil.test/ HTTP/1.1\r\n".to_vec();
            let (n, end) = forward_body(&mut p, &mut pending, &b, &c, 5);
            assert!(end.is_ok() && n == 5);
            assert_eq!(pending, b"GET http://evil.test/ HTTP/1.1\r\n");
            // Part of the body pending, the rest and the next request in the socket (the
            // pump's limit leaves the next request there), or all of it in the socket.
            let (mut a, b) = pair();
            let mut pending = b"12".to_vec();
            a.write_all(b"345GET http://evil.test/6789").unwrap();
            let (n, end) = forward_body(&mut p, &mut pending, &b, &c, 5);
            assert!(end.is_ok() && n == 5 && pending.is_empty());
            assert_eq!(read_n(&b, 21), b"GET http://evil.test/");
            let (n, end) = forward_body(&mut p, &mut Vec::new(), &b, &c, 2);
            assert!(end.is_ok() && n == 2);
            assert_eq!(read_n(&b, 2), b"89");
            // EOF before the whole body: an error, with what was forwarded.
            let (mut a, b) = pair();
            a.write_all(b"67").unwrap();
            drop(a);
            let (n, end) = forward_body(&mut p, &mut Vec::new(), &b, &c, 5);
            assert!(end.is_err() && n == 2);
            drop(c);
            assert_eq!(read_all(&d), b"12345123456767");
        }
    }

    #[test]
    fn relay_both_ways_with_first_bytes_and_half_close() {
        let ((mut cli, c), (u, mut srv)) = (pair(), pair());
        let t = std::thread::spawn(move || {
            let got = read_n(&srv, 10);
            srv.write_all(b"response").unwrap();
            srv.shutdown(Shutdown::Write).unwrap();
            (got, read_all(&srv))
        });
        cli.write_all(b"lorequest").unwrap();
        let counts = std::thread::spawn(move || relay(&c, &u, b"he"));
        assert_eq!(read_all(&cli), b"response");
        cli.write_all(b"!").unwrap();
        cli.shutdown(Shutdown::Write).unwrap();
        assert_eq!(counts.join().unwrap(), Counts { out: 12, inb: 8 });
        assert_eq!(t.join().unwrap(), (b"heloreques".to_vec(), b"t!".to_vec()));
    }

    #[test]
    fn an_error_stops_both_directions() {
        let ((cli, c), (u, srv)) = (pair(), pair());
        // The upstream resets its connection while the client stays open and idle: the
        // direction client → upstream, blocked reading the client, must end too.
        let r = std::thread::spawn(move || relay(&c, &u, b""));
        let lg = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        let len = std::mem::size_of_val(&lg) as libc::socklen_t;
        let (fd, ptr) = (srv.as_raw_fd(), (&lg as *const libc::linger).cast());
        // SAFETY: setsockopt on our own socket with a valid linger struct.
        let rc = unsafe { libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_LINGER, ptr, len) };
        assert_eq!(rc, 0);
        (&srv).write_all(b"partial").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        drop(srv); // RST
        let start = Instant::now();
        assert_eq!(r.join().unwrap().out, 0);
        assert!(start.elapsed() < Duration::from_secs(5));
        cli.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut got = Vec::new();
        let _ = (&cli).read_to_end(&mut got);
        assert!(got.len() <= 7);
    }
}
