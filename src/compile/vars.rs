//! `${...}` variables: `${PWD}`, `${HOME}`, `${UID}`, `${GID}`, `${USER}`, `${env:NAME}`,
//! `${env:NAME:-default}`; `$$` is a literal `$`. `${PROFILE_DIR}` is resolved earlier, per
//! file, by the loader.

use crate::diag::did_you_mean;
use crate::host::HostFacts;
use crate::units::UnitError;

const NAMES: &[&str] = &[
    "PWD",
    "HOME",
    "UID",
    "GID",
    "USER",
    "PROFILE_DIR",
    "env:NAME",
];

/// Expand every variable in `s`.
pub fn expand(s: &str, host: &HostFacts) -> Result<String, UnitError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('$') {
            out.push('$');
            rest = r;
            continue;
        }
        let Some(body) = after.strip_prefix('{') else {
            out.push('$');
            rest = after;
            continue;
        };
        let Some(end) = body.find('}') else {
            return Err(UnitError {
                message: format!("unterminated variable in `{s}`"),
                help: Some("close it with `}`, or write `$$` for a literal `$`".into()),
            });
        };
        out.push_str(&lookup(&body[..end], host)?);
        rest = &body[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn lookup(name: &str, host: &HostFacts) -> Result<String, UnitError> {
    match name {
        "PWD" => return Ok(host.cwd.display().to_string()),
        "HOME" => return Ok(host.home.display().to_string()),
        "UID" => return Ok(host.uid.to_string()),
        "GID" => return Ok(host.gid.to_string()),
        "USER" => return Ok(host.user.get().to_owned()),
        "PROFILE_DIR" => {
            return Err(UnitError {
                message: "`${PROFILE_DIR}` has no meaning in a built-in profile".into(),
                help: Some("use it only in profile files".into()),
            })
        }
        _ => {}
    }
    if let Some(env) = name.strip_prefix("env:") {
        let (var, default) = match env.split_once(":-") {
            Some((v, d)) => (v, Some(d)),
            None => (env, None),
        };
        return match (host.env.get(var), default) {
            (Some(v), _) => Ok(v.clone()),
            (None, Some(d)) => Ok(d.to_owned()),
            (None, None) => Err(UnitError {
                message: format!("environment variable `{var}` is not set (used as `${{{name}}}`)"),
                help: Some(format!(
                    "set it, or give a default: `${{env:{var}:-default}}`"
                )),
            }),
        };
    }
    let hint = did_you_mean(name, NAMES.iter().copied())
        .map(|m| format!("did you mean `${{{m}}}`?"))
        .unwrap_or_else(|| "variables: ${PWD} ${HOME} ${UID} ${GID} ${USER} ${PROFILE_DIR} ${env:NAME} ${env:NAME:-default}; `$$` is a literal `$`".into());
    Err(UnitError {
        message: format!("undefined variable `${{{name}}}`"),
        help: Some(hint),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_known_variables() {
        let h = HostFacts::fixed();
        assert_eq!(
            expand("${HOME}/x:${UID}", &h).ok(),
            Some("/home/dev/x:1000".into())
        );
        assert_eq!(
            expand("${env:TERM}", &h).ok(),
            Some("xterm-256color".into())
        );
        assert_eq!(expand("${env:NOPE:-d}", &h).ok(), Some("d".into()));
        assert_eq!(expand("a$$b$c", &h).ok(), Some("a$b$c".into()));
        assert_eq!(expand("~${USER}", &h).ok(), Some("~dev".into()));
    }

    #[test]
    fn rejects_undefined() {
        let h = HostFacts::fixed();
        let e = expand("${HOEM}", &h).unwrap_err();
        assert_eq!(e.help.as_deref(), Some("did you mean `${HOME}`?"));
        assert!(expand("${env:NOPE}", &h).is_err());
        assert!(expand("${PWD", &h).is_err());
    }
}
