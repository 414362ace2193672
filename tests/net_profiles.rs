//! The fetch/build profiles and `[[phase]]` for real, offline, against local fixtures:
//! git over dumb HTTP (`profiles/git-clone.toml`), a PEP 503 index
//! (`profiles/pip-fetch-build.toml`), an npm registry (`profiles/npm-ci.toml`), and a
//! fetch-then-build phase pair. The proxy resolves through the test-only map (see
//! `src/net/resolve.rs`).

mod common;
mod net_support;

use common::{need_sandbox, skip, TempDir, TestCommand};
use net_support::{ports, server, tools_present, Servers};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};

/// `[[phase]]`: the fetch phase reaches the allowed host through the proxy and writes into
/// the project directory; the build phase has no network at all (its report has no proxy
/// section) and sees what fetch wrote; a failing phase stops the run with its status.
#[test]
fn phases_fetch_through_proxy_then_build_offline() {
    if need_sandbox() || common::need_root() || !tools_present() {
        return;
    }
    let dir = TempDir::new("phases");
    std::fs::copy("tests/net/https_server.py", dir.join("https_server.py")).unwrap();
    let (_, plain, _) = ports();
    let plain = plain + 7;
    let _servers = Servers {
        children: vec![server(
            dir.path(),
            &["127.0.0.2", &plain.to_string(), "fetched-payload"],
        )],
    };
    let body = format!(
        "extends = [\"builtin:strict\"]\n\
         [[phase]]\nname = \"fetch\"\ncommand = [\"sh\", \"-c\", \"curl -sf http://plain.test:{plain}/ > fetched\"]\n\
         network = {{ mode = \"proxy\", allow = [\"plain.test:{plain}\"] }}\n\
         [[phase]]\nname = \"build\"\ncommand = [\"sh\", \"-c\", \"cat fetched; curl -sf --max-time 5 http://plain.test:{plain}/ && echo ONLINE || echo offline\"]\n\
         network = {{ mode = \"none\" }}\n"
    );
    let profile = dir.profile("phases.toml", &body);
    let report = dir.join("r.json");
    let run = |extra: &[&str]| {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "run".as_ref(),
            profile.as_os_str(),
            "--report".as_ref(),
            report.as_os_str(),
        ];
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        TestCommand::new(args)
            .current_dir(dir.path())
            .env("STOCKADE_TEST_NET_HOSTS", "plain.test=127.0.0.2")
            .env("STOCKADE_TEST_NET_LOOPBACK", "1")
            .output()
    };
    let out = run(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim(), "fetched-payload\noffline", "{stdout}");
    let fetch: Value =
        serde_json::from_slice(&std::fs::read(dir.join("r.json.fetch")).unwrap()).unwrap();
    let build: Value =
        serde_json::from_slice(&std::fs::read(dir.join("r.json.build")).unwrap()).unwrap();
    assert_eq!(fetch["network"]["allowed"], 1, "{fetch:#}");
    assert!(
        build.get("network").is_none(),
        "the build phase has no proxy: {build:#}"
    );
    assert!(build["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n == "net"));

    // --phase runs one; a failing phase stops the run with its status.
    std::fs::remove_file(dir.join("r.json.build")).unwrap();
    std::fs::remove_file(dir.join("fetched")).unwrap();
    let out = run(&["--phase", "build"]);
    assert!(out.status.success());
    assert!(
        dir.join("r.json.build").exists(),
        "--phase build wrote its report"
    );
    let failing = body.replace("> fetched", "> fetched; exit 3");
    std::fs::write(&profile, format!("version = 1\n{failing}")).unwrap();
    std::fs::remove_file(dir.join("r.json.fetch")).unwrap();
    std::fs::remove_file(dir.join("r.json.build")).unwrap();
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("phase fetch failed (exit status 3)"));
    assert!(
        dir.join("r.json.fetch").exists() && !dir.join("r.json.build").exists(),
        "build must not run"
    );
}

