//! `stockade doctor`: what this host offers (namespaces, id helpers, cgroups, Landlock,
//! seccomp, systemd, pasta, nesting) and, for each profile given, which of its keys this
//! host cannot enforce and why.
//!
//! The host is probed by trying the real operations in throw-away children
//! ([`forkprobe`]), not only by reading sysctls: what refuses a sandbox inside a container
//! or another sandbox is often a seccomp filter, a masked /proc or a missing capability,
//! which no configuration file shows.

mod forkprobe;
pub mod needs;
pub mod probe;
mod render;

use crate::cli::Format;
use crate::compile::{compile, CompileOptions};
use crate::diag;
use crate::host::HostFacts;
use crate::profile::load::load;
use needs::Verdict;
use serde::Serialize;

/// One profile's requirements on this host.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileReport {
    pub profile: String,
    /// The profile did not load or compile (its diagnostics are printed on stderr).
    pub error: Option<String>,
    pub needs: Vec<needs::Need>,
}

impl ProfileReport {
    fn fails(&self) -> bool {
        self.error.is_some() || self.needs.iter().any(|n| n.verdict == Verdict::Fails)
    }
}

/// Run doctor: exit 0 when every profile given can run here, 1 otherwise.
pub fn main(profiles: &[String], format: Format) -> i32 {
    let host = probe::host();
    let facts = HostFacts::probe();
    let opts = CompileOptions {
        command: None,
        command_optional: true,
    };
    let reports: Vec<ProfileReport> = profiles
        .iter()
        .map(|name| {
            let compiled = load(name)
                .map_err(|e| {
                    eprint!("{}", diag::render(&e.diagnostics.0, &e.sources, false));
                    "the profile does not load".to_string()
                })
                .and_then(|loaded| {
                    compile(&loaded, &facts, &opts).map_err(|d| {
                        eprint!("{}", diag::render(&d.0, &loaded.sources, false));
                        // The first error also goes into the report (stderr may be lost).
                        match d.0.iter().find(|x| x.severity == diag::Severity::Error) {
                            Some(first) => {
                                format!("the profile does not compile here: {}", first.message)
                            }
                            None => "the profile does not compile here".to_string(),
                        }
                    })
                });
            match compiled {
                Ok(c) => ProfileReport {
                    profile: name.clone(),
                    error: None,
                    needs: needs::needs(&c.plan, &host),
                },
                Err(e) => ProfileReport {
                    profile: name.clone(),
                    error: Some(e),
                    needs: Vec::new(),
                },
            }
        })
        .collect();
    match format {
        Format::Text => print!("{}", render::text(&host, &reports)),
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "host": host,
                "profiles": reports,
            }))
            .unwrap_or_default()
        ),
    }
    i32::from(reports.iter().any(ProfileReport::fails))
}
