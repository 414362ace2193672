//! Exit status of `stockade audit`: which findings fail the run, against a baseline.

use super::catalogue::Severity;
use super::Report;
use std::collections::{BTreeMap, BTreeSet};

/// Failing conditions.
#[derive(Debug, Clone, Default)]
pub struct Gate {
    /// Fail on a counted finding at or above this severity.
    pub fail_on: Option<Severity>,
    /// Fail when a profile's score is above this.
    pub threshold: Option<u32>,
}

/// A previous JSON output: per profile, its score and the fingerprints of its counted
/// findings.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    profiles: BTreeMap<String, (u32, BTreeSet<(String, String)>)>,
}

impl Baseline {
    /// Read a JSON output of `stockade audit --format json`.
    pub fn parse(text: &str) -> Result<Baseline, String> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        if v.get("tool").and_then(|t| t.as_str()) != Some("stockade-audit") {
            return Err("not a `stockade audit --format json` output".into());
        }
        let version = v.get("schema_version").and_then(|t| t.as_u64());
        if version != Some(u64::from(super::JSON_SCHEMA_VERSION)) {
            return Err(format!(
                "schema_version {version:?}, this stockade reads {}",
                super::JSON_SCHEMA_VERSION
            ));
        }
        let mut profiles = BTreeMap::new();
        for p in v
            .get("profiles")
            .and_then(|p| p.as_array())
            .into_iter()
            .flatten()
        {
            let name = p
                .get("profile")
                .and_then(|n| n.as_str())
                .ok_or("a profile without a name")?;
            let score = p
                .get("score")
                .and_then(|s| s.as_u64())
                .ok_or("a profile without a score")?;
            let mut seen = BTreeSet::new();
            for f in p
                .get("findings")
                .and_then(|f| f.as_array())
                .into_iter()
                .flatten()
            {
                if f.get("counted").and_then(|c| c.as_bool()) != Some(true) {
                    continue;
                }
                let id = f.get("id").and_then(|x| x.as_str()).unwrap_or_default();
                let key = f.get("key").and_then(|x| x.as_str()).unwrap_or_default();
                seen.insert((id.to_owned(), key.to_owned()));
            }
            profiles.insert(
                name.to_owned(),
                (u32::try_from(score).unwrap_or(u32::MAX), seen),
            );
        }
        Ok(Baseline { profiles })
    }
}

/// Why the run fails, one line per reason (empty: it passes).
pub fn failures(reports: &[Report], gate: &Gate, baseline: Option<&Baseline>) -> Vec<String> {
    let mut out = Vec::new();
    for r in reports {
        let base = baseline.and_then(|b| b.profiles.get(&r.profile));
        // With a baseline, only what is new gates: a finding it did not have, a score
        // above both the threshold and the baseline's score.
        let is_new = |id: &str, key: &str| {
            base.is_none_or(|(_, seen)| !seen.contains(&(id.to_owned(), key.to_owned())))
        };
        let base_score = match (baseline, base) {
            (Some(_), Some((s, _))) => Some(*s),
            _ => None,
        };
        if let Some(min) = gate.fail_on {
            for f in r.findings.iter().filter(|f| f.counted && f.severity >= min) {
                if is_new(f.id, &f.key) {
                    out.push(format!(
                        "{}: {} ({}) at or above --fail-on {}",
                        r.profile,
                        f.id,
                        f.severity.name(),
                        min.name()
                    ));
                }
            }
        }
        if let Some(t) = gate.threshold {
            if r.score > t && base_score.is_none_or(|b| r.score > b) {
                out.push(format!(
                    "{}: score {} above --threshold {t}",
                    r.profile, r.score
                ));
            }
        }
    }
    out
}
