//! Command-line interface definitions (clap). The same definitions generate shell
//! completions and the man page.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Declarative sandbox launcher: namespaces, mounts, cgroup limits, seccomp, Landlock and
/// capabilities from a TOML profile.
#[derive(Debug, Parser)]
#[command(name = "stockade", version, about, long_about = None, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
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

Exit status: the payload's (128+N when killed by signal N); 125 when stockade or the
profile failed; 126 when the command is not executable; 127 when it is not found.")]
    Run {
        /// Profile file or `builtin:NAME` (default: builtin:strict).
        profile: Option<String>,
        /// Write the run report (JSON) to this file.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        /// Write the run report (JSON) to this inherited file descriptor.
        #[arg(long, value_name = "FD")]
        report_fd: Option<i32>,
        /// The command and its arguments (replaces `process.command`).
        #[arg(last = true, value_name = "CMD")]
        command: Vec<String>,
    },
    /// Validate profiles: exit 0 when clean, 1 on errors.
    #[command(after_help = "Examples:
  stockade check profiles/*.toml
  stockade check --format json profiles/web.toml   machine-readable, for CI annotations")]
    Check {
        /// Profile files or `builtin:NAME`.
        #[arg(required = true)]
        profiles: Vec<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Show the resolved plan and its ordered steps.
    #[command(after_help = "Examples:
  stockade plan builtin:strict
  stockade plan --format json web.toml -- /usr/sbin/nginx -g 'daemon off;'")]
    Plan {
        profile: String,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// The command (replaces `process.command`).
        #[arg(last = true, value_name = "CMD")]
        command: Vec<String>,
    },
    /// Show every effective value and the file:line that set it.
    #[command(after_help = "Example:
  stockade explain profiles/web.toml")]
    Explain { profile: String },
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
    /// Print the man page (roff).
    #[command(after_help = "Example:
  stockade man > /usr/local/share/man/man1/stockade.1")]
    Man,
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
