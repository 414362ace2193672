#!/usr/bin/env python3
"""The cost of being sandboxed on real work: syscall microbenchmarks, `find /usr`, a
`make -j2` of a small generated C project and a `cargo build` of a small generated crate,
run bare, under stockade (every layer, and each layer alone) and under bubblewrap, in
interleaved rounds of one run. Writes work.md and work.json (medians, ratios to bare).

The stockade profiles are the launch benchmark's (bench/profiles/), extended here with
what real work needs: the work directory bound read-write (and writable and executable
for Landlock), the Rust toolchain read-only, and the work directory as cwd.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LAYERS = [
    ("stockade equivalent (namespaces+mounts)", "equivalent.toml"),
    ("stockade +seccomp", "eq-seccomp.toml"),
    ("stockade +landlock", "eq-landlock.toml"),
    ("stockade +caps", "eq-caps.toml"),
    ("stockade +cgroup", "eq-cgroup.toml"),
    ("stockade strict (every layer)", "strict.toml"),
]


def toolchain_dirs():
    """Host directories holding cargo and rustc (rustup layout or system packages)."""
    dirs = []
    for tool in ("cargo", "rustc"):
        p = shutil.which(tool)
        if p:
            real = os.path.realpath(p)
            for d in (os.path.dirname(os.path.dirname(real)),
                      os.environ.get("RUSTUP_HOME", os.path.expanduser("~/.rustup")),
                      os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))):
                if os.path.isdir(d) and not d.startswith("/usr") and d not in dirs:
                    dirs.append(d)
    return dirs


def make_project(work, files):
    src = os.path.join(work, "cproj")
    os.makedirs(src, exist_ok=True)
    for i in range(files):
        with open(os.path.join(src, f"f{i}.c"), "w") as f:
            f.write("#include <stdio.h>\n#include <string.h>\n#include <stdlib.h>\n")
            for j in range(40):
                f.write(f"int f{i}_{j}(int x) {{ char b[64]; snprintf(b, sizeof b, \"%d\", x * {j});"
                        f" return (int)strlen(b) + atoi(b) % {j + 7}; }}\n")
    with open(os.path.join(src, "main.c"), "w") as f:
        f.write("int main(void) { return 0; }\n")
    objs = " ".join(f"f{i}.o" for i in range(files))
    with open(os.path.join(src, "Makefile"), "w") as f:
        f.write(f"OBJS = main.o {objs}\nall: prog\nprog: $(OBJS)\n\t$(CC) -o $@ $(OBJS)\n"
                "%.o: %.c\n\t$(CC) -O2 -c -o $@ $<\nclean:\n\trm -f *.o prog\n")


def make_crate(work, modules):
    crate = os.path.join(work, "crate")
    os.makedirs(os.path.join(crate, "src"), exist_ok=True)
    with open(os.path.join(crate, "Cargo.toml"), "w") as f:
        f.write('[package]\nname = "workbench"\nversion = "0.1.0"\nedition = "2021"\n')
    with open(os.path.join(crate, "src", "main.rs"), "w") as f:
        for m in range(modules):
            f.write(f"mod m{m} {{\n")
            for j in range(30):
                f.write(f"    pub fn g{j}(v: &[u64]) -> u64 {{ v.iter().map(|x| x.wrapping_mul({j + 3})).filter(|x| x % {m + 2} == 0).sum() }}\n")
            f.write("}\n")
        f.write("fn main() { let v: Vec<u64> = (0..100).collect(); let mut s = 0u64;\n")
        for m in range(modules):
            f.write(f"    s += m{m}::g{m % 30}(&v);\n")
        f.write('    println!("{s}"); }\n')


def write_profiles(work, toolchain):
    out = os.path.join(work, "profiles")
    os.makedirs(out, exist_ok=True)
    binds = "".join(
        f'\n[[mount]]\ntype = "bind"\nsource = "{d}"\nread-only = true\n' for d in toolchain)
    paths = {}
    for _, name in LAYERS:
        base = os.path.join(HERE, "profiles", name)
        text = (f'version = 1\nextends = ["{base}"]\n[process]\ncwd = "{work}"\n'
                '[env]\nkeep = ["HOME", "CARGO_HOME", "RUSTUP_HOME", "CC"]\n'
                f'[[mount]]\ntype = "bind"\nsource = "{work}"\n{binds}')
        if "landlock" in name or name == "strict.toml":
            text += (f'[landlock]\nwrite = ["{work}"]\nread = {json.dumps(toolchain)}\n'
                     f'exec = {json.dumps([work] + toolchain)}\n')
        path = os.path.join(out, name)
        with open(path, "w") as f:
            f.write(text)
        paths[name] = path
    return paths


def launchers(stockade, profiles, work, toolchain):
    out = [("bare", [])]
    for label, name in LAYERS:
        out.append((label, [stockade, "run", profiles[name], "--"]))
    if shutil.which("bwrap"):
        bw = ["bwrap", "--unshare-all", "--new-session", "--die-with-parent",
              "--ro-bind", "/usr", "/usr", "--ro-bind", "/lib", "/lib",
              "--ro-bind", "/lib64", "/lib64", "--ro-bind", "/bin", "/bin",
              "--ro-bind", "/etc", "/etc", "--proc", "/proc", "--dev", "/dev",
              "--tmpfs", "/tmp", "--bind", work, work]
        for d in toolchain:
            bw += ["--ro-bind", d, d]
        out.append(("bubblewrap", bw + ["--chdir", work, "--"]))
    return out


def run(prefix, argv, cwd):
    t0 = time.perf_counter()
    p = subprocess.run(prefix + argv, cwd=cwd, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{prefix[:3]} {argv}: exit {p.returncode}: {p.stderr[-400:]}")
    return dt, p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stockade", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--smoke", action="store_true")
    a = ap.parse_args()
    work = os.path.join(a.out, "work")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    rounds = 1 if a.smoke else a.rounds
    make_project(work, 4 if a.smoke else 40)
    toolchain = toolchain_dirs()
    have_cargo = bool(shutil.which("cargo")) and not a.smoke
    if have_cargo:
        make_crate(work, 60)
    subprocess.run(["cc", "-O2", "-o", os.path.join(work, "syscalls"),
                    os.path.join(HERE, "syscalls.c")], check=True)
    profiles = write_profiles(work, toolchain)
    cargo = shutil.which("cargo") or "cargo"
    workloads = [
        ("syscalls", [os.path.join(work, "syscalls"), "/usr/bin/true",
                      "20000" if a.smoke else "200000"]),
        ("find /usr", ["sh", "-c", "find /usr > /dev/null 2>&1; true"] if not a.smoke
         else ["sh", "-c", "find /usr/bin > /dev/null 2>&1; true"]),
        ("make -j2", ["sh", "-c", "make -s -C cproj clean >/dev/null && make -s -j2 -C cproj"]),
    ]
    if have_cargo:
        workloads.append(("cargo build", ["sh", "-c",
                          f"rm -rf crate/target && {cargo} build -q --offline --manifest-path crate/Cargo.toml"]))
    ls = launchers(a.stockade, profiles, work, toolchain)
    times = {(l, w): [] for l, _ in ls for w, _ in workloads}
    micro = {l: {} for l, _ in ls}
    failed = []
    for r in range(rounds):
        for wname, argv in workloads:
            # Interleaved: every launcher once per round, so drifting load hits all alike.
            for lname, prefix in ls:
                try:
                    dt, out = run(prefix, argv, work)
                except RuntimeError as e:
                    failed.append(str(e))
                    continue
                times[(lname, wname)].append(dt)
                if wname == "syscalls":
                    for line in out.splitlines():
                        k, v = line.split()
                        micro[lname].setdefault(k, []).append(float(v))
        print(f"work: round {r + 1}/{rounds} done", file=sys.stderr)
    med = {k: statistics.median(v) for k, v in times.items() if v}
    lines = ["| launcher | getppid ns | open+close ns | " +
             " | ".join(f"{w} s (x bare)" for w, _ in workloads if w != "syscalls") + " |",
             "|---|---|---|" + "---|" * (len(workloads) - 1)]
    for lname, _ in ls:
        m = micro[lname]
        cells = [f"{statistics.median(m['getppid_ns']):.0f}" if m.get("getppid_ns") else "-",
                 f"{statistics.median(m['openclose_ns']):.0f}" if m.get("openclose_ns") else "-"]
        for w, _ in workloads:
            if w == "syscalls":
                continue
            v, b = med.get((lname, w)), med.get(("bare", w))
            cells.append(f"{v:.2f} ({v / b:.3f})" if v and b else "-")
        lines.append(f"| {lname} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(a.out, "work.md"), "w") as f:
        f.write(text)
    with open(os.path.join(a.out, "work.json"), "w") as f:
        json.dump({"rounds": rounds, "median_s": {f"{l} | {w}": v for (l, w), v in med.items()},
                   "micro": micro, "failed": failed}, f, indent=1)
    print(text)
    for e in failed:
        print(f"work: FAILED: {e}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
