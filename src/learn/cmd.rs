//! The `stockade learn` command: trace (or read logs), generalise, write the patch.

use super::event::{self, Event, LOG_VERSION};
use crate::compile::{compile, CompileOptions};
use crate::host::HostFacts;
use crate::log;
use crate::profile::load::load;
use clap::Args;
use std::path::PathBuf;

/// Exit status when learning itself failed (bad profile, bad log, tracer error).
pub const EXIT_LEARN: i32 = 125;

#[derive(Debug, Args)]
#[group(id = "Learn")]
pub struct LearnArgs {
    /// The profile to extend (default: builtin:minimal, a permissive learning base with
    /// namespaces and no seccomp or Landlock).
    pub profile: Option<String>,
    /// Write the observations here as JSON lines (for `--from-log` and `--merge` later).
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Do not run anything: learn from these logs (several: merged into one patch).
    #[arg(long = "from-log", value_name = "LOG")]
    pub from_log: Vec<PathBuf>,
    /// Write the patch to this file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Merge what was learnt into PROFILE itself (comments and layout kept), instead of
    /// writing an overlay.
    #[arg(long, conflicts_with_all = ["output", "diff"])]
    pub write: bool,
    /// Show what `--write` would change in PROFILE, as a unified diff; write nothing.
    #[arg(long, conflicts_with = "output")]
    pub diff: bool,
    /// Also learn dangerous calls and capabilities (mount, bpf, ptrace, io_uring, userns,
    /// CAP_SYS_ADMIN, ...), which are otherwise only listed in comments.
    #[arg(long)]
    pub allow_dangerous: bool,
    /// The command to observe.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

pub fn main(args: LearnArgs) -> i32 {
    let profile = args
        .profile
        .clone()
        .unwrap_or_else(|| "builtin:minimal".to_owned());
    let host = HostFacts::probe();
    let loaded = match load(&profile) {
        Ok(l) => l,
        Err(e) => {
            eprint!(
                "{}",
                crate::diag::render(&e.diagnostics.0, &e.sources, false)
            );
            return EXIT_LEARN;
        }
    };
    let opts = CompileOptions {
        command: None,
        command_optional: true,
    };
    let plan = match compile(&loaded, &host, &opts) {
        Ok(c) => c.plan,
        Err(d) => {
            eprint!("{}", crate::diag::render(&d.0, &loaded.sources, false));
            return EXIT_LEARN;
        }
    };
    // Opened before the payload runs: it may write the directories these files are in
    // (see exec::host_output), so they are never opened by name afterwards.
    let open_output = |path: &PathBuf, what: &str| {
        crate::exec::host_output::open(path, crate::exec::host_output::Existing::Truncate)
            .map_err(|e| log::error(&format!("learn: {what} {}: {e}", path.display())))
    };
    let Ok(output) = args
        .output
        .as_ref()
        .map(|p| open_output(p, "--output"))
        .transpose()
    else {
        return EXIT_LEARN;
    };
    let Ok(log_file) = args
        .log
        .as_ref()
        .map(|p| open_output(p, "--log"))
        .transpose()
    else {
        return EXIT_LEARN;
    };
    // --write and --diff edit the profile file: read (and for --write open) it now, before
    // the payload runs and may change or replace it.
    let in_place = match (args.write || args.diff, profile.starts_with("builtin:")) {
        (false, _) => None,
        (true, true) => {
            log::error(&format!(
                "learn: --write and --diff edit a profile file; {profile} is built in (use -o for an overlay)"
            ));
            return EXIT_LEARN;
        }
        (true, false) => match open_in_place(&profile, args.write) {
            Ok(p) => Some(p),
            Err(e) => {
                log::error(&format!("learn: {profile}: {e}"));
                return EXIT_LEARN;
            }
        },
    };
    let (events, logs, status) = if args.from_log.is_empty() {
        if args.command.is_empty() {
            log::error("learn: give a command after `--`, or logs with --from-log");
            return EXIT_LEARN;
        }
        match observe(
            &profile,
            &host,
            &args,
            log_file,
            plan.capabilities.no_new_privs,
        ) {
            Ok((events, status)) => (events, 1, status),
            Err(e) => {
                log::error(&format!("learn: {e}"));
                return EXIT_LEARN;
            }
        }
    } else {
        let mut all = Vec::new();
        for path in &args.from_log {
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) => {
                    log::error(&format!("{}: {e}", path.display()));
                    return EXIT_LEARN;
                }
            };
            match event::parse(&path.display().to_string(), &text) {
                Ok(ev) => all.extend(ev),
                Err(e) => {
                    log::error(&e.to_string());
                    return EXIT_LEARN;
                }
            }
        }
        (all, args.from_log.len(), 0)
    };
    let mut learned = super::generalise::generalise(&events, args.allow_dangerous);
    let (scratch, binds) = mount_targets(&plan);
    super::generalise::anchor_scratch(&mut learned, &scratch, &binds);
    if let Some((text, file)) = in_place {
        return match write_in_place(&profile, &text, file, &learned, &plan) {
            Ok(()) => status,
            Err(e) => {
                log::error(&format!("learn: {profile}: {e}"));
                EXIT_LEARN
            }
        };
    }
    let patch = super::patch::render(&learned, &plan, &extends_name(&profile, &args), logs);
    match (output, &args.output) {
        (Some(mut file), Some(path)) => {
            use std::io::Write;
            if let Err(e) = file.write_all(patch.text.as_bytes()) {
                log::error(&format!("{}: {e}", path.display()));
                return EXIT_LEARN;
            }
            crate::exec::host_output::warn_if_replaced(path, &file, "learned profile");
        }
        _ => print!("{}", patch.text),
    }
    status
}

