//! Rendering the imported profile as commented TOML.
//!
//! The TOML itself comes from serializing the wire types (so keys, escaping and nesting are
//! exactly what `profile::load` reads); comments are then put above each table header. The
//! result is parsed back and compared with the profile before it is returned.

use super::OciError;
use crate::profile::Profile;

/// Free-form remarks for the top of the file.
#[derive(Debug, Default)]
pub(super) struct Comments {
    pub header: Vec<String>,
}

/// Where the generated profile expects the JSON schema (profiles live next to `schema/`).
const SCHEMA_LINE: &str = "#:schema ../schema/profile.schema.json";

fn section_comment(header: &str) -> Option<&'static str> {
    Some(match header {
        "[process]" => "The payload: command, identity, working directory, lifecycle.",
        "[env]" => "The environment, exactly as in process.env.",
        "[env.set]" => return None,
        "[namespaces]" => "Namespaces from linux.namespaces; id maps from linux.uid/gidMappings.",
        "[network]" => "A network namespace means loopback only.",
        "[filesystem]" => "Root, hostname, linux.maskedPaths and linux.readonlyPaths.",
        "[resources]" => "cgroup limits from linux.resources (converted to stockade's units).",
        "[rlimits]" => "process.rlimits.",
        "[seccomp]" => "linux.seccomp, rule by rule (no preset).",
        "[landlock]" => "Landlock, restored from the org.stockade.landlock annotation.",
        "[capabilities]" => "process.capabilities: one kept set, plus ambient.",
        "[systemd]" => "No sd_notify relay or socket activation unless the bundle recorded them.",
        _ => return None,
    })
}

pub(super) fn render(profile: &Profile, comments: &Comments) -> Result<String, OciError> {
    let body = toml::to_string(profile).map_err(|e| OciError::Export {
        what: "the imported profile".into(),
        reason: e.to_string(),
    })?;
    let mut out = String::new();
    out.push_str(SCHEMA_LINE);
    out.push('\n');
    for line in &comments.header {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    let mut mount_no = 0;
    let mut rule_no = 0;
    for line in body.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            if !out.ends_with("\n\n") {
                out.push('\n');
            }
            if let Some(c) = section_comment(trimmed) {
                out.push_str(&format!("# {c}\n"));
            } else if trimmed == "[[mount]]" {
                out.push_str(&format!(
                    "# mounts[{mount_no}] (in order; later shadows earlier)\n"
                ));
                mount_no += 1;
            } else if trimmed == "[[seccomp.rule]]" {
                out.push_str(&format!("# linux.seccomp.syscalls[{rule_no}]\n"));
                rule_no += 1;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    let back: Profile = toml::from_str(&out).map_err(|e| OciError::Export {
        what: "the imported profile".into(),
        reason: format!("the generated TOML does not parse back: {e}"),
    })?;
    if &back != profile {
        return Err(OciError::Export {
            what: "the imported profile".into(),
            reason: "the generated TOML reads back differently".into(),
        });
    }
    Ok(out)
}
