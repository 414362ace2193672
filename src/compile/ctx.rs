//! Shared state of one compilation: host facts and the diagnostics collected so far, with
//! helpers every subsystem uses (variables, paths, numbers with units).

use super::vars;
use crate::diag::{Diagnostic, Diagnostics};
use crate::host::HostFacts;
use crate::profile::IntOrString;
use crate::units::{self, UnitError};
use std::path::{Component, Path, PathBuf};

/// Compilation context.
pub struct Ctx<'h> {
    pub host: &'h HostFacts,
    diags: Diagnostics,
}

impl<'h> Ctx<'h> {
    pub fn new(host: &'h HostFacts) -> Ctx<'h> {
        Ctx {
            host,
            diags: Diagnostics::default(),
        }
    }

    pub fn finish(self) -> Diagnostics {
        self.diags
    }

    /// Record an error.
    pub fn error(&mut self, key: &str, message: impl Into<String>, help: Option<String>) {
        let mut d = Diagnostic::error(key, message);
        d.help = help;
        self.diags.push(d);
    }

    /// Record an error about the presence of a key (shown at the whole `key = value`).
    pub fn error_on_key(&mut self, key: &str, message: impl Into<String>, help: Option<String>) {
        let mut d = Diagnostic::error(key, message).on_key();
        d.help = help;
        self.diags.push(d);
    }

    /// Record a diagnostic built elsewhere (one that already has its span).
    pub fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Record a warning.
    pub fn warn(&mut self, key: &str, message: impl Into<String>, help: Option<String>) {
        let mut d = Diagnostic::warning(key, message);
        d.help = help;
        self.diags.push(d);
    }

    fn unit_error(&mut self, key: &str, e: UnitError) {
        self.error(key, format!("`{key}`: {}", e.message), e.help);
    }

    /// Expand `${...}` variables in a string.
    pub fn expand(&mut self, key: &str, s: &str) -> Option<String> {
        match vars::expand(s, self.host) {
            Ok(v) => Some(v),
            Err(e) => {
                self.error(key, format!("`{key}`: {}", e.message), e.help);
                None
            }
        }
    }

    /// Expand variables and require an absolute path; returns it normalized (`.`/`..`
    /// resolved lexically, never above `/`).
    pub fn abs_path(&mut self, key: &str, s: &str) -> Option<PathBuf> {
        let expanded = self.expand(key, s)?;
        if !expanded.starts_with('/') {
            self.error(
                key,
                format!("`{key}` must be an absolute path, found `{expanded}`"),
                Some(format!(
                    "write `/{}` or start it with a variable such as ${{PWD}}",
                    expanded.trim_start_matches("./")
                )),
            );
            return None;
        }
        Some(normalize(Path::new(&expanded)))
    }

    /// An unsigned integer, written as a number or a string with variables.
    pub fn uint(&mut self, key: &str, v: &IntOrString, max: u64) -> Option<u64> {
        let n = match v {
            IntOrString::Int(i) => u64::try_from(*i).ok(),
            IntOrString::Str(s) => {
                let e = self.expand(key, s)?;
                let t = e.trim();
                match t.strip_prefix("0x") {
                    Some(hex) => u64::from_str_radix(hex, 16).ok(),
                    None => t.parse().ok(),
                }
            }
        };
        match n {
            Some(n) if n <= max => Some(n),
            _ => {
                let help = match v {
                    IntOrString::Str(_) => {
                        "write a number without quotes, or a variable that holds one such as ${UID}"
                    }
                    IntOrString::Int(_) => "negative numbers and larger values are not allowed",
                };
                self.error(
                    key,
                    format!("`{key}` must be an integer from 0 to {max}, found {v}"),
                    Some(help.into()),
                );
                None
            }
        }
    }

    /// A byte size (`"512MiB"`, or an integer of bytes).
    pub fn size(&mut self, key: &str, v: &IntOrString) -> Option<u64> {
        match v {
            IntOrString::Int(i) => match u64::try_from(*i) {
                Ok(n) => Some(n),
                Err(_) => {
                    self.error(
                        key,
                        format!("`{key}` must not be negative"),
                        Some("write a size such as \"512MiB\", or a number of bytes".into()),
                    );
                    None
                }
            },
            IntOrString::Str(s) => {
                let e = self.expand(key, s)?;
                units::parse_size(&e)
                    .map_err(|e| self.unit_error(key, e))
                    .ok()
            }
        }
    }

    /// A duration in milliseconds (`"90s"`).
    pub fn duration_ms(&mut self, key: &str, s: &str) -> Option<u64> {
        let d = units::parse_duration(s)
            .map_err(|e| self.unit_error(key, e))
            .ok()?;
        Some(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    /// An octal mode (`"0755"`, or a TOML integer such as `0o755`).
    pub fn mode(&mut self, key: &str, v: &IntOrString, max: u32) -> Option<u32> {
        match v {
            IntOrString::Int(i) => match u32::try_from(*i) {
                Ok(n) if n <= max => Some(n),
                _ => {
                    self.error(
                        key,
                        format!("`{key}` must be a mode up to {max:o} (octal)"),
                        Some("write it as a string, e.g. \"0755\", or as 0o755".into()),
                    );
                    None
                }
            },
            IntOrString::Str(s) => units::parse_octal(s, max)
                .map_err(|e| self.unit_error(key, e))
                .ok(),
        }
    }
}

/// Lexical normalization of an absolute path.
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_lexically() {
        assert_eq!(
            normalize(Path::new("/a/./b/../c//d/")),
            PathBuf::from("/a/c/d")
        );
        assert_eq!(normalize(Path::new("/../../x")), PathBuf::from("/x"));
    }
}
