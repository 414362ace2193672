//! Host paths the executor touches cannot be redirected by links another sandbox plants
//! (issue 18, the runc CVE-2021-30465 class).
//!
//! Each race test plays the second sandbox with a plain host thread: it shares a writable
//! directory with the sandbox under test and swaps names in it (`renameat2(RENAME_EXCHANGE)`
//! with a symlink to a "host" victim, or rename-and-rmdir) in a tight loop while the
//! launcher sets up. After every launch the victim is checked from outside: mode, content,
//! nothing created next to it. Every launch must either succeed or be refused with a
//! located stockade error; a launch that read or wrote the victim fails the test.
//!
//! No real host file is at risk: each scenario runs on a thread that has its own mount
//! namespace (unshare(CLONE_NEWNS), mounts private), with a tmpfs over the test directory
//! that stands in for /etc; the launcher and the racer are started from that thread and
//! inherit its namespace, so the links point into that tmpfs.
//!
//! Bounded: each scenario stops after [`MAX_LAUNCHES`] launches or [`MAX_TIME`], whichever
//! comes first (a bound on the suite's time, not an assertion).

mod common;

use common::*;
use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MAX_LAUNCHES: usize = 1000;
const MAX_TIME: Duration = Duration::from_secs(5);
const SECRET: &str = "secret\n";

/// A test directory with a tmpfs over it, in this thread's private mount namespace:
/// `etc/shadow` (the victim, mode 0600) and `shared/` (the directory both sandboxes write).
///
/// Not under /tmp (nor /mnt): the executor attaches the new root at /tmp before the mounts
/// are made, so in the child an absolute link into the host's /tmp resolves into the new
/// root instead, and a victim there could never be reached: the tests could not fail.
struct Arena {
    dir: PathBuf,
}

