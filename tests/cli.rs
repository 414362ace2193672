//! The commands around the profile language, through the built binary: check, plan,
//! explain, profiles, schema, completions, man and every `--help`.

mod util;

use clap::CommandFactory;
use serde_json::Value as Json;

const GOOD: &str = "profiles/cargo-build.toml";
const BAD: &str = "tests/fixtures/bad/unknown-key-nested.toml";

fn json(bytes: &[u8]) -> Json {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", util::text(bytes)))
}

#[test]
fn check_exits_0_when_clean_and_1_on_errors() {
    let ok = util::stockade(&["check", GOOD, "builtin:strict"]);
    assert_eq!(ok.status.code(), Some(0), "{}", util::text(&ok.stderr));
    assert_eq!(
        util::text(&ok.stdout),
        format!("{GOOD}: ok\nbuiltin:strict: ok\n")
    );
    assert!(ok.stderr.is_empty(), "{}", util::text(&ok.stderr));

    let bad = util::stockade(&["check", GOOD, BAD]);
    assert_eq!(bad.status.code(), Some(1));
    // Every profile is checked, not only up to the first failure.
    assert_eq!(
        util::text(&bad.stdout),
        format!("{GOOD}: ok\n{BAD}: 1 error(s)\n")
    );
    let err = util::text(&bad.stderr);
    assert!(err.starts_with("error: unknown field `comand`"), "{err}");
    assert!(!err.contains('\u{1b}'), "colour despite NO_COLOR: {err:?}");
}

