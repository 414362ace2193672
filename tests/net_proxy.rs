//! `network.mode = "proxy"` for real, offline: HTTPS servers for `registry.test` (allowed)
//! and `evil.test` (not) on 127.0.0.2 / 127.0.0.3 with a test CA made by openssl, a plain
//! HTTP server, and a service on the host's 127.0.0.1. Inside the sandbox (curl, openssl
//! s_client, bash /dev/tcp, a DNS query): the allowed host works through the HTTP and the
//! SOCKS5h proxy; a denied host, an IP literal, a wrong port, plain HTTP on a wrong port,
//! a name resolving to a metadata address, an SNI other than the CONNECT host, no SNI, a
//! second request to another host on a kept-alive connection (also after a POST body that
//! must be bounded by its Content-Length), raw TCP, the host's
//! loopback service and UDP all fail, each with the expected run-report entry; DNS answers
//! the allowed name and REFUSES the other. As root and as the unprivileged test user.
//!
//! The proxy resolves through the test-only map `STOCKADE_TEST_NET_HOSTS` and lets
//! loopback through with `STOCKADE_TEST_NET_LOOPBACK=1` (supervisor environment only; see
//! `src/net/resolve.rs`).

mod common;
mod net_support;

use common::{need_sandbox, need_user, TempDir, TestCommand};
use net_support::{make_certs, ports, server, tools_present, Servers};
use serde_json::Value;

fn entry<'a>(conns: &'a [Value], host: &str, verdict: &str) -> Option<&'a Value> {
    conns
        .iter()
        .find(|c| c["host"] == host && c["verdict"] == verdict)
}

