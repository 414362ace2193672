//! The commands behind the CLI. Each returns the process exit status.

use crate::cli::{
    CheckArgs, Cli, Command, DoctorArgs, ExplainArgs, Format, OciCommand, PlanArgs, RunArgs,
    SeccompCommand,
};
use crate::compile::{compile_phases_with, CompileOptions, Compiled, CompiledPhase};
use crate::diag::{self, Diagnostics, Sources};
use crate::host::HostFacts;
use crate::log;
use crate::profile::load::{load, Loaded};
use clap::CommandFactory;
use std::io::IsTerminal;

/// Exit status for launcher and profile failures (the `env`/`chroot` convention).
pub const EXIT_LAUNCHER: i32 = 125;

/// Dispatch a parsed command line.
pub fn main(cli: Cli) -> i32 {
    match cli.command {
        Command::Run(RunArgs {
            profile,
            report,
            report_fd,
            net_log,
            phase,
            learn_filter,
            command,
        }) => run(
            profile,
            report,
            report_fd,
            net_log,
            phase,
            learn_filter,
            command,
        ),
        Command::Check(CheckArgs { profiles, format }) => check(&profiles, format),
        Command::Plan(PlanArgs {
            profile,
            format,
            command,
        }) => plan(&profile, format, command),
        Command::Explain(ExplainArgs { profile }) => explain(&profile),
        Command::Audit(args) => crate::audit::cmd::main(args),
        Command::Learn(args) => crate::learn::cmd::main(args),
        Command::Schema => {
            println!("{}", crate::schema::render());
            0
        }
        Command::Profiles => {
            for name in crate::profile::builtin::names() {
                let desc = crate::profile::builtin::get(name)
                    .and_then(|t| toml::from_str::<crate::profile::Profile>(t).ok())
                    .and_then(|p| p.description)
                    .unwrap_or_default();
                println!("builtin:{name:<10} {desc}");
            }
            0
        }
        Command::Seccomp(SeccompCommand::Groups) => {
            print!("{}", crate::seccomp::groups::render_groups());
            0
        }
        Command::Oci(cmd) => oci(cmd),
        Command::Doctor(DoctorArgs { profiles, format }) => crate::doctor::main(&profiles, format),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "stockade",
                &mut std::io::stdout(),
            );
            0
        }
        Command::Man => {
            match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
                Ok(()) => 0,
                Err(e) => {
                    log::error(&format!("cannot write the man page: {e}"));
                    1
                }
            }
        }
    }
}

fn color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn print_diags(diags: &Diagnostics, sources: &Sources) {
    if diags.0.is_empty() {
        return;
    }
    let text = diag::render(&diags.0, sources, color() && !log::to_journal());
    if log::to_journal() {
        for line in text.lines() {
            let prio = if diags.has_errors() { 3 } else { 4 };
            eprintln!("<{prio}>{line}");
        }
    } else {
        eprint!("{text}");
    }
}

/// Load and compile, printing diagnostics. `None` when it failed.
fn build(name: &str, opts: &CompileOptions, host: &HostFacts) -> Option<(Loaded, Compiled)> {
    let (loaded, mut phases) = build_phases(name, opts, host, None)?;
    if phases.len() != 1 {
        log::error(&format!(
            "{name} has {} phases; this command takes a profile without `[[phase]]` (use `stockade run --phase NAME` or `stockade plan`)",
            phases.len()
        ));
        return None;
    }
    Some((loaded, phases.remove(0).compiled))
}

/// Load and compile every phase (a profile without phases is one unnamed phase).
fn build_phases(
    name: &str,
    opts: &CompileOptions,
    host: &HostFacts,
    only: Option<&str>,
) -> Option<(Loaded, Vec<CompiledPhase>)> {
    let loaded = match load(name) {
        Ok(l) => l,
        Err(e) => {
            print_diags(&e.diagnostics, &e.sources);
            return None;
        }
    };
    match compile_phases_with(
        &loaded,
        host,
        opts,
        only,
        crate::host_links::compile_on_host,
    ) {
        Ok(phases) => {
            for p in &phases {
                print_diags(&p.compiled.warnings, &loaded.sources);
            }
            Some((loaded, phases))
        }
        Err(d) => {
            print_diags(&d, &loaded.sources);
            None
        }
    }
}

