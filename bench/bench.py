#!/usr/bin/env python3
"""stockade benchmark driver: launch latency, peak RSS, throughput, concurrency and scaling,
side by side with the kernel floor, unshare, bubblewrap, crun and runc.

Run through bench/run.sh (which installs the peers, builds stockade and the `launch` helper).
All timing happens in the C helper (bench/launch.c); this script prepares the launchers,
interleaves them, checks that nothing is left behind, and turns the samples into tables.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import leaks  # noqa: E402
import oci_bundle  # noqa: E402
import report  # noqa: E402
import scaling  # noqa: E402

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH_DIR)
PROFILES = os.path.join(BENCH_DIR, "profiles")

BWRAP_ARGS = ["--unshare-all", "--new-session", "--die-with-parent",
              "--ro-bind", "/usr", "/usr", "--ro-bind", "/lib", "/lib",
              "--ro-bind", "/lib64", "/lib64", "--ro-bind", "/bin", "/bin",
              "--ro-bind", "/etc", "/etc",
              "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]

# (name, profile) of the stockade launchers, cheapest layer first.
STOCKADE_PROFILES = [
    ("stockade equivalent", "equivalent.toml"),
    ("stockade minimal (builtin)", "builtin:minimal"),
    ("stockade +seccomp", "eq-seccomp.toml"),
    ("stockade +landlock", "eq-landlock.toml"),
    ("stockade +caps", "eq-caps.toml"),
    ("stockade +cgroup", "eq-cgroup.toml"),
    ("stockade strict, no cgroup", "strict-nocgroup.toml"),
    ("stockade strict", "strict.toml"),
    ("stockade builtin:strict", "builtin:strict"),
]


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def tool_version(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        text = (out.stdout or out.stderr).strip().splitlines()
        return text[0] if text else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"


def machine_info(stockade):
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) // 1024} MiB"
    except OSError:
        pass
    libseccomp = tool_version(["dpkg-query", "-W", "-f", "${Version}", "libseccomp2"])
    return [
        ("date (UTC)", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")),
        ("kernel", platform.release()),
        ("cpu", f"{cpu}, {os.cpu_count()} cpus, load {os.getloadavg()[0]:.2f}"),
        ("memory", mem),
        ("os", tool_version(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"])),
        ("cgroups", cgroup_layout()),
        ("user", f"uid {os.getuid()}"),
        ("stockade", f"{tool_version([stockade, '--version'])} ({stockade})"),
        ("git", tool_version(["git", "-C", REPO, "describe", "--always", "--dirty"])),
        ("bubblewrap", tool_version(["bwrap", "--version"])),
        ("crun", tool_version(["crun", "--version"])),
        ("runc", tool_version(["runc", "--version"])),
        ("unshare", tool_version(["unshare", "--version"])),
        ("libseccomp", libseccomp),
        ("rustc", tool_version(["rustc", "--version"])),
    ]


def cgroup_layout():
    try:
        fs = subprocess.run(["stat", "-fc", "%T", "/sys/fs/cgroup"], capture_output=True,
                            text=True).stdout.strip()
    except OSError:
        return "?"
    if fs == "cgroup2fs":
        return "v2 (unified)"
    unified = os.path.ismount("/sys/fs/cgroup/unified")
    return "v1 controllers" + (" + cgroup2 at /sys/fs/cgroup/unified (hybrid)" if unified else "")


class CrunNamespace:
    """A private mount namespace without /sys/fs/cgroup/unified, held open by a sleeping
    process: crun 1.8 refuses the hybrid layout, and the helper joins this namespace
    (setns) in the forked child before exec'ing crun, so the host is untouched."""

    def __init__(self):
        self.proc = None
        self.path = None

    def start(self):
        if not os.path.ismount("/sys/fs/cgroup/unified"):
            return "-"
        self.proc = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "sh", "-c",
             "umount /sys/fs/cgroup/unified && echo ready && exec sleep 100000"],
            stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            self.stop()
            return None
        self.path = f"/proc/{self.proc.pid}/ns/mnt"
        return self.path

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.proc.wait()
        self.proc = None