/// An anonymous file, inherited across exec (no close-on-exec).
fn memfd(name: &str) -> std::io::Result<std::fs::File> {
    use std::os::fd::FromRawFd;
    let name = std::ffi::CString::new(name).map_err(std::io::Error::other)?;
    // SAFETY: a valid NUL-terminated name; the returned fd is ours alone.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd was just created and is owned by nothing else.
    Ok(unsafe { std::fs::File::from_raw_fd(fd) })
}

/// The hosts the run's proxy let through (by its list, or only because learn watched).
fn egress_from_report(mut report: std::fs::File) -> Vec<Event> {
    use std::io::{Read, Seek};
    let mut text = String::new();
    if report.rewind().is_err() || report.read_to_string(&mut text).is_err() {
        return Vec::new();
    }
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Vec::new();
    };
    let conns = v["network"]["connections"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    conns
        .iter()
        .filter(|c| c["verdict"] == "allowed" && c["protocol"] != "dns")
        .filter_map(|c| {
            Some(Event::Egress {
                host: c["host"].as_str()?.to_owned(),
                port: u16::try_from(c["port"].as_u64()?).ok()?,
                exe: "proxy".into(),
            })
        })
        .collect()
}

/// The targets of the plan's tmpfs mounts other than the root (scratch space, empty at
/// every start), and of every other mount (what lies beneath those is not scratch).
fn mount_targets(plan: &crate::plan::Plan) -> (Vec<PathBuf>, Vec<PathBuf>) {
    use crate::plan::MountOp;
    let mut scratch = Vec::new();
    let mut others = Vec::new();
    for m in &plan.mounts {
        match m.op {
            MountOp::Tmpfs { .. } if m.target != std::path::Path::new("/") => {
                scratch.push(m.target.clone())
            }
            _ => others.push(m.target.clone()),
        }
    }
    (scratch, others)
}