fn run(
    profile: Option<String>,
    report: Option<std::path::PathBuf>,
    report_fd: Option<i32>,
    net_log: Option<std::path::PathBuf>,
    phase: Option<String>,
    learn_filter: bool,
    command: Vec<String>,
) -> i32 {
    let name = profile.unwrap_or_else(|| "builtin:strict".to_owned());
    if command.is_empty() && name.starts_with("builtin:") {
        // A built-in profile has no command of its own: pointing into its source would not
        // tell the user what to type.
        log::error(&format!(
            "no command to run ({name} has none of its own)\n\
             usage: stockade run [PROFILE] [--] CMD [ARGS...]\n\
             e.g.:  stockade run -- make -j2        (builtin:strict: the current directory \
             writable, no network)\n       \
             stockade run profiles/cargo-build.toml   (a profile with its own command)"
        ));
        return EXIT_LAUNCHER;
    }
    let host = HostFacts::probe();
    let opts = CompileOptions {
        command: (!command.is_empty()).then_some(command),
        command_optional: false,
    };
    let Some((loaded, phases)) = build_phases(&name, &opts, &host, phase.as_deref()) else {
        return EXIT_LAUNCHER;
    };
    if !opts.command.as_ref().is_none_or(|c| c.is_empty()) && !phases[0].name.is_empty() {
        log::error("`-- CMD` cannot replace the commands of a profile with phases");
        return EXIT_LAUNCHER;
    }
    // The profile's trees are not needed past compilation and the process ends with the
    // payload: freeing them node by node would only delay the launch (~5% of its
    // instructions before the executor); exit returns the memory.
    std::mem::forget(loaded);
    // Phases run in order, each in a fresh sandbox; the first failure stops the run.
    for ph in &phases {
        let run_opts = crate::exec::RunOptions {
            // A phase's report goes to FILE.PHASE.
            report_path: report.as_ref().map(|r| {
                if !ph.name.is_empty() {
                    std::path::PathBuf::from(format!("{}.{}", r.display(), ph.name))
                } else {
                    r.clone()
                }
            }),
            report_fd,
            net_log: net_log.clone(),
            learn_filter,
        };
        if !ph.name.is_empty() {
            log::note(&format!("phase {}", ph.name));
        }
        let learning;
        let plan = if learn_filter {
            // The learning filter replaces the profile's; it needs the seccomp step even
            // where the profile has no filter, and no_new_privs to load without privilege.
            if !ph.compiled.plan.capabilities.no_new_privs {
                log::error(
                    "--learn-filter needs a profile with `capabilities.no-new-privs = true`",
                );
                return EXIT_LAUNCHER;
            }
            learning = crate::compile::with_learning_filter(&ph.compiled.plan);
            &learning
        } else {
            &ph.compiled.plan
        };
        let code = match crate::exec::run(plan, &host, &run_opts) {
            // End as the payload ended, so the parent sees a death by signal (after the
            // cleanup and the report: nothing is left to do); later phases do not run.
            Ok(outcome) => match outcome.die_of {
                Some(sig) => {
                    if !ph.name.is_empty() {
                        log::error(&format!("phase {} was killed by signal {sig}", ph.name));
                    }
                    crate::exec::signals::die_of(sig)
                }
                None => outcome.exit_code,
            },
            Err(e) => {
                log::error(&e.to_string());
                e.exit_code()
            }
        };
        if code != 0 {
            if !ph.name.is_empty() {
                log::error(&format!("phase {} failed (exit status {code})", ph.name));
            }
            return code;
        }
    }
    0
}

