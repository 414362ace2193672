//! Command-line interface definitions (clap). The same definitions generate shell
//! completions and the man page.

use clap::{Args, FromArgMatches, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Declarative sandbox launcher: namespaces, mounts, cgroup limits, seccomp, Landlock and
/// capabilities from a TOML profile.
#[derive(Debug, Parser)]
#[command(name = "stockade", version, about, long_about = None, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parse the process's arguments, as [`Parser::parse`] does, at less cost.
    ///
    /// Building the whole command tree (every subcommand with its help text) is most of
    /// clap's work on a launch. A command line naming a launch-path subcommand first is
    /// parsed against a tree holding only that subcommand's arguments; only when that
    /// succeeds is its result used. Anything else (help, version, every error, other
    /// subcommands) is parsed by the whole tree, so what the user sees comes from it alone.
    pub fn parse_fast() -> Cli {
        let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
        let single = args
            .get(1)
            .and_then(|a| a.to_str())
            .and_then(single_subcommand);
        if let Some(cmd) = single {
            if let Ok(cli) = cmd
                .try_get_matches_from(&args)
                .and_then(|m| Cli::from_arg_matches(&m))
            {
                return cli;
            }
        }
        Cli::parse_from(args)
    }
}

/// A command tree with only subcommand `name`'s arguments, for [`Cli::parse_fast`]. It
/// parses like the whole tree (the same derived arguments; the tree's other settings only
/// shape help and errors), and is never shown.
fn single_subcommand(name: &str) -> Option<clap::Command> {
    let sub = match name {
        "run" => RunArgs::augment_args(clap::Command::new("run")),
        "check" => CheckArgs::augment_args(clap::Command::new("check")),
        "plan" => PlanArgs::augment_args(clap::Command::new("plan")),
        "explain" => ExplainArgs::augment_args(clap::Command::new("explain")),
        _ => return None,
    };
    Some(
        clap::Command::new("stockade")
            .subcommand_required(true)
            .subcommand(sub),
    )
}

