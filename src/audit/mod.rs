//! `stockade audit`: an offline exposure score of a profile, with findings that name the
//! profile key and file:line:col causing them.
//!
//! Pure, like [`plan::explain`](crate::plan::explain): it reads the compiled [`Plan`] and
//! the provenance of the merged profile; the host (only with `--host`) and today's date
//! come in as parameters. Pieces: [`catalogue`] (the stable ids, weights and reasons),
//! [`checks`] (plan → raw findings, with dominance), this module (locations, suppressions,
//! score), [`render`] (table, JSON, SARIF) and [`gate`] (exit status, baselines).

pub mod catalogue;
pub mod checks;
pub mod cmd;
pub mod date;
pub mod gate;
pub mod render;
pub mod sarif;

use crate::diag::{Diagnostic, Diagnostics, Span};
use crate::plan::Plan;
use crate::profile::load::Loaded;
use catalogue::Severity;
pub use checks::HostView;
use date::Date;
use serde::Serialize;
use std::path::Path;

/// Version of the JSON output's shape; bumped on any incompatible change.
pub const JSON_SCHEMA_VERSION: u32 = 1;

/// Inputs that are not the profile.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--host`: score what this kernel enforces under best-effort.
    pub host: Option<HostView>,
    /// The day suppressions are checked against.
    pub today: Date,
}

/// Where a finding points, 1-based.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The file as the profile named it (a path, or `builtin:NAME`).
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

/// One finding in a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub id: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub weight: u32,
    /// Whether it adds to the score and gates (neither moot nor suppressed).
    pub counted: bool,
    pub reason: &'static str,
    pub help: &'static str,
    pub detail: String,
    /// The profile key that causes it.
    pub key: String,
    pub location: Option<Location>,
    /// Why a stronger setting makes it moot.
    pub moot: Option<String>,
    /// The reason of the suppression that accepts it.
    pub suppressed: Option<String>,
}

/// The audit of one profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub profile: String,
    /// Sum of the weights of the counted findings (0: nothing found).
    pub score: u32,
    /// Whether `--host` was applied.
    pub host: bool,
    pub findings: Vec<Finding>,
}

/// Audit a compiled profile. Errors (a bad `[[audit.suppress]]` entry) carry spans.
pub fn audit(
    loaded: &Loaded,
    plan: &Plan,
    home: &Path,
    opts: &Options,
) -> Result<Report, Diagnostics> {
    let subject = checks::Subject {
        plan,
        profile: &loaded.profile,
        home,
        host: opts.host.as_ref(),
    };
    let mut raw = checks::run(&subject);
    let suppressions = suppressions(loaded, opts.today, &mut raw)?;
    let mut findings: Vec<Finding> = raw
        .into_iter()
        .filter_map(|r| {
            let rule = catalogue::rule(r.id)?;
            let suppressed = suppressions
                .iter()
                .find(|s| s.id == r.id && r.id != "STK-AUD-001")
                .map(|s| s.reason.clone());
            Some(Finding {
                id: rule.id,
                name: rule.name,
                severity: rule.severity,
                weight: rule.weight,
                counted: r.moot.is_none() && suppressed.is_none(),
                reason: rule.reason,
                help: rule.help,
                location: locate(loaded, &r.key),
                detail: r.detail,
                key: r.key,
                moot: r.moot,
                suppressed,
            })
        })
        .collect();
    findings.sort_by(|a, b| {
        (b.counted, b.severity, a.id, &a.key).cmp(&(a.counted, a.severity, b.id, &b.key))
    });
    let score = findings
        .iter()
        .filter(|f| f.counted)
        .map(|f| f.weight)
        .sum();
    Ok(Report {
        profile: loaded.name.clone(),
        score,
        host: opts.host.is_some(),
        findings,
    })
}

/// A suppression in force.
struct Active {
    id: String,
    reason: String,
}

/// Validate `[[audit.suppress]]`: every entry names a known id and gives a reason; an
/// expired one is not in force and becomes an `STK-AUD-001` finding.
fn suppressions(
    loaded: &Loaded,
    today: Date,
    raw: &mut Vec<checks::Raw>,
) -> Result<Vec<Active>, Diagnostics> {
    let mut diags = Diagnostics::default();
    let mut active = Vec::new();
    let list = loaded
        .profile
        .audit
        .as_ref()
        .and_then(|a| a.suppress.as_ref());
    for (i, s) in list.into_iter().flatten().enumerate() {
        let key = format!("audit.suppress[{i}]");
        if catalogue::rule(&s.id).is_none() {
            let ids: Vec<&str> = catalogue::RULES.iter().map(|r| r.id).collect();
            let mut d = Diagnostic::error(
                format!("{key}.id"),
                format!("unknown finding id `{}`", s.id),
            );
            if let Some(m) = crate::diag::did_you_mean(&s.id, ids.iter().copied()) {
                d = d.help(format!("did you mean `{m}`?"));
            } else {
                d = d.help("`stockade audit --list` shows every id");
            }
            diags.push(d);
        }
        if s.reason.trim().is_empty() {
            diags.push(
                Diagnostic::error(format!("{key}.reason"), "a suppression needs a reason")
                    .help("say why this exposure is accepted; reviewers read it"),
            );
        }
        let until = match &s.until {
            None => None,
            Some(text) => match Date::parse(text) {
                Some(d) => Some(d),
                None => {
                    diags.push(
                        Diagnostic::error(
                            format!("{key}.until"),
                            format!("`{text}` is not a date"),
                        )
                        .help("write the last day it holds as \"YYYY-MM-DD\""),
                    );
                    None
                }
            },
        };
        match until {
            Some(d) if d < today => raw.push(checks::Raw::new(
                "STK-AUD-001",
                format!("{key}.until"),
                format!("suppression of {} expired on {d}", s.id),
            )),
            _ => active.push(Active {
                id: s.id.clone(),
                reason: s.reason.clone(),
            }),
        }
    }
    if diags.has_errors() {
        loaded.locate(&mut diags);
        return Err(diags);
    }
    Ok(active)
}

/// file:line:col of a key. A key written in no file points at the profile's first line;
/// one set by a built-in layer points at the `extends` line that brought it in (a
/// code-scanning UI can only annotate files of the repository).
fn locate(loaded: &Loaded, key: &str) -> Option<Location> {
    let sources = &loaded.sources;
    let top = sources.get(0)?;
    let from_span = |span: &Span| -> Option<Location> {
        let file = sources.get(span.file)?;
        let (line, column) = sources.line_col(span);
        let end = Span {
            file: span.file,
            range: span.range.end..span.range.end,
        };
        let (end_line, end_column) = sources.line_col(&end);
        Some(Location {
            file: file.name.clone(),
            line,
            column,
            end_line,
            end_column,
        })
    };
    if let Some(span) = loaded.origin_of(key) {
        let in_builtin = sources
            .get(span.file)
            .is_some_and(|f| f.name.starts_with("builtin:"));
        if !in_builtin || top.name.starts_with("builtin:") {
            return from_span(span);
        }
    }
    let offset = top
        .text
        .match_indices("extends")
        .find(|(at, _)| *at == 0 || top.text.as_bytes()[at - 1] == b'\n')
        .map(|(at, _)| at)
        .unwrap_or(0);
    let line_end = top.text[offset..]
        .find('\n')
        .map_or(top.text.len(), |n| offset + n);
    from_span(&Span {
        file: 0,
        range: offset..line_end,
    })
}

#[cfg(test)]
mod tests;
