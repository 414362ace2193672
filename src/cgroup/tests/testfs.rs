//! A temp directory standing in for cgroupfs: `mkdir` makes a cgroup (with an empty
//! cgroup.procs), writing a pid to `cgroup.procs` moves it there, `rmdir` refuses a cgroup
//! that still holds processes (EBUSY), `kill` removes the pid from every cgroup. Every
//! write and kill is logged, in order, for the tests to assert.

use super::super::fs::CgroupFs;
use std::collections::HashSet;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// A self-removing temp directory.
pub struct TempDir(PathBuf);

static N: AtomicU32 = AtomicU32::new(0);

impl TempDir {
    pub fn new() -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "stockade-cgtest-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    /// Create `rel` (and its parents) with `content`.
    pub fn file(&self, rel: &str, content: &str) {
        let p = self.0.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    pub fn subdirs(&self, rel: &str) -> Vec<String> {
        std::fs::read_dir(self.0.join(rel))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().unwrap().is_dir())
            .map(|e| e.file_name().into_string().unwrap())
            .collect()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One logged write: (path relative to the temp dir, value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write(pub String, pub String);

impl PartialEq<(&str, &str)> for Write {
    fn eq(&self, o: &(&str, &str)) -> bool {
        self.0 == o.0 && self.1 == o.1
    }
}

#[derive(Debug, Default)]
struct Inner {
    writes: Vec<Write>,
    kills: Vec<i32>,
}

/// The log of a [`TempFs`], readable after the fs moved into a `Cgroup`.
#[derive(Debug, Clone)]
pub struct Log(Arc<Mutex<Inner>>);

impl Log {
    pub fn writes(&self) -> Vec<Write> {
        self.0.lock().unwrap().writes.clone()
    }
    pub fn kills(&self) -> Vec<i32> {
        self.0.lock().unwrap().kills.clone()
    }
}

#[derive(Debug)]
pub struct TempFs {
    root: PathBuf,
    log: Log,
    failing: HashSet<String>,
    alive: HashSet<(u32, u64)>,
    /// Reads fail and nothing is writable (detection tests on made-up paths).
    nowhere: bool,
}

impl TempFs {
    pub fn new(dir: &TempDir) -> TempFs {
        TempFs {
            root: dir.path().to_path_buf(),
            log: Log(Arc::default()),
            failing: HashSet::new(),
            alive: HashSet::new(),
            nowhere: false,
        }
    }
    pub fn nowhere() -> TempFs {
        TempFs {
            root: PathBuf::from("/nonexistent"),
            log: Log(Arc::default()),
            failing: HashSet::new(),
            alive: HashSet::new(),
            nowhere: true,
        }
    }
    pub fn log(&self) -> Log {
        self.log.clone()
    }
    /// Writes to files named `name` fail with EINVAL (as the kernel does for bad values).
    pub fn failing(mut self, name: &str) -> TempFs {
        self.failing.insert(name.to_string());
        self
    }
    pub fn alive(mut self, pid: u32, start: u64) -> TempFs {
        self.alive.insert((pid, start));
        self
    }
    fn check(&self, path: &Path) -> io::Result<()> {
        if self.nowhere || !path.starts_with(&self.root) {
            return Err(io::Error::from_raw_os_error(libc::EACCES));
        }
        Ok(())
    }
    fn remove_pid(dir: &Path, pid: &str) {
        let procs = dir.join("cgroup.procs");
        if let Ok(t) = std::fs::read_to_string(&procs) {
            let kept: Vec<&str> = t.split_whitespace().filter(|p| *p != pid).collect();
            let _ = std::fs::write(
                &procs,
                kept.iter().map(|p| format!("{p}\n")).collect::<String>(),
            );
        }
    }
    fn remove_pid_everywhere(dir: &Path, pid: &str) {
        Self::remove_pid(dir, pid);
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    Self::remove_pid_everywhere(&e.path(), pid);
                }
            }
        }
    }
}

impl CgroupFs for TempFs {
    fn read(&self, path: &Path) -> io::Result<String> {
        self.check(path)?;
        std::fs::read_to_string(path)
    }

    fn write(&self, path: &Path, value: &str) -> io::Result<()> {
        self.check(path)?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if self.failing.contains(name) {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let dir = path.parent().unwrap();
        if !dir.is_dir() {
            return Err(io::Error::from_raw_os_error(libc::ENOENT));
        }
        let rel = path.strip_prefix(&self.root).unwrap().display().to_string();
        self.log
            .0
            .lock()
            .unwrap()
            .writes
            .push(Write(rel, value.to_string()));
        match name {
            "cgroup.procs" => {
                // A move: out of the parent cgroup, into this one.
                if let Some(parent) = dir.parent() {
                    Self::remove_pid(parent, value);
                }
                let mut t = std::fs::read_to_string(path).unwrap_or_default();
                t.push_str(value);
                t.push('\n');
                std::fs::write(path, t)
            }
            "cgroup.subtree_control" => {
                let mut on: Vec<String> = std::fs::read_to_string(path)
                    .unwrap_or_default()
                    .split_whitespace()
                    .map(String::from)
                    .collect();
                for tok in value.split_whitespace() {
                    let c = &tok[1..];
                    on.retain(|x| x != c);
                    if tok.starts_with('+') {
                        on.push(c.to_string());
                    }
                }
                std::fs::write(path, on.join(" "))
            }
            _ => std::fs::write(path, value),
        }
    }

    fn mkdir(&self, path: &Path) -> io::Result<()> {
        self.check(path)?;
        std::fs::create_dir(path)?;
        std::fs::write(path.join("tasks"), "")?;
        std::fs::write(path.join("cgroup.procs"), "")
    }

    fn rmdir(&self, path: &Path) -> io::Result<()> {
        self.check(path)?;
        if !path.is_dir() {
            return Err(io::Error::from_raw_os_error(libc::ENOENT));
        }
        let busy = std::fs::read_to_string(path.join("cgroup.procs"))
            .map(|t| !t.trim().is_empty())
            .unwrap_or(false)
            || std::fs::read_dir(path)?
                .flatten()
                .any(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false));
        if busy {
            return Err(io::Error::from_raw_os_error(libc::EBUSY));
        }
        std::fs::remove_dir_all(path)
    }

    fn exists(&self, path: &Path) -> bool {
        !self.nowhere && path.starts_with(&self.root) && path.exists()
    }

    fn writable(&self, path: &Path) -> bool {
        self.exists(path)
    }

    fn subdirs(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.check(dir)?;
        Ok(std::fs::read_dir(dir)?
            .flatten()
            .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
            .filter_map(|e| e.file_name().into_string().ok())
            .collect())
    }

    fn open_dir(&self, path: &Path) -> io::Result<OwnedFd> {
        self.check(path)?;
        Ok(OwnedFd::from(std::fs::File::open(path)?))
    }

    fn open_write(&self, path: &Path) -> io::Result<OwnedFd> {
        self.check(path)?;
        Ok(OwnedFd::from(
            std::fs::OpenOptions::new().write(true).open(path)?,
        ))
    }

    fn kill(&self, pid: i32) -> io::Result<()> {
        self.log.0.lock().unwrap().kills.push(pid);
        Self::remove_pid_everywhere(&self.root, &pid.to_string());
        Ok(())
    }

    fn process_alive(&self, pid: u32, start_ticks: u64) -> bool {
        self.alive.contains(&(pid, start_ticks))
    }
}