/// `profiles/git-clone.toml` for real: a test profile extends it with the local host (allow
/// lists accumulate) and clones a repository served over git's dumb HTTP protocol; the
/// same clone of a host that only the base would not allow fails with a denial.
#[test]
fn git_clone_profile_over_dumb_http() {
    if need_sandbox() || common::need_root() || !tools_present() {
        return;
    }
    let dir = TempDir::new("git");
    let git = |args: &[&str], cwd: &Path| {
        let out = Command::new("git")
            .args(args)
            .current_dir(cwd)
            .env("HOME", cwd)
            .output()
            .expect("git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let src = dir.join("src");
    let www = dir.join("www");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::create_dir_all(&www).unwrap();
    git(&["init", "-q", "-b", "main"], &src);
    std::fs::write(src.join("lib.txt"), "dependency v1\n").unwrap();
    git(&["add", "."], &src);
    git(
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            "v1",
        ],
        &src,
    );
    git(
        &[
            "clone",
            "-q",
            "--bare",
            src.to_str().unwrap(),
            www.join("dep.git").to_str().unwrap(),
        ],
        dir.path(),
    );
    git(&["update-server-info"], &www.join("dep.git"));
    std::fs::copy("tests/net/https_server.py", dir.join("https_server.py")).unwrap();
    let (_, plain, _) = ports();
    let port = plain + 8;
    let mut srv = Command::new("python3")
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.2",
        ])
        .current_dir(&www)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.2", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let shipped = std::env::current_dir()
        .unwrap()
        .join("profiles/git-clone.toml");
    let profile = dir.profile(
        "git.toml",
        &format!(
            "extends = [\"{}\"]\n[network]\nallow = [\"git.test:{port}\"]\n",
            shipped.display()
        ),
    );
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let clone = |url: String, into: &str| {
        TestCommand::run(&profile, &["git", "clone", "-q", &url, into])
            .current_dir(&work)
            .env(
                "STOCKADE_TEST_NET_HOSTS",
                "git.test=127.0.0.2,evil.test=127.0.0.2",
            )
            .env("STOCKADE_TEST_NET_LOOPBACK", "1")
            .output()
    };
    let out = clone(format!("http://git.test:{port}/dep.git"), "dep");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(work.join("dep/lib.txt")).unwrap(),
        "dependency v1\n"
    );
    // evil.test resolves to the same server, but is not in the allow list.
    let out = clone(format!("http://evil.test:{port}/dep.git"), "dep2");
    let _ = (srv.kill(), srv.wait());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && !work.join("dep2/lib.txt").exists());
    assert!(stderr.contains("denied http evil.test:"), "{stderr}");
}

/// `profiles/pip-fetch-build.toml` for real against a local PEP 503 index: fetch downloads
/// through the proxy, build installs with no network; the build phase's report shows no
/// connections at all (it has no proxy).
#[test]
fn pip_fetch_build_profile_against_a_local_index() {
    if need_sandbox() || common::need_root() || !tools_present() {
        return;
    }
    let dir = TempDir::new("pip");
    let www = dir.join("www");
    std::fs::create_dir_all(www.join("simple/demo-pkg")).unwrap();
    std::fs::create_dir_all(www.join("files")).unwrap();
    // A minimal wheel, written by python's zipfile.
    let wheel = "demo_pkg-1.0-py3-none-any.whl";
    let script = format!(
        "import zipfile\nz = zipfile.ZipFile('{}/files/{wheel}', 'w')\n\
         z.writestr('demo_pkg/__init__.py', 'VALUE = 42\\n')\n\
         z.writestr('demo_pkg-1.0.dist-info/METADATA', 'Metadata-Version: 2.1\\nName: demo-pkg\\nVersion: 1.0\\n')\n\
         z.writestr('demo_pkg-1.0.dist-info/WHEEL', 'Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n')\n\
         z.writestr('demo_pkg-1.0.dist-info/RECORD', '')\nz.close()\n",
        www.display()
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(
        www.join("simple/demo-pkg/index.html"),
        format!("<html><body><a href=\"../../files/{wheel}\">{wheel}</a></body></html>\n"),
    )
    .unwrap();
    let (_, plain, _) = ports();
    let port = plain + 9;
    let mut srv = Command::new("python3")
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.2",
        ])
        .current_dir(&www)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.2", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("requirements.txt"), "demo-pkg==1.0\n").unwrap();
    // The shipped profile with the local index in place of PyPI (phases accumulate through
    // `extends`, so the hosts are substituted in a copy instead).
    let repo = std::env::current_dir().unwrap();
    let shipped = std::fs::read_to_string(repo.join("profiles/pip-fetch-build.toml")).unwrap();
    let pypi = "allow = [\"pypi.org\", \"files.pythonhosted.org\"]";
    assert!(shipped.contains(pypi) && shipped.contains("\"base/minimal.toml\""));
    let text = shipped
        .replace(pypi, &format!("allow = [\"pypi.test:{port}\"]"))
        .replace("\"base/minimal.toml\"", &format!("\"{}\"", repo.join("profiles/base/minimal.toml").display()))
        .replace(
            "set = { HOME = \"/tmp\",",
            &format!("set = {{ PIP_INDEX_URL = \"http://pypi.test:{port}/simple/\", PIP_TRUSTED_HOST = \"pypi.test:{port}\", HOME = \"/tmp\","),
        );
    let profile = dir.join("pip.toml");
    std::fs::write(&profile, text).unwrap();
    let report = dir.join("r.json");
    let out = TestCommand::new([
        "run".as_ref(),
        profile.as_os_str(),
        "--report".as_ref(),
        report.as_os_str(),
    ])
    .current_dir(&work)
    .env("STOCKADE_TEST_NET_HOSTS", "pypi.test=127.0.0.2")
    .env("STOCKADE_TEST_NET_LOOPBACK", "1")
    .output();
    let _ = (srv.kill(), srv.wait());
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(work.join("wheels").join(wheel).exists());
    assert_eq!(
        std::fs::read_to_string(work.join("vendor/demo_pkg/__init__.py")).unwrap(),
        "VALUE = 42\n"
    );
    let fetch: Value =
        serde_json::from_slice(&std::fs::read(dir.join("r.json.fetch")).unwrap()).unwrap();
    let build: Value =
        serde_json::from_slice(&std::fs::read(dir.join("r.json.build")).unwrap()).unwrap();
    assert!(
        fetch["network"]["allowed"].as_u64().unwrap() >= 1 && fetch["network"]["denied"] == 0,
        "{fetch:#}"
    );
    assert!(build.get("network").is_none());
}

