//! Text table and JSON of audit reports.

use super::{Report, JSON_SCHEMA_VERSION};
use std::fmt::Write;

/// The table: counted findings first, then moot and suppressed ones.
pub fn table(reports: &[Report]) -> String {
    let mut o = String::new();
    for r in reports {
        let counted = r.findings.iter().filter(|f| f.counted).count();
        let _ = writeln!(
            o,
            "{}: score {}{} ({} finding{}, {} moot or suppressed)",
            r.profile,
            r.score,
            if r.host { " on this host" } else { "" },
            counted,
            if counted == 1 { "" } else { "s" },
            r.findings.len() - counted
        );
        if r.findings.is_empty() {
            continue;
        }
        let _ = writeln!(
            o,
            "  {:<13} {:<8} {:>3}  {:<36} WHAT",
            "ID", "SEVERITY", "W", "WHERE"
        );
        for f in &r.findings {
            let place = f
                .location
                .as_ref()
                .map(|l| format!("{}:{}:{}", l.file, l.line, l.column))
                .unwrap_or_else(|| "-".into());
            let weight = if f.counted {
                f.weight.to_string()
            } else {
                "-".into()
            };
            let _ = writeln!(
                o,
                "  {:<13} {:<8} {:>3}  {:<36} {} ({})",
                f.id,
                f.severity.name(),
                weight,
                place,
                f.reason,
                f.detail
            );
            if let Some(m) = &f.moot {
                let _ = writeln!(o, "  {:<13} moot: {m}", "");
            }
            if let Some(s) = &f.suppressed {
                let _ = writeln!(o, "  {:<13} suppressed: {s}", "");
            }
            if f.counted {
                let _ = writeln!(o, "  {:<13} fix: {} [{}]", "", f.help, f.key);
            }
        }
    }
    o
}

/// The JSON document (also what `--baseline` reads back).
pub fn json(reports: &[Report]) -> serde_json::Value {
    serde_json::json!({
        "tool": "stockade-audit",
        "schema_version": JSON_SCHEMA_VERSION,
        "profiles": reports,
    })
}
