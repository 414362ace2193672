//! `stockade learn` end to end: learn → enforce the patch → the program runs; one extra
//! access (a file, a syscall, a port) is refused; learning again gives an empty patch. As
//! root and as the unprivileged test user; fixtures (a static binary, a shell that forks
//! and execs, a TCP client, `make` of a small C project) are built in the test.

mod common;
mod learn_support;

use common::TestCommand;
use learn_support::*;
use std::net::TcpListener;
use std::process::Command;

const SHELL: &[&str] = &[
    "/bin/sh",
    "-c",
    "cat data.txt; echo made > out.txt; cat out.txt",
];
const SHELL_EXTRA: &[&str] = &["/bin/sh", "-c", "cat data.txt; cat /etc/passwd"];

#[test]
fn a_shell_that_forks_and_execs_round_trips_as_root() {
    if common::need_sandbox() || common::need_root() {
        return;
    }
    let dir = project("learn-sh", "none", None);
    round_trip(&dir, SHELL, SHELL_EXTRA, "Permission denied", None);
}

#[test]
fn a_shell_that_forks_and_execs_round_trips_as_an_unprivileged_user() {
    if common::need_sandbox() {
        return;
    }
    let Some(user) = common::need_user() else {
        return;
    };
    let dir = project("learn-sh-user", "none", Some(user));
    round_trip(&dir, SHELL, SHELL_EXTRA, "Permission denied", Some(user));
}

const STATIC_PROG: &str = r#"
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
int main(int argc, char **argv) {
    FILE *f = fopen("data.txt", "r");
    char line[64] = {0};
    if (!f || !fgets(line, sizeof line, f)) return 3;
    printf("read %s", line);
    if (argc > 1 && strcmp(argv[1], "extra") == 0) {
        struct sysinfo si;
        long r = syscall(SYS_sysinfo, &si);
        printf("sysinfo %ld %s\n", r, r == 0 ? "ok" : strerror(errno));
    }
    return 0;
}
"#;

#[test]
fn a_static_binary_round_trips_and_one_more_syscall_is_refused() {
    if common::need_sandbox() || common::need_root() {
        return;
    }
    let dir = project("learn-static", "none", None);
    cc(&dir, "prog", STATIC_PROG, &["-static", "-O1"]);
    round_trip(
        &dir,
        &["./prog"],
        &["./prog", "extra"],
        "sysinfo -1 Operation not permitted",
        None,
    );
}

const TCP_PROG: &str = r#"
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        printf("connect %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    printf("connected\n");
    return 0;
}
"#;

#[test]
fn a_tcp_client_learns_its_port_and_another_port_is_refused() {
    if common::need_sandbox() || common::need_root() {
        return;
    }
    let dir = project("learn-tcp", "host", None);
    cc(&dir, "client", TCP_PROG, &["-O1"]);
    // Two local servers: the learnt port, and one the client was not seen using.
    let learnt = TcpListener::bind("127.0.0.1:0").expect("listen");
    let other = TcpListener::bind("127.0.0.1:0").expect("listen");
    let (p1, p2) = (
        learnt.local_addr().expect("addr").port().to_string(),
        other.local_addr().expect("addr").port().to_string(),
    );
    round_trip(
        &dir,
        &["./client", &p1],
        &["./client", &p2],
        &format!("connect {p2}: Permission denied"),
        None,
    );
    let patch = std::fs::read_to_string(dir.join("learnt.toml")).expect("patch");
    assert!(patch.contains(&format!("{p1}, # client")), "{patch}");
    // Arguments seccomp could filter are shown for review.
    assert!(
        patch.contains("#   socket family/type AF_INET/SOCK_STREAM — client"),
        "{patch}"
    );
}

#[test]
fn make_of_a_small_c_project_round_trips() {
    if common::need_sandbox() || common::need_root() {
        return;
    }
    let dir = project("learn-make", "none", None);
    std::fs::write(
        dir.join("main.c"),
        "#include <stdio.h>\nint main(void){puts(\"built\");return 0;}\n",
    )
    .expect("src");
    std::fs::write(
        dir.join("Makefile"),
        "hello: main.o\n\tcc -o hello main.o\nmain.o: main.c\n\tcc -c main.c\n",
    )
    .expect("mk");
    let d = dir.path();
    let learnt = learn(d, "base.toml", "learnt.toml", &["make"], None);
    assert!(learnt.status.success(), "learn: {}", text(&learnt));
    assert_eq!(
        Command::new(dir.join("hello"))
            .output()
            .expect("hello")
            .stdout,
        b"built\n"
    );
    for f in ["hello", "main.o"] {
        std::fs::remove_file(dir.join(f)).expect("clean");
    }
    let patch = std::fs::read_to_string(dir.join("learnt.toml")).expect("patch");
    let built = run(d, "learnt.toml", &["make"], None);
    assert!(
        built.status.success(),
        "make under the learnt profile: {}\n{patch}",
        text(&built)
    );
    assert_eq!(
        Command::new(dir.join("hello"))
            .output()
            .expect("hello")
            .stdout,
        b"built\n"
    );
    // Something make never did: refused.
    let extra = run(d, "learnt.toml", &["sh", "-c", "cat /etc/passwd"], None);
    assert!(!extra.status.success(), "{}", text(&extra));
}

#[test]
fn bad_input_gives_clear_errors_and_documented_exit_codes() {
    let dir = project("learn-bad", "none", None);
    let d = dir.path();
    // Not a learn log.
    std::fs::write(dir.join("junk.jsonl"), "{\"profiles\": []}\n").expect("w");
    let out = in_dir(
        TestCommand::new(["learn", "base.toml", "--from-log", "junk.jsonl"]),
        d,
        None,
    );
    assert_eq!(out.status.code(), Some(125), "{}", text(&out));
    assert!(
        common::stderr(&out).contains("junk.jsonl:1: not a `stockade learn` log"),
        "{}",
        text(&out)
    );
    // A profile that does not parse.
    dir.profile("broken.toml", "[namespaces\n");
    let out = in_dir(
        TestCommand::new(["learn", "broken.toml", "--", "true"]),
        d,
        None,
    );
    assert_eq!(out.status.code(), Some(125));
    assert!(
        common::stderr(&out).contains("broken.toml:"),
        "{}",
        text(&out)
    );
    // No command and no log.
    let out = in_dir(TestCommand::new(["learn", "base.toml"]), d, None);
    assert_eq!(out.status.code(), Some(125));
    if common::need_sandbox() || common::need_root() {
        return;
    }
    // A command that does not exist: stockade run's 127, and its message.
    let out = learn(d, "base.toml", "p.toml", &["/no/such/program"], None);
    assert_eq!(out.status.code(), Some(127), "{}", text(&out));
}