class Bench:
    def __init__(self, args):
        self.args = args
        self.smoke = args.smoke
        self.stockade = args.stockade
        self.helper = args.helper
        self.work = tempfile.mkdtemp(prefix="stockade-bench.")
        self.out_dir = args.out
        os.makedirs(self.out_dir, exist_ok=True)
        self.errlog_path = os.path.join(self.out_dir, "launchers.log")
        self.errlog = open(self.errlog_path, "w")
        self.crun_ns = CrunNamespace()
        # Every launcher inherits this; leaks.py finds leftover processes by it.
        self.marker = f"STOCKADE_BENCH_RUN={os.getpid()}-{time.time_ns()}"
        self.env = dict(os.environ)
        key, value = self.marker.split("=", 1)
        self.env[key] = value
        self.launchers = []  # (name, mntns, argv)
        self.skipped = []  # (name, reason)
        self.sections = []  # markdown sections of the report

    # -- launchers ---------------------------------------------------------------------------

    def stockade_argv(self, profile):
        path = profile if profile.startswith("builtin:") else os.path.join(PROFILES, profile)
        return [self.stockade, "run", path, "--", "/bin/true"]

    def probe(self, name, mntns, argv):
        """Run a launcher once, through the helper as in the measurements; True when it
        works. Its stderr goes to the log."""
        self.errlog.write(f"--- probe {name}: {' '.join(argv)}\n")
        self.errlog.flush()
        spec = self.write_spec([(name, mntns, argv)], os.path.join(self.work, "probe.spec"))
        try:
            (row,) = self.helper_run(["seq", "1", spec, name])
        except (RuntimeError, ValueError):
            return False
        return row[3] == "0"

    def add(self, name, argv, mntns="-", required=False):
        if shutil.which(argv[0]) is None:
            self.skip(name, f"{argv[0]} is not installed", required)
            return
        if not self.probe(name, mntns, argv):
            self.skip(name, f"a trial run failed (see {self.errlog_path})", required)
            return
        self.launchers.append((name, mntns, argv))

    def skip(self, name, reason, required):
        log(f"SKIP {name}: {reason}")
        self.skipped.append((name, reason, required))

    def setup_launchers(self):
        self.add("floor: fork+exec", ["/bin/true"], required=True)
        self.add("unshare -Urmpiu --fork", ["unshare", "-Urmpiu", "--fork", "/bin/true"])
        self.add("unshare -Urmpinuf", ["unshare", "-Urmpinuf", "/bin/true"])
        self.add("bubblewrap", ["bwrap"] + BWRAP_ARGS + ["/bin/true"])
        bundle, bundle_cg, origin = self.oci_bundles()
        ns = self.crun_ns.start() if shutil.which("crun") else None
        if shutil.which("crun") and ns is None:
            self.skip("crun", "could not prepare a mount namespace without cgroup2", False)
        elif ns is not None:
            self.add("crun", ["crun", "run", "-b", bundle, "bench-crun-{i}"], ns)
            self.add("crun +cgroup limits", ["crun", "run", "-b", bundle_cg, "bench-crun-{i}"], ns)
        self.add("runc", ["runc", "run", "-b", bundle, "bench-runc-{i}"])
        self.add("runc +cgroup limits", ["runc", "run", "-b", bundle_cg, "bench-runc-{i}"])
        self.oci_origin = origin
        for name, profile in STOCKADE_PROFILES:
            self.add(name, self.stockade_argv(profile), required=True)

    def oci_bundles(self):
        """crun/runc bundles: `stockade oci export` of the bench profiles when it works,
        else the hand-written equivalent in oci_bundle.py."""
        plain = os.path.join(self.work, "bundle")
        cgroup = os.path.join(self.work, "bundle-cgroup")
        ok = True
        for profile, d in (("equivalent.toml", plain), ("eq-cgroup.toml", cgroup)):
            r = subprocess.run([self.stockade, "oci", "export", os.path.join(PROFILES, profile),
                                "--bundle", d, "--", "/bin/true"],
                               capture_output=True, text=True)
            ok = ok and r.returncode == 0 and os.path.exists(os.path.join(d, "config.json"))
        if ok:
            return plain, cgroup, "`stockade oci export` of bench/profiles/equivalent.toml"
        shutil.rmtree(plain, ignore_errors=True)
        shutil.rmtree(cgroup, ignore_errors=True)
        oci_bundle.write_bundle(plain)
        oci_bundle.write_bundle(cgroup, with_cgroup_limits=True)
        return plain, cgroup, "hand-written bench/oci_bundle.py (stockade oci export not available)"

    def write_spec(self, launchers, path):
        with open(path, "w") as f:
            for name, mntns, argv in launchers:
                f.write("\t".join([name, mntns] + argv) + "\n")
        return path

    def helper_run(self, args):
        r = subprocess.run([self.helper] + args, stdout=subprocess.PIPE, stderr=self.errlog,
                           text=True, cwd=self.work, env=self.env)
        if r.returncode != 0:
            raise RuntimeError(f"launch {' '.join(args)} failed with status {r.returncode}")
        return [line.split("\t") for line in r.stdout.splitlines() if line]

    # -- measurements ------------------------------------------------------------------------

    def latency(self):
        rounds = 3 if self.smoke else self.args.rounds
        log(f"latency: {len(self.launchers)} launchers x {rounds} interleaved rounds")
        spec = self.write_spec(self.launchers, os.path.join(self.work, "latency.spec"))
        rows = self.helper_run(["interleave", str(rounds), spec])
        with open(os.path.join(self.out_dir, "latency.tsv"), "w") as f:
            f.write("launcher\tround\twall_ns\tuser_us\tsys_us\tmaxrss_kb\tstatus\n")
            f.writelines("\t".join(r) + "\n" for r in rows)
        self.latency_stats = report.latency_stats(rows, [n for n, _, _ in self.launchers])
        return self.latency_stats

    def throughput(self):
        count = 5 if self.smoke else 200
        wanted = ["floor: fork+exec", "unshare -Urmpinuf", "bubblewrap", "crun", "runc",
                  "stockade equivalent", "stockade strict, no cgroup", "stockade strict"]
        chosen = [x for x in self.launchers if x[0] in wanted]
        spec = self.write_spec(chosen, os.path.join(self.work, "seq.spec"))
        results = []
        for name, _, _ in chosen:
            log(f"throughput: {count} sequential launches of {name}")
            (row,) = self.helper_run(["seq", str(count), spec, name])
            results.append((name, int(row[1]), int(row[2]), int(row[3])))
        return results

    def concurrency(self):
        sizes = [2] if self.smoke else [2, 8, 32]
        reps = 1 if self.smoke else 5
        wanted = ["bubblewrap", "stockade equivalent", "stockade strict"]
        chosen = [x for x in self.launchers if x[0] in wanted]
        spec = self.write_spec(chosen, os.path.join(self.work, "batch.spec"))
        results = []
        for name, _, _ in chosen:
            before = leaks.snapshot(self.work, self.marker)
            for n in sizes:
                log(f"concurrency: {reps} x {n} concurrent launches of {name}")
                rows = self.helper_run(["batch", str(n), str(reps), spec, name])
                walls = [int(r[2]) for r in rows]
                failures = sum(int(r[3]) for r in rows)
                rss = max(int(r[4]) for r in rows)
                results.append((name, n, reps, walls, failures, rss))
            after = leaks.snapshot(self.work, self.marker)
            left = leaks.diff(before, after, self.work, self.marker)
            results.append((name, "leftovers", left))
        return results

    def cpu(self):
        """CPU time of the whole process tree of each launcher: `perf stat -e task-clock`
        follows every descendant, where wait4's rusage in the latency table only counts the
        processes a launcher reaps itself (it misses part of bubblewrap's sandbox). Rounds
        are interleaved like the latency run; one perf process per launch."""
        if self.smoke or shutil.which("perf") is None:
            return None
        rounds = 25
        samples = {name: [] for name, _, _ in self.launchers}
        log(f"cpu: perf stat task-clock, {len(self.launchers)} launchers x {rounds} rounds")
        for _ in range(rounds):
            for name, mntns, argv in self.launchers:
                argv = [a.replace("{i}", "perf") for a in argv]
                if mntns != "-":
                    argv = ["nsenter", f"--mount={mntns}", "--"] + argv
                r = subprocess.run(["perf", "stat", "-x,", "-e", "task-clock", "--"] + argv,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   text=True, cwd=self.work, env=self.env)
                if r.returncode != 0:
                    continue
                for line in r.stderr.splitlines():
                    f = line.split(",")
                    if len(f) > 2 and f[2].startswith("task-clock"):
                        try:
                            samples[name].append(float(f[0]))
                        except ValueError:
                            pass
        return [(name, statistics.median(v) if v else None, mntns != "-")
                for (name, mntns, _), v in zip(self.launchers, samples.values())]

    def hyperfine(self):
        """Cross-check of the helper's medians with hyperfine (not interleaved: each command
        runs all its iterations in a row, so expect it to drift more than the table above)."""
        if self.smoke or shutil.which("hyperfine") is None:
            return None
        wanted = ["floor: fork+exec", "bubblewrap", "stockade equivalent", "stockade strict"]
        chosen = [x for x in self.launchers if x[0] in wanted and x[1] == "-"]
        if not chosen:
            return None
        out = os.path.join(self.out_dir, "hyperfine.json")
        cmd = ["hyperfine", "-N", "--warmup", "5", "--runs", "50", "--export-json", out,
               "--style", "none"]
        for name, _, argv in chosen:
            cmd += ["-n", name, " ".join(argv)]
        log("cross-check with hyperfine")
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=self.errlog, cwd=self.work,
                           env=self.env)
        if r.returncode != 0:
            return None
        with open(out) as f:
            return json.load(f)["results"]

    def run(self):
        info = machine_info(self.stockade)
        self.setup_launchers()
        missing_required = [n for n, _, req in self.skipped if req]
        if missing_required and not self.launchers:
            log("nothing to measure")
            return 1
        lat = self.latency()
        failed = {n for n, s in lat.items() if s["failures"] > 0}
        self.sections.append(report.section_machine(info, self.oci_origin, self.smoke))
        self.sections.append(report.section_latency(lat, self.skipped))
        broken = []

        def section(title, measure, render):
            """One section; a bug in one must not lose the others' results."""
            try:
                result = measure()
                self.sections.append(render(result))
                return result
            except Exception as e:  # noqa: BLE001 - reported, and the exit status says so
                log(f"section {title} failed: {e!r}")
                self.sections.append(f"## {title}\n\nFAILED: {e!r}\n")
                broken.append(title)
                return None

        section("Throughput", self.throughput, report.section_throughput)
        conc = section("Concurrency", self.concurrency, report.section_concurrency) or []
        sc = section("Scaling", lambda: scaling.Scaling(self, self.smoke).run(),
                     report.section_scaling) or {"dims": {}, "failures": []}
        if not self.smoke:
            cpu = section("CPU cost", self.cpu, lambda c: report.section_cpu(c) if c else "")
            try:
                self.sections.insert(2, report.section_targets(lat, conc, sc, cpu))
            except Exception as e:  # noqa: BLE001
                log(f"section Targets failed: {e!r}")
                broken.append("Targets")
            section("Cross-check: hyperfine", self.hyperfine,
                    lambda hf: report.section_hyperfine(hf, lat) if hf else "")
        text = "\n".join(self.sections)
        print(text)
        with open(os.path.join(self.out_dir, "results.md"), "w") as f:
            f.write(text)
        log(f"report: {os.path.join(self.out_dir, 'results.md')}; launcher stderr: "
            f"{self.errlog_path}")
        # Exit status: 1 only when a launcher could not run at all (or stockade failed).
        bad = [n for n, _, req in self.skipped if req] + sorted(failed)
        bad += [r[0] for r in conc if r[1] != "leftovers" and r[4] > 0]
        bad += sc.get("failures", []) + [f"section {t}" for t in broken]
        if bad:
            log("FAILED: " + "; ".join(sorted(set(bad))))
            return 1
        return 0

    def close(self):
        self.crun_ns.stop()
        self.errlog.close()
        shutil.rmtree(self.work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--smoke", action="store_true",
                    help="a few iterations: check the benchmark runs; judges no timing")
    ap.add_argument("--rounds", type=int, default=150,
                    help="interleaved rounds of the latency run (default 150)")
    ap.add_argument("--stockade", required=True, help="the stockade binary")
    ap.add_argument("--helper", required=True, help="the compiled bench/launch.c")
    ap.add_argument("--compile-timer", help="examples/bench_compile (in-process load/compile)")
    ap.add_argument("--out", required=True, help="directory for results.md and raw samples")
    args = ap.parse_args()
    bench = Bench(args)
    try:
        return bench.run()
    finally:
        bench.close()


if __name__ == "__main__":
    sys.exit(main())