const EXAMPLES: &str = "Examples:
  stockade run -- make -j2                      sandbox a command with builtin:strict
  stockade run profiles/cargo-build.toml -- cargo build --offline
  stockade check profiles/*.toml                validate profiles (CI)
  stockade explain profiles/web.toml            which file set each value
  stockade plan builtin:strict                  the resolved plan and its steps";

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

// `defer`: a start builds the arguments of the one subcommand it runs, not of all of them
// (help, completions and the man page build the whole tree, so they are unchanged).
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Run a command in a sandbox described by a profile.
    #[command(after_help = "Examples:
  stockade run -- sh -c 'id; hostname'          builtin:strict around a command
  stockade run build.toml                       the profile's own process.command
  stockade run build.toml -- cargo test         replace the profile's command
  stockade run --report run.json web.toml       write the run report as JSON

Exit status: the payload's; when it was killed by signal N, stockade dies of signal N too
(a shell sees 128+N); 124 when the wall-time limit stopped it; 125 when stockade or the
profile failed; 126 when the command is not executable; 127 when it is not found.")]
    Run(RunArgs),
    /// Validate profiles: exit 0 when clean, 1 on errors.
    #[command(after_help = "Examples:
  stockade check profiles/*.toml
  stockade check --format json profiles/web.toml   machine-readable, for CI annotations")]
    Check(CheckArgs),
    /// Show the resolved plan and its ordered steps.
    #[command(after_help = "Examples:
  stockade plan builtin:strict
  stockade plan --format json web.toml -- /usr/sbin/nginx -g 'daemon off;'")]
    Plan(PlanArgs),
    /// Show every effective value and the file:line that set it.
    #[command(after_help = "Example:
  stockade explain profiles/web.toml")]
    Explain(ExplainArgs),
    /// Score how much a profile exposes: findings with stable ids, table, JSON or SARIF.
    #[command(after_help = "Examples:
  stockade audit profiles/*.toml                     findings and scores
  stockade audit --format sarif p.toml > audit.sarif code-scanning annotations
  stockade audit --fail-on high --baseline old.json p.toml   gate CI on regressions

Exit status: 0 clean, 1 a finding at or above --fail-on or a score above --threshold,
2 a profile that does not load or compile.")]
    Audit(crate::audit::cmd::AuditArgs),
    /// Observe a command in the sandbox and write a profile patch that allows what it used.
    #[command(after_help = "Examples:
  stockade learn build.toml --log make.jsonl -o build.learnt.toml -- make
  stockade learn build.toml --from-log a.jsonl --from-log b.jsonl   merge two runs

Exit status: the command's; 125 when learning failed (profile, log, tracer).")]
    Learn(crate::learn::cmd::LearnArgs),
    /// Print the JSON Schema of the profile format.
    #[command(after_help = "Example:
  stockade schema > schema/profile.schema.json")]
    Schema,
    /// List the built-in profiles.
    #[command(after_help = "Example:
  stockade profiles && stockade plan builtin:strict")]
    Profiles,
    /// seccomp helpers.
    #[command(
        subcommand,
        after_help = "Example:
  stockade seccomp groups                       the @groups usable in seccomp.allow/deny"
    )]
    Seccomp(SeccompCommand),
    /// OCI bundles: export a profile, import a config.json.
    #[command(
        subcommand,
        after_help = "Examples:
  stockade oci export web.toml --bundle /tmp/web && runc run -b /tmp/web web1
  stockade oci import bundle/config.json --output web.toml"
    )]
    Oci(OciCommand),
    /// Print shell completions.
    #[command(after_help = "Example:
  stockade completions bash > /etc/bash_completion.d/stockade")]
    Completions { shell: clap_complete::Shell },
    /// What this host offers and which keys of the given profiles it cannot enforce.
    #[command(after_help = "Examples:
  stockade doctor                               namespaces, cgroups, Landlock, seccomp, ...
  stockade doctor profiles/web.toml builtin:strict   exit 1 when a profile cannot run here
  stockade doctor --format json")]
    Doctor(DoctorArgs),
    /// Print the man page (roff).
    #[command(after_help = "Example:
  stockade man > /usr/local/share/man/man1/stockade.1")]
    Man,
}

// The arguments of the launch-path subcommands are types of their own so that
// `Cli::parse_fast` can build one of them alone. `group(id)` keeps the argument group each
// had as an inline variant (no doc comments here: they would become the `about`).

#[derive(Debug, Args)]
#[group(id = "Run")]
pub struct RunArgs {
    /// Profile file or `builtin:NAME` (default: builtin:strict).
    pub profile: Option<String>,
    /// Write the run report (JSON) to this file (FILE.PHASE for each phase of a profile
    /// with phases).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Write the run report (JSON) to this inherited file descriptor.
    #[arg(long, value_name = "FD")]
    pub report_fd: Option<i32>,
    /// `network.mode = "proxy"`: append every connection decision as a JSON line here.
    #[arg(long, value_name = "FILE")]
    pub net_log: Option<PathBuf>,
    /// Run only this phase of a profile with `[[phase]]` tables.
    #[arg(long, value_name = "NAME")]
    pub phase: Option<String>,
    /// For `stockade learn`, which traces this run: load the learning seccomp filter
    /// (what the profile would not allow stops for the tracer, which lets it run) instead
    /// of the profile's, and let the proxy pass names its list lacks. Not a confinement:
    /// without a tracer every trapped call fails with ENOSYS.
    #[arg(long, hide = true)]
    pub learn_filter: bool,
    /// The command and its arguments (replaces `process.command`).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
#[group(id = "Check")]
pub struct CheckArgs {
    /// Profile files or `builtin:NAME`.
    #[arg(required = true)]
    pub profiles: Vec<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

#[derive(Debug, Args)]
#[group(id = "Plan")]
pub struct PlanArgs {
    pub profile: String,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// The command (replaces `process.command`).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
#[group(id = "Explain")]
pub struct ExplainArgs {
    pub profile: String,
}

#[derive(Debug, Args)]
#[group(id = "Doctor")]
pub struct DoctorArgs {
    /// Profile files or `builtin:NAME` to check against this host.
    pub profiles: Vec<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum SeccompCommand {
    /// List the named syscall groups (`@mount`, `@privileged`, ...).
    #[command(after_help = "Example:
  stockade seccomp groups")]
    Groups,
}

#[derive(Debug, Subcommand)]
pub enum OciCommand {
    /// Write an OCI bundle (config.json + rootfs) for a profile.
    #[command(after_help = "Examples:
  stockade oci export web.toml --bundle /tmp/web && runc run -b /tmp/web web1
  stockade oci export --strict build.toml --bundle out -- make   fail on anything OCI cannot say")]
    Export {
        profile: String,
        #[arg(long, value_name = "DIR")]
        bundle: PathBuf,
        /// Treat what OCI cannot express as errors instead of notes.
        #[arg(long)]
        strict: bool,
        #[arg(last = true, value_name = "CMD")]
        command: Vec<String>,
    },
    /// Turn an OCI config.json into a profile.
    #[command(after_help = "Example:
  stockade oci import bundle/config.json --output web.toml")]
    Import {
        config: PathBuf,
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// What the whole tree makes of `args`.
    fn whole(args: &[&str]) -> String {
        match Cli::try_parse_from(args) {
            Ok(cli) => format!("{cli:?}"),
            Err(e) => format!("error {:?}", e.kind()),
        }
    }

    /// What the single-subcommand tree makes of `args`, when it accepts them.
    fn single(args: &[&str]) -> Option<String> {
        let cmd = single_subcommand(args[1])?;
        let m = cmd.try_get_matches_from(args).ok()?;
        Cli::from_arg_matches(&m).ok().map(|cli| format!("{cli:?}"))
    }

    #[test]
    fn the_single_subcommand_tree_parses_like_the_whole_tree() {
        let lines: &[&[&str]] = &[
            &["stockade", "run"],
            &["stockade", "run", "p.toml"],
            &[
                "stockade", "run", "--report", "r.json", "p.toml", "--", "sh", "-c", "x",
            ],
            &["stockade", "run", "--report-fd=3", "--", "--report", "x"],
            &["stockade", "run", "help"],
            &["stockade", "run", "a", "b"],
            &["stockade", "run", "--help"],
            &["stockade", "run", "--version"],
            &["stockade", "run", "--report-fd", "x"],
            &["stockade", "check", "a.toml", "b.toml"],
            &["stockade", "check", "--format", "json", "a.toml"],
            &["stockade", "check", "--format", "yaml", "a.toml"],
            &["stockade", "check"],
            &["stockade", "plan", "p.toml", "--format=json", "--", "ls"],
            &["stockade", "plan"],
            &["stockade", "explain", "p.toml"],
            &["stockade", "explain", "p.toml", "q.toml"],
            &["stockade", "explain", "-h"],
        ];
        for args in lines {
            let whole = whole(args);
            match single(args) {
                // Accepted: the same result as the whole tree.
                Some(single) => assert_eq!(single, whole, "{args:?}"),
                // Refused: the whole tree must refuse too (or help), and it is what runs.
                None => assert!(whole.starts_with("error"), "{args:?}: {whole}"),
            }
        }
        assert!(single_subcommand("schema").is_none());
    }

    #[test]
    fn the_whole_tree_is_valid() {
        Cli::command().debug_assert();
        for name in ["run", "check", "plan", "explain"] {
            match single_subcommand(name) {
                Some(c) => c.debug_assert(),
                None => panic!("no single-subcommand tree for `{name}`"),
            }
        }
    }
}
