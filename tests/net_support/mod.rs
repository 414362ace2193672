//! Shared by tests/net_proxy.rs and tests/net_profiles.rs: local servers, the test CA,
//! ports.

// Each test binary that includes this module uses only part of it.
#![allow(dead_code)]
use super::common::skip;
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub struct Servers {
    pub children: Vec<Child>,
}

impl Drop for Servers {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a certificate for each name, signed by it.
pub fn make_certs(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=stockade test CA",
        ],
    );
    for name in ["registry.test", "evil.test"] {
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                &format!("/CN={name}"),
            ],
        );
        std::fs::write(
            dir.join(format!("{name}.ext")),
            format!("subjectAltName=DNS:{name}\n"),
        )
        .unwrap();
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &format!("{name}.pem"),
                "-days",
                "2",
                "-extfile",
                &format!("{name}.ext"),
            ],
        );
    }
}

pub fn server(dir: &Path, args: &[&str]) -> Child {
    let mut c = Command::new("python3")
        .arg(dir.join("https_server.py"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start python3");
    let mut line = String::new();
    use std::io::BufRead;
    let mut r = std::io::BufReader::new(c.stdout.take().unwrap());
    r.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready", "server {args:?} did not start");
    c
}

pub fn tools_present() -> bool {
    for t in ["openssl", "curl", "python3", "bash"] {
        if !Command::new("sh")
            .args(["-c", &format!("command -v {t}")])
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return !skip(&format!("{t} is not installed (setup.sh --deps)"));
        }
    }
    true
}

pub fn ports() -> (u16, u16, u16) {
    // Distinct for every call in this process (tests run in parallel), spread by pid.
    static NEXT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    // Callers use base+1 ..= base+12; ten calls fit in a pid's window of 150 ports.
    let call = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 10;
    let base = 20000 + (std::process::id() % 300) as u16 * 150 + call * 15;
    (base + 1, base + 2, base + 3)
}

/// `python3 -m http.server` serving `dir` on 127.0.0.2:`port`, once it accepts connections.
pub fn http_files(dir: &Path, port: u16) -> Servers {
    let child = Command::new("python3")
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.2",
        ])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start python3 -m http.server");
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.2", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Servers {
        children: vec![child],
    }
}

/// A shipped profile's text with each `(from, to)` substituted (each `from` must occur) and
/// its `base/` reference made absolute, for a copy outside the repository.
pub fn shipped_profile(name: &str, subst: &[(&str, String)]) -> String {
    let repo = std::env::current_dir().expect("cwd");
    let mut text = std::fs::read_to_string(repo.join("profiles").join(name)).expect("profile");
    for (from, to) in subst {
        assert!(
            text.contains(from),
            "profiles/{name} no longer contains {from:?}"
        );
        text = text.replace(from, to);
    }
    let base = repo.join("profiles/base/minimal.toml");
    text.replace("\"base/minimal.toml\"", &format!("\"{}\"", base.display()))
}