/// `profiles/npm-ci.toml` for real against a local registry (packument + tarball): the
/// shipped profile with the local host in place of registry.npmjs.org installs the locked
/// dependency through the proxy, and the project's postinstall script does not run.
#[test]
fn npm_ci_profile_against_a_local_registry() {
    if need_sandbox() || common::need_root() || !tools_present() {
        return;
    }
    if !Command::new("sh")
        .args(["-c", "command -v npm && command -v node"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        skip("npm is not installed");
        return;
    }
    let dir = TempDir::new("npm");
    let (_, plain, _) = ports();
    let port = plain + 6;
    let out = Command::new("bash")
        .arg("tests/net/npm_fixture.sh")
        .arg(dir.path())
        .arg(port.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut srv = Command::new("python3")
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.2",
        ])
        .current_dir(dir.join("www"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.2", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let repo = std::env::current_dir().unwrap();
    let shipped = std::fs::read_to_string(repo.join("profiles/npm-ci.toml")).unwrap();
    let npmjs = "allow = [\"registry.npmjs.org\"]";
    assert!(shipped.contains(npmjs) && shipped.contains("set = { npm_config_cache"));
    let text = shipped
        .replace(npmjs, &format!("allow = [\"npm.test:{port}\"]"))
        .replace(
            "\"base/minimal.toml\"",
            &format!("\"{}\"", repo.join("profiles/base/minimal.toml").display()),
        )
        .replace(
            "set = { npm_config_cache",
            &format!(
                "set = {{ npm_config_registry = \"http://npm.test:{port}/\", npm_config_cache"
            ),
        );
    let profile = dir.join("npm.toml");
    std::fs::write(&profile, text).unwrap();
    let report = dir.join("r.json");
    let out = TestCommand::new([
        "run".as_ref(),
        profile.as_os_str(),
        "--report".as_ref(),
        report.as_os_str(),
    ])
    .current_dir(&dir.join("proj"))
    .env("STOCKADE_TEST_NET_HOSTS", "npm.test=127.0.0.2")
    .env("STOCKADE_TEST_NET_LOOPBACK", "1")
    .output();
    let _ = (srv.kill(), srv.wait());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let installed =
        std::fs::read_to_string(dir.join("proj/node_modules/demo-pkg/index.js")).unwrap();
    assert_eq!(installed.trim(), "module.exports = 42;");
    assert!(
        !dir.join("proj/script-ran").exists()
            && !dir.join("proj/node_modules/demo-pkg/installed").exists(),
        "lifecycle scripts must not run"
    );
    let rep: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let conns = rep["network"]["connections"].as_array().unwrap();
    assert!(
        conns
            .iter()
            .any(|c| c["host"] == "npm.test" && c["verdict"] == "allowed"),
        "{conns:#?}"
    );
    assert_eq!(rep["network"]["denied"], 0, "{conns:#?}");
}
