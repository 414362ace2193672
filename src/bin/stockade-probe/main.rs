//! stockade-probe: runs inside a sandbox and prints what it sees as JSON, one object per
//! line on stdout. Tests compare these facts with the plan and the host.
//!
//! `stockade-probe` (or `facts`) prints every fact; the other subcommands try one thing and
//! report the errno. Each module contributes a table of subcommands; adding a module is
//! `mod x;` plus one line in [`TABLES`] (a `[Command]` table) or in [`DISPATCHERS`] (a
//! `dispatch(name, args) -> Option<i32>` function).

mod confine;
mod facts;
mod tries;

use serde_json::Value;
use std::io::Write;

/// A subcommand: name, usage, handler (returns the process exit code).
pub type Command = (&'static str, &'static str, fn(&[String]) -> i32);

/// A module's own dispatcher: `Some(exit code)` when `name` is one of its subcommands.
pub type Dispatcher = fn(&str, &[String]) -> Option<i32>;

/// Every module's subcommands.
const TABLES: &[&[Command]] = &[facts::COMMANDS, tries::COMMANDS, confine::COMMANDS];

/// Modules with their own dispatcher (`name, args -> Some(exit code)` when the name is
/// theirs), consulted before [`TABLES`]. Add a module with `mod x;` and `x::dispatch,` here.
const DISPATCHERS: &[Dispatcher] = &[];

/// Print one JSON object on its own line and flush (tests read line by line).
pub fn emit(v: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
}

/// The symbolic name of an errno (`EPERM`).
pub fn errno_name(e: i32) -> String {
    format!("{:?}", nix::errno::Errno::from_raw(e))
}

/// `{"ok": true}` or `{"ok": false, "errno": "EPERM"}` merged into `base`.
pub fn result_json(mut base: serde_json::Map<String, Value>, r: std::io::Result<()>) -> Value {
    match r {
        Ok(()) => {
            base.insert("ok".into(), Value::Bool(true));
        }
        Err(e) => {
            base.insert("ok".into(), Value::Bool(false));
            base.insert(
                "errno".into(),
                Value::String(e.raw_os_error().map_or_else(|| e.to_string(), errno_name)),
            );
        }
    }
    Value::Object(base)
}

fn usage() -> i32 {
    eprintln!("usage: stockade-probe [SUBCOMMAND ARGS...]");
    for table in TABLES {
        for (name, help, _) in *table {
            eprintln!("  {name:<16} {help}");
        }
    }
    2
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (name, rest) = match args.split_first() {
        Some((n, r)) => (n.as_str(), r),
        None => ("facts", &[][..]),
    };
    if let Some(code) = DISPATCHERS.iter().find_map(|d| d(name, rest)) {
        std::process::exit(code);
    }
    let code = TABLES
        .iter()
        .flat_map(|t| t.iter())
        .find(|(n, _, _)| *n == name)
        .map_or_else(usage, |(_, _, f)| f(rest));
    std::process::exit(code);
}
