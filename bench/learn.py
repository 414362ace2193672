#!/usr/bin/env python3
"""Cost of `stockade learn` (issue 15): the same work run plainly in the sandbox, under
`stockade learn` on a fresh learning base (every call stops once), under `stockade learn`
on a profile that already allows what the work does (only path and socket calls stop), and
under `strace -f` (the anchor). Interleaved rounds; medians of wall and CPU time
(user+sys of everything reaped), reported as ratios to the plain run.

    bench/learn.py                 5 rounds of `find /usr` and of a small C build
    bench/learn.py --rounds 9
    bench/learn.py --smoke         1 round on a small tree: does it still run?

STOCKADE_BIN overrides the binary (default: target/release/stockade, else target/debug).
Run as root or as a user; the learning base is builtin:minimal either way.
"""
import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def stockade_bin():
    if os.environ.get("STOCKADE_BIN"):
        return os.environ["STOCKADE_BIN"]
    for kind in ("release", "debug"):
        p = os.path.join(REPO, "target", kind, "stockade")
        if os.access(p, os.X_OK):
            return p
    sys.exit("bench/learn.py: build stockade first (cargo build --release)")


def timed(argv, cwd):
    """Wall and CPU seconds of argv (output discarded); raises if it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    r = subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # find exits 1 on an unreadable directory; that is the work, not a failure.
    if r.returncode not in (0, 1):
        raise SystemExit(f"{argv[:4]}... failed ({r.returncode}): {r.stderr.decode()[-800:]}")
    return wall, cpu


def small_c_project(d):
    os.makedirs(d, exist_ok=True)
    for i in range(8):
        with open(os.path.join(d, f"u{i}.c"), "w") as f:
            f.write(f"#include <stdio.h>\nint f{i}(void) {{ return {i}; }}\n")
    with open(os.path.join(d, "main.c"), "w") as f:
        decls = "".join(f"int f{i}(void);\n" for i in range(8))
        calls = "+".join(f"f{i}()" for i in range(8))
        f.write(f"#include <stdio.h>\n{decls}int main(void) {{ printf(\"%d\\n\", {calls}); return 0; }}\n")
    objs = " ".join(f"u{i}.o" for i in range(8))
    with open(os.path.join(d, "Makefile"), "w") as f:
        f.write(f"prog: main.o {objs}\n\tcc -o $@ $^\n%.o: %.c\n\tcc -O1 -c -o $@ $<\n"
                "clean:\n\trm -f prog *.o\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--smoke", action="store_true")
    a = ap.parse_args()
    bin_ = stockade_bin()
    work = tempfile.mkdtemp(prefix="stockade-bench-learn-")
    os.chmod(work, 0o755)
    try:
        tree = "/usr/share/doc" if a.smoke else "/usr"
        proj = os.path.join(work, "proj")
        small_c_project(proj)
        # The project profile: the learning base plus the project directory, writable.
        base = os.path.join(work, "base.toml")
        with open(base, "w") as f:
            f.write('version = 1\nextends = ["builtin:minimal"]\n[process]\ncwd = "${PWD}"\n'
                    '[[mount]]\ntype = "bind"\nsource = "${PWD}"\n')
        workloads = {
            f"find {tree}": (["find", tree], work, None),
            "make (9 C files)": (["sh", "-c", "make -s clean; make -s -j2"], proj, None),
        }
        # "Nearly everything allowed": the profile learned from one run of the same work.
        for i, (name, (cmd, cwd, _)) in enumerate(list(workloads.items())):
            learned = os.path.join(work, f"learned-{i}.toml")
            subprocess.run([bin_, "learn", base, "-o", learned, "--", *cmd], cwd=cwd,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            workloads[name] = (cmd, cwd, learned)
        have_strace = shutil.which("strace") is not None
        rounds = 1 if a.smoke else a.rounds
        results = {}
        patch = os.path.join(work, "patch.toml")
        for name, (cmd, cwd, learned) in workloads.items():
            variants = {
                "plain (stockade run)": [bin_, "run", base, "--", *cmd],
                "plain, learned profile": [bin_, "run", learned, "--", *cmd],
                "learn, fresh base": [bin_, "learn", base, "-o", patch, "--", *cmd],
                "learn, learned profile": [bin_, "learn", learned, "-o", patch, "--", *cmd],
            }
            if have_strace:
                variants["strace -f (in stockade run)"] = [
                    bin_, "run", os.path.join(work, "strace.toml"), "--", "strace", "-f",
                    "-o", "/dev/null", *cmd]
                with open(os.path.join(work, "strace.toml"), "w") as f:
                    # strace needs ptrace inside: the base has no seccomp to refuse it.
                    f.write(open(base).read())
            samples = {v: [] for v in variants}
            timed(variants["plain (stockade run)"], cwd)  # warm the page cache
            for _ in range(rounds):
                order = list(variants)
                random.shuffle(order)
                for v in order:
                    samples[v].append(timed(variants[v], cwd))
            results[name] = samples
        # Each learn run is compared with the plain run of the same profile.
        reference = {"learn, learned profile": "plain, learned profile"}
        print("| workload | run | wall median | CPU median | wall ×plain | CPU ×plain |")
        print("|---|---|---|---|---|---|")
        for name, samples in results.items():
            for v, s in samples.items():
                ref = samples[reference.get(v, "plain (stockade run)")]
                pw = statistics.median(x[0] for x in ref)
                pc = statistics.median(x[1] for x in ref)
                w = statistics.median(x[0] for x in s)
                c = statistics.median(x[1] for x in s)
                print(f"| {name} | {v} | {w:.3f} s | {c:.3f} s | {w / pw:.2f} | {c / max(pc, 1e-9):.2f} |")
        print("\nRatios: each run against `plain (stockade run)` of the learning base, except"
              " `learn, learned profile` against `plain, learned profile`.")
        print("Goals (issue 15): fresh ≤ 3× plain, learned profile ≤ 1.2× plain; anchor: strace -f.")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
