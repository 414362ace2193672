//! Reading `config.json` for import: an object walker that remembers which keys were read,
//! so that every key nobody read is an error naming its JSON path.

use super::OciError;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// An object being read; `finish` rejects every key that was not taken.
pub(super) struct Obj<'a> {
    path: String,
    map: &'a Map<String, Value>,
    taken: BTreeSet<String>,
}

pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

impl<'a> Obj<'a> {
    pub fn new(path: &str, v: &'a Value) -> Result<Obj<'a>, OciError> {
        let map = v.as_object().ok_or_else(|| OciError::Invalid {
            path: if path.is_empty() {
                "(top level)".into()
            } else {
                path.into()
            },
            reason: "expected an object".into(),
        })?;
        Ok(Obj {
            path: path.to_string(),
            map,
            taken: BTreeSet::new(),
        })
    }

    /// The value at `key` (absent and `null` are the same) and its path.
    pub fn take(&mut self, key: &str) -> Option<(&'a Value, String)> {
        self.taken.insert(key.to_string());
        self.map
            .get(key)
            .filter(|v| !v.is_null())
            .map(|v| (v, join(&self.path, key)))
    }

    pub fn req(&mut self, key: &str) -> Result<(&'a Value, String), OciError> {
        let path = join(&self.path, key);
        self.take(key).ok_or(OciError::Invalid {
            path,
            reason: "missing".into(),
        })
    }

    pub fn req_str(&mut self, key: &str) -> Result<String, OciError> {
        let (v, p) = self.req(key)?;
        v.as_str().map(String::from).ok_or(OciError::Invalid {
            path: p,
            reason: "expected a string".into(),
        })
    }

    pub fn req_text(&mut self, key: &str) -> Result<String, OciError> {
        let (v, p) = self.req(key)?;
        text(v, &p)
    }

    pub fn opt_text(&mut self, key: &str) -> Result<Option<String>, OciError> {
        self.take(key).map(|(v, p)| text(v, &p)).transpose()
    }

    pub fn opt_bool(&mut self, key: &str) -> Result<Option<bool>, OciError> {
        self.take(key)
            .map(|(v, p)| {
                v.as_bool().ok_or(OciError::Invalid {
                    path: p,
                    reason: "expected true or false".into(),
                })
            })
            .transpose()
    }

    pub fn req_u64(&mut self, key: &str) -> Result<u64, OciError> {
        let (v, p) = self.req(key)?;
        u64_of(v, &p)
    }

    pub fn opt_u64(&mut self, key: &str) -> Result<Option<u64>, OciError> {
        self.take(key).map(|(v, p)| u64_of(v, &p)).transpose()
    }

    pub fn opt_i64(&mut self, key: &str) -> Result<Option<i64>, OciError> {
        self.take(key)
            .map(|(v, p)| {
                v.as_i64().ok_or(OciError::Invalid {
                    path: p,
                    reason: "expected an integer".into(),
                })
            })
            .transpose()
    }

    /// Reject every key not taken, unless its value is empty.
    pub fn finish(self) -> Result<(), OciError> {
        self.finish_except(&[])
    }

    pub fn finish_except(self, also_taken: &[&str]) -> Result<(), OciError> {
        for (k, v) in self.map {
            if self.taken.contains(k) || also_taken.contains(&k.as_str()) || is_empty(v) {
                continue;
            }
            let path = join(&self.path, k);
            return Err(OciError::Unsupported {
                path: first_leaf(v, &path),
                reason: unsupported_reason(k).into(),
            });
        }
        Ok(())
    }
}

/// `null`, `[]`, `{}` and `""` ask for nothing.
pub(super) fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(is_empty),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// The path of the first non-empty element inside `v` (`hooks.prestart`, `linux.devices[0]`),
/// so that the error points at what actually asks for something.
pub(super) fn first_leaf(v: &Value, path: &str) -> String {
    match v {
        Value::Array(a) => match a.iter().position(|x| !is_empty(x)) {
            Some(i) => format!("{path}[{i}]"),
            None => path.to_string(),
        },
        Value::Object(o) => match o.iter().find(|(_, x)| !is_empty(x)) {
            Some((k, x)) if matches!(x, Value::Array(_)) => first_leaf(x, &join(path, k)),
            Some((k, _)) => join(path, k),
            None => path.to_string(),
        },
        _ => path.to_string(),
    }
}

fn unsupported_reason(key: &str) -> &'static str {
    match key {
        "hooks" => "stockade runs no OCI hooks",
        "devices" => {
            "stockade creates no device nodes besides its `dev` mount and manages no \
                      device cgroup"
        }
        "sysctl" => "stockade sets no sysctls",
        "apparmorProfile" | "selinuxLabel" | "mountLabel" => {
            "stockade applies no AppArmor or SELinux labels"
        }
        "oomScoreAdj" | "ioPriority" | "scheduler" | "execCPUAffinity" => {
            "stockade does not set scheduling or OOM attributes"
        }
        "personality" => "stockade does not change the personality",
        "intelRdt" | "memoryPolicy" | "netDevices" => "stockade has no equivalent",
        "solaris" | "windows" | "vm" | "zos" => "stockade sandboxes Linux processes only",
        "consoleSize" | "commandLine" => "stockade has no terminal or command-line string",
        "username" => "stockade takes numeric ids only",
        _ => "stockade has no equivalent for this field",
    }
}

pub(super) fn array<'a>(v: &'a Value, path: &str) -> Result<&'a Vec<Value>, OciError> {
    v.as_array().ok_or_else(|| OciError::Invalid {
        path: path.into(),
        reason: "expected an array".into(),
    })
}

pub(super) fn u64_of(v: &Value, path: &str) -> Result<u64, OciError> {
    v.as_u64().ok_or_else(|| OciError::Invalid {
        path: path.into(),
        reason: "expected a non-negative integer".into(),
    })
}

/// A string as the profile must write it: stockade expands `${...}` in commands, values and
/// paths, so every `$` is doubled (`$$` is a literal `$`). Strings stockade does not expand
/// (syscall and capability names, mount options) never contain a valid `$`.
pub(super) fn text(v: &Value, path: &str) -> Result<String, OciError> {
    let s = v.as_str().ok_or_else(|| OciError::Invalid {
        path: path.into(),
        reason: "expected a string".into(),
    })?;
    Ok(escape(s))
}

pub(super) fn escape(s: &str) -> String {
    s.replace('$', "$$")
}