impl Arena {
    fn new(tag: &str, owner: Option<(u32, u32)>) -> Arena {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = PathBuf::from(format!(
            "/var/tmp/stockade-test-{tag}-{}-{n}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, PermissionsExt::from_mode(0o755)).unwrap();
        let c = |p: &Path| CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: plain syscalls on NUL-terminated strings.
        unsafe {
            assert_eq!(libc::unshare(libc::CLONE_NEWNS), 0, "unshare(CLONE_NEWNS)");
            let none = std::ptr::null::<libc::c_char>();
            let rc = libc::mount(
                none,
                c"/".as_ptr(),
                none,
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            );
            assert_eq!(rc, 0, "make / private");
            let rc = libc::mount(
                c"tmpfs".as_ptr(),
                c(&dir).as_ptr(),
                c"tmpfs".as_ptr(),
                0,
                c"mode=0755".as_ptr().cast(),
            );
            assert_eq!(rc, 0, "tmpfs over the stand-in directory");
        }
        std::fs::create_dir(dir.join("etc")).unwrap();
        std::fs::write(dir.join("etc/shadow"), SECRET).unwrap();
        std::fs::set_permissions(dir.join("etc/shadow"), PermissionsExt::from_mode(0o600)).unwrap();
        std::fs::create_dir(dir.join("shared")).unwrap();
        std::fs::set_permissions(dir.join("shared"), PermissionsExt::from_mode(0o777)).unwrap();
        let arena = Arena { dir };
        arena.chown(owner);
        arena
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.join(p)
    }

    /// Give everything to the payload's user (so with 0->uid maps it could chmod the victim).
    fn chown(&self, owner: Option<(u32, u32)>) {
        fn walk(p: &Path, u: u32, g: u32) {
            std::os::unix::fs::lchown(p, Some(u), Some(g)).unwrap();
            if std::fs::symlink_metadata(p).unwrap().is_dir() {
                for e in std::fs::read_dir(p).unwrap() {
                    walk(&e.unwrap().path(), u, g);
                }
            }
        }
        if let Some((u, g)) = owner {
            walk(&self.dir, u, g);
        }
    }

    /// The victim is as it was: mode 0600, its content, and alone in its directory.
    fn check_victim(&self, launch: usize) {
        let shadow = self.path("etc/shadow");
        let meta = std::fs::symlink_metadata(&shadow).unwrap();
        assert_eq!(
            meta.mode() & 0o7777,
            0o600,
            "launch {launch}: the victim's mode changed"
        );
        assert_eq!(
            std::fs::read_to_string(&shadow).unwrap(),
            SECRET,
            "launch {launch}: the victim was written"
        );
        let names: Vec<_> = std::fs::read_dir(self.path("etc"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            ["shadow"],
            "launch {launch}: something was created next to the victim"
        );
    }

    /// Remove `names` under shared/ (whatever they are now) and plant `links`.
    fn reset(&self, names: &[&str], links: &[(&str, &Path)], owner: Option<(u32, u32)>) {
        for n in names {
            let p = self.path(&format!("shared/{n}"));
            match std::fs::symlink_metadata(&p) {
                Ok(m) if m.is_dir() => std::fs::remove_dir_all(&p).unwrap(),
                Ok(_) => std::fs::remove_file(&p).unwrap(),
                Err(_) => {}
            }
        }
        for (n, to) in links {
            symlink(to, self.path(&format!("shared/{n}"))).unwrap();
            if let Some((u, g)) = owner {
                std::os::unix::fs::lchown(self.path(&format!("shared/{n}")), Some(u), Some(g))
                    .unwrap();
            }
        }
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        let c = CString::new(self.dir.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: unmounting our own tmpfs (lazily: a straggler may still hold it).
        unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// The other sandbox: a thread swapping names in `dir` until stopped.
struct Racer {
    stop: Arc<AtomicBool>,
    hits: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Clone, Copy)]
enum Attack {
    /// renameat2(a, b, RENAME_EXCHANGE) in a loop.
    Exchange(&'static str, &'static str),
    /// rename(a, a.gone) then rmdir(a.gone): the target vanishes under the launcher.
    RenameAway(&'static str),
}

impl Racer {
    fn start(dir: PathBuf, attack: Attack) -> Racer {
        let stop = Arc::new(AtomicBool::new(false));
        let hits = Arc::new(AtomicU64::new(0));
        let (s, h) = (stop.clone(), hits.clone());
        let thread = std::thread::spawn(move || {
            let d = std::fs::File::open(&dir).unwrap();
            let fd = d.as_raw_fd();
            let cs = |n: &str| CString::new(n).unwrap();
            while !s.load(Ordering::Relaxed) {
                // SAFETY: renameat2/unlinkat on NUL-terminated names relative to an open dir.
                let ok = unsafe {
                    match &attack {
                        Attack::Exchange(a, b) => {
                            let (a, b) = (cs(a), cs(b));
                            libc::renameat2(fd, a.as_ptr(), fd, b.as_ptr(), libc::RENAME_EXCHANGE)
                                == 0
                        }
                        Attack::RenameAway(a) => {
                            let (a, gone) = (cs(a), cs(&format!("{a}.gone")));
                            let moved = libc::renameat(fd, a.as_ptr(), fd, gone.as_ptr()) == 0;
                            moved && libc::unlinkat(fd, gone.as_ptr(), libc::AT_REMOVEDIR) == 0
                        }
                    }
                };
                if ok {
                    h.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        Racer {
            stop,
            hits,
            thread: Some(thread),
        }
    }

    fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }
}

impl Drop for Racer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn launch(profile: &Path, who: Option<(u32, u32)>, args: &[&str]) -> Output {
    let mut t = TestCommand::run(profile, args);
    if let Some((u, g)) = who {
        t = t.with_user(u, g);
    }
    t.output()
}

/// How the launches of one scenario ended.
#[derive(Debug, Default)]
struct Tally {
    ran: usize,
    refused: usize,
}

/// Launch until the budget is spent. `check` sees every successful launch's output; a
/// failed launch must be stockade refusing (exit 125 and a step or profile error).
///
/// The racers run only while a launch sets up and runs (started after `reset`, stopped
/// before the next one), so resetting the shared directory never races them.
fn race(
    arena: &Arena,
    profile: &Path,
    who: Option<(u32, u32)>,
    args: &[&str],
    attacks: &[Attack],
    mut reset: impl FnMut(),
    mut check: impl FnMut(usize, &Output),
) -> (Tally, u64) {
    let start = Instant::now();
    let mut tally = Tally::default();
    let mut hits = 0;
    for i in 0..MAX_LAUNCHES {
        if start.elapsed() > MAX_TIME {
            break;
        }
        reset();
        let racers: Vec<Racer> = attacks
            .iter()
            .map(|a| Racer::start(arena.path("shared"), *a))
            .collect();
        let out = launch(profile, who, args);
        hits += racers.iter().map(Racer::hits).sum::<u64>();
        drop(racers);
        if out.status.success() {
            tally.ran += 1;
            check(i, &out);
        } else {
            let err = stderr(&out);
            assert_eq!(
                out.status.code(),
                Some(125),
                "launch {i}: not a refusal: {err}"
            );
            assert!(
                err.contains("step ") || err.contains("error:"),
                "launch {i}: {err}"
            );
            tally.refused += 1;
        }
        arena.check_victim(i);
    }
    (tally, hits)
}

fn base_profile(arena: &Arena, extra: &str) -> PathBuf {
    let body = format!(
        "extends = [\"builtin:minimal\"]\n\n[[mount]]\ntype = \"bind\"\nsource = \"{}\"\ntarget = \"/shared\"\n\n{extra}",
        arena.path("shared").display()
    );
    let p = arena.path("profile.toml");
    std::fs::write(&p, format!("version = 1\n{body}")).unwrap();
    std::fs::set_permissions(&p, PermissionsExt::from_mode(0o644)).unwrap();
    p
}

/// Run `scenario` for root and for the unprivileged test user, each on its own thread
/// with a private mount namespace.
/// A race scenario: launches against an arena as root (None) or as a user.
type Scenario = fn(&Arena, Option<(u32, u32)>) -> (Tally, u64);

fn as_root_and_user(tag: &'static str, scenario: Scenario) {
    if need_sandbox() || need_root() {
        return;
    }
    let Some(user) = need_user() else { return };
    for who in [None, Some(user)] {
        let (tally, hits) = std::thread::spawn(move || {
            let arena = Arena::new(tag, who);
            scenario(&arena, who)
        })
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e));
        eprintln!("{tag} {who:?}: {tally:?}, {hits} swaps by the racer");
        assert!(hits > 0, "{tag}: the racer never swapped anything");
        assert!(tally.ran + tally.refused > 0, "{tag}: nothing was launched");
    }
}

#[test]
fn dir_mode_is_never_applied_through_a_swapped_link() {
    as_root_and_user("hp-dir", |arena, who| {
        let profile = base_profile(
            arena,
            "[[mount]]\ntype = \"dir\"\ntarget = \"/shared/d\"\nmode = \"0777\"\n",
        );
        let victim = arena.path("etc/shadow");
        let attack_racer = Attack::Exchange("d", "x");
        race(
            arena,
            &profile,
            who,
            &["/bin/true"],
            &[attack_racer, attack_racer],
            || arena.reset(&["d", "x"], &[("x", &victim)], who),
            |_, _| {},
        )
    });
}

#[test]
fn file_content_is_never_written_through_a_swapped_link() {
    as_root_and_user("hp-file", |arena, who| {
        let profile = base_profile(
            arena,
            "[[mount]]\ntype = \"file\"\ntarget = \"/shared/f\"\ncontent = \"planted\\n\"\nmode = \"0666\"\nread-only = true\n",
        );
        let victim = arena.path("etc/shadow");
        let attack_racer = Attack::Exchange("f", "x");
        race(
            arena,
            &profile,
            who,
            &["/bin/true"],
            &[attack_racer],
            || arena.reset(&["f", "x"], &[("x", &victim)], who),
            |_, _| {},
        )
    });
}

#[test]
fn tmpfs_target_renamed_away_fails_or_lands_inside() {
    as_root_and_user("hp-tmpfs", |arena, who| {
        let profile = base_profile(
            arena,
            "[[mount]]\ntype = \"tmpfs\"\ntarget = \"/shared/t\"\n",
        );
        let attack_racer = Attack::RenameAway("t");
        // A launch that ran must have its tmpfs at /shared/t (another device than /shared),
        // not on a directory renamed away nor missing.
        let on_target =
            "test \"$(stat -c %d /shared/t)\" != \"$(stat -c %d /shared)\" && echo mounted";
        race(
            arena,
            &profile,
            who,
            &["/bin/sh", "-c", on_target],
            &[attack_racer],
            || arena.reset(&["t", "t.gone"], &[], who),
            |i, out| {
                assert_eq!(
                    String::from_utf8_lossy(&out.stdout),
                    "mounted\n",
                    "launch {i}: the tmpfs is not at /shared/t: {}",
                    stderr(out)
                )
            },
        )
    });
}

#[test]
fn bind_target_swapped_for_a_link_never_mounts_on_the_host() {
    as_root_and_user("hp-bindt", |arena, who| {
        std::fs::create_dir(arena.path("src")).unwrap();
        std::fs::write(arena.path("src/marker"), "src\n").unwrap();
        arena.chown(who);
        let extra = format!(
            "[[mount]]\ntype = \"bind\"\nsource = \"{}\"\ntarget = \"/shared/b\"\n",
            arena.path("src").display()
        );
        let profile = base_profile(arena, &extra);
        let etc = arena.path("etc");
        let attack_racer = Attack::Exchange("b", "x");
        race(
            arena,
            &profile,
            who,
            &["/bin/true"],
            &[attack_racer],
            || arena.reset(&["b", "x"], &[("x", &etc)], who),
            |_, _| {},
        )
    });
}

#[test]
fn bind_source_swapped_for_a_link_is_refused_never_followed() {
    as_root_and_user("hp-binds", |arena, who| {
        let data = arena.path("shared/data");
        let extra = format!(
            "[[mount]]\ntype = \"bind\"\nsource = \"{}\"\ntarget = \"/data\"\nread-only = true\n",
            data.display()
        );
        let profile = base_profile(arena, &extra);
        let etc = arena.path("etc");
        let attack_racer = Attack::Exchange("data", "x");
        let reset = || {
            arena.reset(&["data", "x"], &[("x", &etc)], who);
            std::fs::create_dir(&data).unwrap();
            std::fs::write(data.join("marker"), "shared-data\n").unwrap();
            arena.chown(who);
        };
        race(
            arena,
            &profile,
            who,
            &["/bin/sh", "-c", "cat /data/marker; ls /data"],
            &[attack_racer],
            reset,
            |i, out| {
                let o = String::from_utf8_lossy(&out.stdout);
                assert!(
                    o.contains("shared-data") && !o.contains("shadow"),
                    "launch {i}: /data is not the profile's source: {o}"
                );
            },
        )
    });
}

#[test]
fn overlay_upper_and_work_swapped_for_links_never_write_the_host() {
    as_root_and_user("hp-ovl", |arena, who| {
        let ov = |n: &str| arena.path(&format!("shared/{n}"));
        let extra = format!(
            "[[mount]]\ntype = \"overlay\"\ntarget = \"/ov\"\nlower = [\"{}\"]\nupper = \"{}\"\nwork = \"{}\"\n",
            ov("lower").display(),
            ov("upper").display(),
            ov("work").display()
        );
        let profile = base_profile(arena, &extra);
        let etc = arena.path("etc");
        // Two racers: one on upper, one on work.
        let attack_upper = Attack::Exchange("upper", "x");
        let attack_work = Attack::Exchange("work", "y");
        let reset = || {
            arena.reset(
                &["lower", "upper", "work", "x", "y"],
                &[("x", &etc), ("y", &etc)],
                who,
            );
            for d in ["lower", "upper", "work"] {
                std::fs::create_dir(ov(d)).unwrap();
            }
            arena.chown(who);
        };
        race(
            arena,
            &profile,
            who,
            &["/bin/sh", "-c", "echo written > /ov/newfile"],
            &[attack_upper, attack_work],
            reset,
            |i, _| {
                // The write landed in the real upper dir, whichever name it has by now.
                let landed = ["upper", "x"]
                    .iter()
                    .any(|n| ov(n).join("newfile").exists());
                assert!(
                    landed,
                    "launch {i}: the overlay write is not in the profile's upper dir"
                );
            },
        )
    });
}

#[test]
fn bind_source_that_is_a_symlink_is_refused_at_its_key() {
    if need_sandbox() {
        return;
    }
    let dir = TempDir::new("hp-link");
    std::fs::create_dir(dir.join("real")).unwrap();
    std::fs::write(dir.join("real/marker"), "real\n").unwrap();
    symlink(dir.join("real"), dir.join("link")).unwrap();
    let body = |follow: &str| {
        format!(
            "extends = [\"builtin:minimal\"]\n\n[[mount]]\ntype = \"bind\"\nsource = \"{}\"\ntarget = \"/data\"\n{follow}",
            dir.join("link").display()
        )
    };
    let refused = dir.profile("refused.toml", &body(""));
    for args in [vec!["plan"], vec!["run"]] {
        let mut a: Vec<&std::ffi::OsStr> = args.iter().map(|s| s.as_ref()).collect();
        a.push(refused.as_os_str());
        if args[0] == "run" {
            a.extend([
                std::ffi::OsStr::new("--"),
                std::ffi::OsStr::new("/bin/true"),
            ]);
        }
        let out = TestCommand::new(a).output();
        let err = stderr(&out);
        assert!(
            !out.status.success(),
            "{args:?} accepted a symlinked source"
        );
        assert!(
            err.contains(".source`") && err.contains("is a symbolic link"),
            "{err}"
        );
        assert!(
            err.contains(&format!(
                "{} -> {}",
                dir.join("link").display(),
                dir.join("real").display()
            )),
            "names the link and its target: {err}"
        );
        assert!(
            err.contains(&format!("{}:6:10", refused.display())),
            "located: {err}"
        );
        assert!(
            err.contains("follow-symlinks = true"),
            "hints the opt-in: {err}"
        );
    }

    let followed = dir.profile("followed.toml", &body("follow-symlinks = true\n"));
    let out = TestCommand::new(["plan".as_ref(), followed.as_os_str()]).output();
    let plan = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        plan.contains(&format!("bind {} -> /data", dir.join("real").display())),
        "plan shows the resolved source: {plan}"
    );
    assert!(plan.contains("followed link"), "{plan}");
    let out = TestCommand::new(["explain".as_ref(), followed.as_os_str()]).output();
    let explained = String::from_utf8_lossy(&out.stdout);
    let resolved = format!(
        "{} => {}",
        dir.join("link").display(),
        dir.join("real").display()
    );
    assert!(
        explained.contains(&resolved),
        "explain shows what is mounted: {explained}"
    );
    let out = TestCommand::run(&followed, &["/bin/cat", "/data/marker"]).output();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "real\n");
}
