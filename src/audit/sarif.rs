//! SARIF 2.1.0 output, for code-scanning UIs: one run, the catalogue as the tool's rules,
//! one result per counted or suppressed finding with a region on the profile's TOML line.
//! Moot findings are left out (they are not problems of this profile).

use super::catalogue::RULES;
use super::Report;
use serde_json::{json, Value};

/// The SARIF log. `uri_of` turns a file name as the profile named it into a URI relative
/// to the repository root (the caller knows the filesystem; this stays pure).
pub fn log(reports: &[Report], uri_of: &dyn Fn(&str) -> String) -> Value {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.name,
                "shortDescription": { "text": r.reason },
                "help": { "text": r.help },
                "defaultConfiguration": { "level": r.severity.sarif_level() },
                "properties": { "severity": r.severity.name(), "weight": r.weight },
            })
        })
        .collect();
    let mut results = Vec::new();
    for rep in reports {
        for f in rep.findings.iter().filter(|f| f.moot.is_none()) {
            let Some(index) = RULES.iter().position(|r| r.id == f.id) else {
                continue;
            };
            let mut result = json!({
                "ruleId": f.id,
                "ruleIndex": index,
                "level": f.severity.sarif_level(),
                "message": { "text": format!("{}: {} ({})", rep.profile, f.reason, f.detail) },
                "partialFingerprints": {
                    "stockadeFinding/v1": format!("{}|{}|{}", rep.profile, f.id, f.key),
                },
                "properties": { "weight": f.weight, "key": f.key, "profile": rep.profile },
            });
            if let Some(l) = &f.location {
                result["locations"] = json!([{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri_of(&l.file), "uriBaseId": "%SRCROOT%" },
                        "region": {
                            "startLine": l.line,
                            "startColumn": l.column,
                            "endLine": l.end_line,
                            "endColumn": l.end_column.max(1),
                        },
                    },
                    "logicalLocations": [{ "fullyQualifiedName": f.key, "kind": "member" }],
                }]);
            }
            if let Some(reason) = &f.suppressed {
                result["suppressions"] = json!([{ "kind": "inSource", "justification": reason }]);
            }
            results.push(result);
        }
    }
    json!({
        "$schema": "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "stockade",
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "results": results,
        }],
    })
}