fn check(profiles: &[String], format: Format) -> i32 {
    let host = HostFacts::probe();
    let opts = CompileOptions {
        command: None,
        command_optional: true,
    };
    let mut failed = false;
    let mut json = Vec::new();
    for name in profiles {
        let (diags, sources) = match load(name) {
            Err(e) => (e.diagnostics, e.sources),
            Ok(loaded) => match compile_phases_with(
                &loaded,
                &host,
                &opts,
                None,
                crate::host_links::compile_on_host,
            ) {
                Ok(phases) => (
                    Diagnostics(
                        phases
                            .into_iter()
                            .flat_map(|p| p.compiled.warnings.0)
                            .collect(),
                    ),
                    loaded.sources,
                ),
                Err(d) => (d, loaded.sources),
            },
        };
        failed |= diags.has_errors();
        match format {
            Format::Text => {
                print_diags(&diags, &sources);
                let status = if diags.has_errors() { format!("{} error(s)", diags.error_count()) } else { "ok".to_owned() };
                println!("{name}: {status}");
            }
            Format::Json => json.push(serde_json::json!({
                "profile": name,
                "ok": !diags.has_errors(),
                "diagnostics": diags.0.iter().map(|d| diag::to_json(d, &sources)).collect::<Vec<_>>(),
            })),
        }
    }
    if format == Format::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "profiles": json }))
                .unwrap_or_default()
        );
    }
    i32::from(failed)
}

fn plan(profile: &str, format: Format, command: Vec<String>) -> i32 {
    let host = HostFacts::probe();
    let opts = CompileOptions {
        command: (!command.is_empty()).then_some(command),
        command_optional: true,
    };
    let Some((_, phases)) = build_phases(profile, &opts, &host, None) else {
        return 1;
    };
    match format {
        Format::Text => {
            for ph in &phases {
                if !ph.name.is_empty() {
                    println!("=== phase {} ===", ph.name);
                }
                print!("{}", crate::plan::explain::render_text(&ph.compiled.plan));
            }
        }
        // One plan as before; a phased profile is a list of {phase, plan}.
        Format::Json if phases.len() == 1 && phases[0].name.is_empty() => println!(
            "{}",
            serde_json::to_string_pretty(&phases[0].compiled.plan).unwrap_or_default()
        ),
        Format::Json => {
            let list: Vec<serde_json::Value> = phases
                .iter()
                .map(|p| serde_json::json!({ "phase": p.name, "plan": p.compiled.plan }))
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&list).unwrap_or_default()
            );
        }
    }
    0
}

fn explain(profile: &str) -> i32 {
    let host = HostFacts::probe();
    let opts = CompileOptions {
        command: None,
        command_optional: true,
    };
    let Some((loaded, compiled)) = build(profile, &opts, &host) else {
        return 1;
    };
    print!(
        "{}",
        crate::plan::provenance::render(&loaded, &compiled.plan)
    );
    0
}

fn oci(cmd: OciCommand) -> i32 {
    match cmd {
        OciCommand::Export {
            profile,
            bundle,
            strict,
            command,
        } => {
            let host = HostFacts::probe();
            let opts = CompileOptions {
                command: (!command.is_empty()).then_some(command),
                command_optional: false,
            };
            let Some((_, compiled)) = build(&profile, &opts, &host) else {
                return EXIT_LAUNCHER;
            };
            match crate::oci::export_bundle(&compiled.plan, &bundle, strict) {
                Ok(notes) => {
                    for n in &notes {
                        log::note(&n.to_string());
                    }
                    0
                }
                Err(e) => {
                    log::error(&e.to_string());
                    EXIT_LAUNCHER
                }
            }
        }
        OciCommand::Import { config, output } => {
            let text = match std::fs::read_to_string(&config) {
                Ok(t) => t,
                Err(e) => {
                    log::error(&format!("{}: {e}", config.display()));
                    return EXIT_LAUNCHER;
                }
            };
            let bundle = config
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            let profile = match crate::oci::import_bundle(&text, bundle) {
                Ok(p) => p,
                Err(e) => {
                    log::error(&format!("{}: {e}", config.display()));
                    return EXIT_LAUNCHER;
                }
            };
            match output {
                Some(path) => match std::fs::write(&path, profile) {
                    Ok(()) => 0,
                    Err(e) => {
                        log::error(&format!("{}: {e}", path.display()));
                        EXIT_LAUNCHER
                    }
                },
                None => {
                    print!("{profile}");
                    0
                }
            }
        }
    }
}