#[test]
fn check_of_a_missing_file_fails_cleanly() {
    let out = util::stockade(&["check", "no/such/profile.toml"]);
    assert_eq!(out.status.code(), Some(1));
    let err = util::text(&out.stderr);
    assert!(
        err.starts_with("error: cannot read profile `no/such/profile.toml`"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
}

#[test]
fn check_json_has_a_stable_shape() {
    let out = util::stockade(&["check", "--format", "json", GOOD, BAD]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out.stdout);
    let profiles = v["profiles"].as_array().expect("profiles array");
    assert_eq!(profiles.len(), 2);
    assert_eq!(profiles[0]["profile"], GOOD);
    assert_eq!(profiles[0]["ok"], true);
    assert_eq!(profiles[0]["diagnostics"], serde_json::json!([]));
    assert_eq!(profiles[1]["profile"], BAD);
    assert_eq!(profiles[1]["ok"], false);
    let d = &profiles[1]["diagnostics"][0];
    assert_eq!(d["severity"], "error");
    assert_eq!(d["file"], BAD);
    assert_eq!(d["line"], 4);
    assert_eq!(d["column"], 1);
    assert_eq!(d["help"], "did you mean `command`?");
    assert!(d["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("unknown field `comand`")));
    let keys: Vec<&str> = d
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        ["column", "file", "help", "key", "line", "message", "severity"]
    );
    // JSON mode prints nothing else.
    assert!(out.stderr.is_empty(), "{}", util::text(&out.stderr));

    let clean = util::stockade(&["check", "--format", "json", GOOD]);
    assert_eq!(clean.status.code(), Some(0));
    assert_eq!(json(&clean.stdout)["profiles"][0]["ok"], true);
}

#[test]
fn compiler_diagnostics_carry_their_key_in_json() {
    let bad = "tests/fixtures/bad/hostname-without-uts.toml";
    let out = util::stockade(&["check", "--format", "json", bad]);
    assert_eq!(out.status.code(), Some(1));
    let d = &json(&out.stdout)["profiles"][0]["diagnostics"][0];
    assert_eq!(d["key"], "filesystem.hostname");
    assert_eq!(d["line"], 7);
}

#[test]
fn warnings_do_not_fail_check() {
    let dir = std::env::temp_dir().join(format!("stockade-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("warn.toml");
    // pid1 without a PID namespace has no effect: a warning, not an error.
    std::fs::write(
        &path,
        "version = 1\n[namespaces]\nuser = true\n[process]\npid1 = \"payload\"\n",
    )
    .expect("write");
    let name = path.display().to_string();
    let out = util::stockade(&["check", &name]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(0), "{}", util::text(&out.stderr));
    let err = util::text(&out.stderr);
    assert!(
        err.starts_with("warning: `process.pid1` has no effect"),
        "{err}"
    );
    assert_eq!(util::text(&out.stdout), format!("{name}: ok\n"));
}

#[test]
fn profiles_lists_the_builtins() {
    let out = util::stockade(&["profiles"]);
    assert_eq!(out.status.code(), Some(0));
    let text = util::text(&out.stdout);
    for name in ["strict", "minimal"] {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("builtin:{name} ")))
            .unwrap_or_else(|| panic!("builtin:{name} not listed:\n{text}"));
        // With its description.
        assert!(line.split_whitespace().count() > 2, "{line}");
    }
}

#[test]
fn plan_of_builtin_strict() {
    let out = util::stockade(&["plan", "builtin:strict"]);
    assert_eq!(out.status.code(), Some(0), "{}", util::text(&out.stderr));
    let text = util::text(&out.stdout);
    assert!(text.starts_with("plan for builtin:strict\n"), "{text}");
    assert!(text.contains("command      (given on the command line)"));
    for section in [
        "\nnamespaces ",
        "\nmounts\n",
        "\nseccomp ",
        "\nlandlock ",
        "\nsteps\n",
    ] {
        assert!(text.contains(section), "no {section:?} in:\n{text}");
    }
    // The last step runs the command.
    let last = text.lines().rfind(|l| l.contains(" exec "));
    assert!(
        last.is_some_and(|l| l.trim_end().ends_with("execve")),
        "{text}"
    );

    let with_cmd = util::stockade(&["plan", "builtin:strict", "--", "make", "-j2", "it's"]);
    assert_eq!(with_cmd.status.code(), Some(0));
    let text = util::text(&with_cmd.stdout);
    assert!(text.contains("command      make -j2 'it'\\''s'"), "{text}");
    assert!(text.contains("execve make"), "{text}");
}

#[test]
fn plan_json_is_the_plan() {
    let out = util::stockade(&["plan", "--format", "json", "builtin:strict", "--", "true"]);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out.stdout);
    assert_eq!(v["source"], "builtin:strict");
    assert_eq!(v["process"]["argv"], serde_json::json!(["true"]));
    assert_eq!(v["namespaces"]["user"], true);
    let steps = v["steps"].as_array().expect("steps");
    assert_eq!(steps.last(), Some(&serde_json::json!({ "step": "exec" })));
    assert!(steps.contains(&serde_json::json!({ "step": "seccomp" })));
}

#[test]
fn plan_of_a_bad_profile_fails() {
    let out = util::stockade(&["plan", BAD]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(util::text(&out.stderr).contains("--> tests/fixtures/bad/unknown-key-nested.toml:4:1"));
}

#[test]
fn explain_names_the_builtin_layers() {
    let out = util::stockade(&["explain", "builtin:strict"]);
    assert_eq!(out.status.code(), Some(0), "{}", util::text(&out.stderr));
    let text = util::text(&out.stdout);
    assert!(
        text.contains("(later ones win): builtin:minimal, builtin:strict"),
        "{text}"
    );
    // Set by minimal, never overridden; overridden by strict.
    assert!(text
        .lines()
        .any(|l| l.starts_with("filesystem.hostname = \"sandbox\"")
            && l.contains("# builtin:minimal:")));
    assert!(text
        .lines()
        .any(|l| l.starts_with("process.cwd = \"${PWD}\"") && l.contains("# builtin:strict:")));
}

#[test]
fn schema_prints_json() {
    let out = util::stockade(&["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out.stdout);
    assert_eq!(v["title"], "stockade profile");
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish"] {
        let out = util::stockade(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let text = util::text(&out.stdout);
        assert!(
            text.contains("stockade") && text.contains("explain"),
            "{shell}: {text}"
        );
    }
    let man = util::stockade(&["man"]);
    assert_eq!(man.status.code(), Some(0));
    let roff = util::text(&man.stdout);
    assert!(roff.contains(".TH stockade"), "{roff}");
    assert!(roff.contains("check"), "{roff}");
}

#[test]
fn every_subcommand_help_has_examples() {
    fn walk(cmd: &clap::Command, path: Vec<String>, out: &mut Vec<Vec<String>>) {
        for sub in cmd.get_subcommands() {
            let mut p = path.clone();
            p.push(sub.get_name().to_owned());
            out.push(p.clone());
            walk(sub, p, out);
        }
    }
    let mut all = vec![Vec::new()];
    walk(&stockade::cli::Cli::command(), Vec::new(), &mut all);
    assert!(all.len() >= 10, "{all:?}");
    let mut missing = Vec::new();
    for path in &all {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        // Groups (`seccomp`, `oci`) print their help with `help`, leaves with --help.
        args.push("--help");
        let out = util::stockade(&args);
        let text = util::text(&out.stdout);
        if out.status.code() != Some(0) || !text.contains("Example") {
            missing.push(format!("stockade {}", path.join(" ")));
        }
    }
    assert!(missing.is_empty(), "--help without an example: {missing:?}");
}

#[test]
fn unknown_subcommands_and_options_are_usage_errors() {
    let out = util::stockade(&["chek", GOOD]);
    assert_eq!(out.status.code(), Some(2));
    assert!(util::text(&out.stderr).contains("check"));
    let out = util::stockade(&["check", "--format", "yaml", GOOD]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn run_without_a_command_prints_the_usage_not_a_builtin_location() {
    for args in [
        &["run"][..],
        &["run", "builtin:minimal"],
        &["run", "builtin:strict", "--"],
    ] {
        let out = util::stockade(args);
        let err = util::text(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {err}");
        assert!(
            err.contains("usage: stockade run [PROFILE] [--] CMD"),
            "{err}"
        );
        assert!(err.contains("stockade run -- make -j2"), "{err}");
        assert!(
            !err.contains("builtin:minimal:"),
            "points into a built-in: {err}"
        );
    }
}

#[test]
fn check_warns_about_a_mount_hiding_an_earlier_one_and_refuses_a_hidden_landlock_path() {
    let dir = std::env::temp_dir().join(format!("stockade-cli-hiding-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // Targets that differ as written (a mount at an inherited target would replace it, two
    // in one file are an error) but coincide once variables are expanded: stacked.
    let base = "version = 1\nextends = [\"builtin:minimal\"]\n\
                [[mount]]\ntype = \"bind\"\nsource = \"/usr/share\"\ntarget = \"/var/share\"\nread-only = true\n\
                [[mount]]\ntype = \"tmpfs\"\ntarget = \"/var\"\n\
                [[mount]]\ntype = \"tmpfs\"\ntarget = \"/srv\"\n\
                [[mount]]\ntype = \"tmpfs\"\ntarget = \"${env:NO_SUCH_VAR:-/srv}\"\n";
    let hiding = dir.join("hiding.toml");
    std::fs::write(&hiding, base).expect("write");
    let out = util::stockade(&["check", hiding.to_str().expect("utf-8")]);
    let err = util::text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "warnings only: {err}");
    assert!(
        err.contains("`/var` hides the earlier mount[") && err.contains("at `/var/share`"),
        "{err}"
    );
    assert!(
        err.contains("hiding.toml:10:10"),
        "not located at the later target: {err}"
    );
    assert!(err.contains("is stacked over the earlier mount["), "{err}");
    let landlock = dir.join("landlock.toml");
    std::fs::write(
        &landlock,
        format!("{base}[landlock]\nread = [\"/\"]\nexec = [\"/var/share\"]\n"),
    )
    .expect("write");
    let out = util::stockade(&["check", landlock.to_str().expect("utf-8")]);
    let err = util::text(&out.stderr);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("`/var/share` will not exist: the mount at `/var/share` that provides it is hidden by the later mount at `/var`"),
        "{err}"
    );
    assert!(err.contains("landlock.toml:19:"), "{err}");
}