fn run_suite(user: Option<(u32, u32)>) {
    let dir = TempDir::new("net");
    std::fs::copy("tests/net/https_server.py", dir.join("https_server.py")).unwrap();
    std::fs::copy("tests/net/dns_query.py", dir.join("dns_query.py")).unwrap();
    std::fs::copy("tests/net/inside.sh", dir.join("inside.sh")).unwrap();
    make_certs(dir.path());
    for f in std::fs::read_dir(dir.path()).unwrap() {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(f.unwrap().path(), std::fs::Permissions::from_mode(0o755));
    }
    let (tls, plain, hostsvc) = ports();
    let (tls_s, plain_s, host_s) = (tls.to_string(), plain.to_string(), hostsvc.to_string());
    let d = dir.path().to_str().unwrap().to_string();
    let _servers = Servers {
        children: vec![
            server(
                dir.path(),
                &[
                    "127.0.0.2",
                    &tls_s,
                    "hello-registry",
                    &format!("{d}/registry.test.pem"),
                    &format!("{d}/registry.test.key"),
                ],
            ),
            server(
                dir.path(),
                &[
                    "127.0.0.3",
                    &tls_s,
                    "hello-evil",
                    &format!("{d}/evil.test.pem"),
                    &format!("{d}/evil.test.key"),
                ],
            ),
            server(dir.path(), &["127.0.0.2", &plain_s, "hello-plain"]),
            server(dir.path(), &["127.0.0.3", &plain_s, "hello-evil-plain"]),
            server(dir.path(), &["127.0.0.1", &host_s, "host-secret"]),
        ],
    };
    let profile = dir.profile(
        "proxy.toml",
        &format!(
            "extends = [\"builtin:strict\"]\n[network]\nmode = \"proxy\"\nallow = [\"registry.test:{tls}\", \"plain.test:{plain}\", \"rebind.test:{plain}\"]\n"
        ),
    );
    let report = dir.join("report.json");
    let netlog = dir.join("net.jsonl");
    if let Some((uid, gid)) = user {
        dir.chown(uid, gid);
    }
    let mut cmd = TestCommand::new([
        "run".as_ref(),
        profile.as_os_str(),
        "--report".as_ref(),
        report.as_os_str(),
        "--net-log".as_ref(),
        netlog.as_os_str(),
        "--".as_ref(),
        "bash".as_ref(),
        "./inside.sh".as_ref(),
        format!("{d}/ca.pem").as_ref(),
        tls_s.as_ref(),
        plain_s.as_ref(),
        host_s.as_ref(),
    ])
    .current_dir(dir.path())
    .env(
        "STOCKADE_TEST_NET_HOSTS",
        "registry.test=127.0.0.2,evil.test=127.0.0.3,plain.test=127.0.0.2,rebind.test=169.254.169.254",
    )
    .env("STOCKADE_TEST_NET_LOOPBACK", "1");
    if let Some((uid, gid)) = user {
        cmd = cmd.with_user(uid, gid);
    }
    let out = cmd.output();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let result = |name: &str| -> String {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no result for {name}:\n{stdout}"))
            .to_string()
    };
    let ok = |name: &str, body: &str| {
        let r = result(name);
        assert!(
            r.starts_with("rc=0 ") && r.contains(body),
            "{name}: {r}\n{stdout}\n{stderr}"
        );
    };
    let fails = |name: &str| {
        let r = result(name);
        assert!(
            !r.starts_with("rc=0 "),
            "{name} should fail: {r}\n{stdout}\n{stderr}"
        );
        assert!(
            !r.contains("hello-") && !r.contains("host-secret"),
            "{name} leaked: {r}"
        );
    };
    ok("allowed", "hello-registry");
    ok("plain-allowed", "hello-plain");
    ok("socks-allowed", "hello-registry");
    for f in [
        "denied-host",
        "ip-literal",
        "wrong-port",
        "plain-wrong-port",
        "rebind",
        "socks-denied",
        "sni-mismatch",
        "no-sni",
        "raw-tcp",
        "host-loopback",
        "udp",
    ] {
        fails(f);
    }
    let keep = result("keepalive");
    assert!(
        keep.contains("hello-plain") && keep.contains("403") && !keep.contains("hello-evil"),
        "keepalive: {keep}"
    );
    // The POST's body is exactly its Content-Length (it looks like a request to body.test:
    // sent as body, never parsed); the request after it is checked on its own and refused.
    let post = result("keepalive-body");
    let body_len =
        format!("GET http://body.test:{plain}/ HTTP/1.1\r\nHost: body.test:{plain}\r\n\r\n").len();
    assert!(
        post.contains(&format!("hello-plain-post len={body_len} extra=0"))
            && post.contains("403")
            && post.contains("after-post.test")
            && !post.contains("hello-evil"),
        "keepalive-body: {post}"
    );
    // A body cut short: the upstream's answer (to the 10 bytes it got) reaches the client.
    ok("body-cut-short", "hello-plain-post len=10 extra=0");
    // A response that ends at the upstream's close ends the client connection too.
    ok("unframed", "hello-plain-unframed");
    assert!(
        result("dns-allowed").starts_with("rc=0 out=rcode=0 answers=1 127.0.0.2"),
        "{stdout}"
    );
    assert!(
        result("dns-denied").starts_with("rc=0 out=rcode=5 answers=0"),
        "{stdout}"
    );

    let rep: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let conns = rep["network"]["connections"].as_array().unwrap().clone();
    let reason = |host: &str, verdict: &str| -> String {
        entry(&conns, host, verdict)
            .unwrap_or_else(|| panic!("no {verdict} entry for {host}: {conns:#?}"))["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(reason("registry.test", "allowed").contains(&format!("registry.test:{tls}")));
    assert!(
        entry(&conns, "registry.test", "allowed").unwrap()["bytes_in"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(reason("evil.test", "denied").contains("not in network.allow"));
    assert!(reason("127.0.0.2", "denied").contains("IP address"));
    assert!(conns.iter().any(|c| c["host"] == "registry.test"
        && c["verdict"] == "denied"
        && c["reason"].as_str().unwrap().contains("port")));
    assert!(conns.iter().any(|c| c["host"] == "plain.test"
        && c["verdict"] == "denied"
        && c["reason"].as_str().unwrap().contains("port")));
    assert!(reason("rebind.test", "denied").contains("non-public"));
    assert!(
        conns.iter().any(|c| c["verdict"] == "denied"
            && c["reason"]
                .as_str()
                .unwrap()
                .contains("`evil.test` is not the requested host")),
        "{conns:#?}"
    );
    assert!(
        conns.iter().any(|c| c["verdict"] == "denied"
            && c["reason"]
                .as_str()
                .unwrap()
                .contains("without a server name")),
        "{conns:#?}"
    );
    assert!(
        conns.iter().any(|c| c["host"] == "plain.test"
            && c["reason"]
                .as_str()
                .unwrap()
                .contains("the request body was cut short (10 of 100 bytes)")),
        "{conns:#?}"
    );
    assert!(reason("after-post.test", "denied").contains("not in network.allow"));
    assert!(
        entry(&conns, "after-post.test", "denied").unwrap()["protocol"] == "http",
        "{conns:#?}"
    );
    assert!(
        !conns.iter().any(|c| c["host"] == "body.test"),
        "a body was parsed as a request: {conns:#?}"
    );
    assert!(
        conns.iter().any(|c| c["host"] == "plain.test"
            && c["verdict"] == "allowed"
            && c["bytes_out"].as_u64().unwrap() > body_len as u64
            && c["bytes_in"].as_u64().unwrap() > 0),
        "{conns:#?}"
    );
    assert!(conns.iter().any(|c| c["protocol"] == "socks5"
        && c["host"] == "evil.test"
        && c["verdict"] == "denied"));
    assert!(conns
        .iter()
        .any(|c| c["protocol"] == "dns" && c["host"] == "evil.test" && c["verdict"] == "denied"));
    // Raw TCP, the host's loopback and UDP never reach the proxy: no entry, they just fail.
    assert!(!conns.iter().any(|c| c["port"] == hostsvc));
    assert!(
        stderr.contains("stockade: network: denied http-connect evil.test:")
            && stderr.contains("to network.allow"),
        "{stderr}"
    );
    let log = std::fs::read_to_string(&netlog).unwrap();
    assert_eq!(
        log.lines().count(),
        conns.len(),
        "--net-log has every decision"
    );
}

#[test]
fn proxy_allows_only_listed_hosts_as_root() {
    if need_sandbox() || common::need_root() || !tools_present() {
        return;
    }
    run_suite(None);
}

#[test]
fn proxy_allows_only_listed_hosts_rootless() {
    if need_sandbox() || !tools_present() {
        return;
    }
    let Some(u) = need_user() else { return };
    run_suite(Some(u));
}