/// The profile's text, and for `--write` the file opened for rewriting (see
/// `exec::host_output`: no symlink followed, a regular file of the caller's).
fn open_in_place(profile: &str, write: bool) -> Result<(String, Option<std::fs::File>), String> {
    use std::io::Read;
    let path = std::path::Path::new(profile);
    let mut file = if write {
        crate::exec::host_output::open(path, crate::exec::host_output::Existing::Keep)?
    } else {
        std::fs::File::open(path).map_err(|e| e.to_string())?
    };
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(|e| e.to_string())?;
    Ok((text, write.then_some(file)))
}

/// Merge into the text read before the run; print the diff, or rewrite the file through
/// the descriptor opened then.
fn write_in_place(
    profile: &str,
    text: &str,
    file: Option<std::fs::File>,
    learned: &super::generalise::Learned,
    plan: &crate::plan::Plan,
) -> Result<(), String> {
    use std::os::unix::fs::FileExt;
    let (merged, changed) = super::write::merge(text, learned, plan)?;
    let Some(file) = file else {
        print!("{}", super::write::unified_diff(profile, text, &merged));
        return Ok(());
    };
    if !changed {
        log::note("learn: nothing to add: the profile allows everything observed");
        return Ok(());
    }
    file.set_len(0).map_err(|e| e.to_string())?;
    file.write_all_at(merged.as_bytes(), 0)
        .map_err(|e| e.to_string())?;
    crate::exec::host_output::warn_if_replaced(std::path::Path::new(profile), &file, "profile");
    Ok(())
}

/// How the patch names the profile: as given, or relative to the patch's directory when
/// both are files in one directory.
fn extends_name(profile: &str, args: &LearnArgs) -> String {
    if profile.starts_with("builtin:") {
        return profile.to_owned();
    }
    let abs = std::fs::canonicalize(profile).unwrap_or_else(|_| PathBuf::from(profile));
    match args.output.as_ref().and_then(|o| {
        let parent = o.parent().filter(|p| !p.as_os_str().is_empty());
        let dir = std::fs::canonicalize(parent.unwrap_or(std::path::Path::new("."))).ok()?;
        abs.strip_prefix(dir).ok().map(|r| r.display().to_string())
    }) {
        Some(rel) => rel,
        None => abs.display().to_string(),
    }
}

/// Trace `stockade run PROFILE -- CMD`, writing the log when asked.
fn observe(
    profile: &str,
    host: &HostFacts,
    args: &LearnArgs,
    log_file: Option<std::fs::File>,
    fast: bool,
) -> std::io::Result<(Vec<Event>, i32)> {
    let exe = std::env::current_exe()?;
    let mut argv = vec![exe.display().to_string(), "run".to_owned()];
    // The learning filter needs no_new_privs (a profile without it is traced at every
    // syscall instead: slower, the same observations).
    if fast {
        argv.push("--learn-filter".to_owned());
    } else {
        log::note(
            "learn: the profile does not set no_new_privs; tracing every system call (slower)",
        );
    }
    // The run report comes back through a memfd the tracee inherits (never a path the
    // payload could reach): its proxy decisions are the host names the run needed.
    let report = memfd("stockade-learn-report")?;
    argv.push("--report-fd".to_owned());
    argv.push(std::os::fd::AsRawFd::as_raw_fd(&report).to_string());
    argv.push(profile.to_owned());
    argv.push("--".to_owned());
    argv.extend(args.command.iter().cloned());
    let traced = super::tracer::trace(&argv, &exe, fast)?;
    let egress = egress_from_report(report);
    let mut events = vec![Event::Header {
        tool: "stockade-learn".into(),
        version: LOG_VERSION,
        profile: profile.to_owned(),
        home: host.home.display().to_string(),
        pwd: host.cwd.display().to_string(),
    }];
    events.extend(traced.events);
    events.extend(egress);
    if let (Some(mut file), Some(path)) = (log_file, &args.log) {
        use std::io::Write;
        let text: String = events.iter().map(|e| event::to_line(e) + "\n").collect();
        file.write_all(text.as_bytes())?;
        crate::exec::host_output::warn_if_replaced(path, &file, "learn log");
    }
    Ok((events, traced.status))
}
