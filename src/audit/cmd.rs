//! The `stockade audit` command: load, compile, audit, render, gate. The only part of the
//! audit that touches the system (files, the clock, `--host` probes).

use super::catalogue::Severity;
use super::date::Date;
use super::gate::{Baseline, Gate};
use super::{HostView, Options, Report};
use crate::compile::{compile_phases, CompileOptions};
use crate::host::HostFacts;
use crate::log;
use crate::profile::load::load;
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};

/// Exit status: a profile does not load, compile, or has a bad `[[audit.suppress]]`.
pub const EXIT_INVALID: i32 = 2;

/// Output format of `stockade audit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    Table,
    Json,
    Sarif,
}

#[derive(Debug, Args)]
#[group(id = "Audit")]
pub struct AuditArgs {
    /// Profile files or `builtin:NAME`.
    #[arg(required_unless_present = "list")]
    pub profiles: Vec<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: AuditFormat,
    /// Exit 1 when a counted finding has this severity or a higher one.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    /// Exit 1 when a profile's score is above N.
    #[arg(long, value_name = "N")]
    pub threshold: Option<u32>,
    /// A previous `--format json` output: gate only on what is new since then.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Score what this kernel would enforce (best-effort Landlock on an older ABI, the
    /// kernel's TIOCSTI switch) instead of what the profile asks for.
    #[arg(long)]
    pub host: bool,
    /// The day suppression expiry is checked against (default: today, UTC).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub today: Option<String>,
    /// Print the catalogue of finding ids and exit.
    #[arg(long)]
    pub list: bool,
}

/// Run the command; returns the exit status (0 clean, 1 gate failed, 2 invalid input).
pub fn main(args: AuditArgs) -> i32 {
    if args.list {
        print!("{}", super::catalogue::render_list());
        return 0;
    }
    let today = match args.today.as_deref().map(Date::parse) {
        None => Date::today(),
        Some(Some(d)) => d,
        Some(None) => {
            log::error("--today: expected a date as YYYY-MM-DD");
            return EXIT_INVALID;
        }
    };
    let baseline = match &args.baseline {
        None => None,
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| Baseline::parse(&t))
        {
            Ok(b) => Some(b),
            Err(e) => {
                log::error(&format!("--baseline {}: {e}", path.display()));
                return EXIT_INVALID;
            }
        },
    };
    let facts = HostFacts::probe();
    let opts = Options {
        host: args.host.then(|| probe_host(&facts)),
        today,
    };
    let copts = CompileOptions {
        command: None,
        command_optional: true,
    };
    let mut reports: Vec<Report> = Vec::new();
    let mut invalid = false;
    for name in &args.profiles {
        let loaded = match load(name) {
            Ok(l) => l,
            Err(e) => {
                eprint!(
                    "{}",
                    crate::diag::render(&e.diagnostics.0, &e.sources, false)
                );
                invalid = true;
                continue;
            }
        };
        // A phased profile is audited phase by phase: each runs as its own sandbox.
        let phases = match compile_phases(&loaded, &facts, &copts, None) {
            Ok(c) => c,
            Err(d) => {
                eprint!("{}", crate::diag::render(&d.0, &loaded.sources, false));
                invalid = true;
                continue;
            }
        };
        for phase in phases {
            match super::audit(&loaded, &phase.compiled.plan, &facts.home, &opts) {
                Ok(mut r) => {
                    if !phase.name.is_empty() {
                        r.profile = format!("{} (phase {})", r.profile, phase.name);
                    }
                    reports.push(r);
                }
                Err(d) => {
                    eprint!("{}", crate::diag::render(&d.0, &loaded.sources, false));
                    invalid = true;
                    break;
                }
            }
        }
    }
    match args.format {
        AuditFormat::Table => print!("{}", super::render::table(&reports)),
        AuditFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&super::render::json(&reports)).unwrap_or_default()
        ),
        AuditFormat::Sarif => {
            let root = repo_root(&facts.cwd);
            let uri_of = |file: &str| relative_uri(file, &facts.cwd, root.as_deref());
            println!(
                "{}",
                serde_json::to_string_pretty(&super::sarif::log(&reports, &uri_of))
                    .unwrap_or_default()
            );
        }
    }
    if invalid {
        return EXIT_INVALID;
    }
    let gate = Gate {
        fail_on: args.fail_on,
        threshold: args.threshold,
    };
    let failures = super::gate::failures(&reports, &gate, baseline.as_ref());
    for f in &failures {
        log::error(f);
    }
    i32::from(!failures.is_empty())
}

/// What `--host` needs to know about the running kernel.
fn probe_host(facts: &HostFacts) -> HostView {
    let tiocsti = std::fs::read_to_string("/proc/sys/dev/tty/legacy_tiocsti").ok();
    HostView {
        landlock_abi: facts.landlock_abi,
        tiocsti_disabled: tiocsti.is_some_and(|t| t.trim() == "0"),
    }
}

/// The enclosing git work tree of `dir`, if any.
fn repo_root(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// A profile file name as a URI relative to the repository root (or to the current
/// directory outside a repository), `/`-separated and percent-encoded.
fn relative_uri(file: &str, cwd: &Path, root: Option<&Path>) -> String {
    if file.starts_with("builtin:") {
        return file.to_owned();
    }
    let abs = std::fs::canonicalize(cwd.join(file)).unwrap_or_else(|_| cwd.join(file));
    let base = root
        .and_then(|r| std::fs::canonicalize(r).ok())
        .unwrap_or_else(|| cwd.to_path_buf());
    let rel = abs
        .strip_prefix(&base)
        .map(Path::to_path_buf)
        .unwrap_or(abs);
    let mut out = String::new();
    for b in rel.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
