"""How stockade's own cost grows with the size of the work: mounts, seccomp rules, Landlock
paths and the length of an `extends` chain. For each size, `stockade check`, `stockade plan`
and `stockade run` (of /bin/true) are timed, interleaved across sizes; for mounts, bubblewrap
with the same number of tmpfs mounts runs alongside as the reference per-mount cost.

Every generated profile extends bench/profiles/equivalent.toml, so size 1 of every dimension
is directly comparable to the "stockade equivalent" launcher of the latency table.
"""

import os

import report

EQUIVALENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "profiles", "equivalent.toml")

# Syscalls the arg-filtered seccomp rules are spread over (all harmless for /bin/true).
SECCOMP_SYSCALLS = ["ioctl", "fcntl", "prctl", "socket", "setsockopt", "personality",
                    "madvise", "mremap"]


def header(desc, extends):
    return f'version = 1\ndescription = "{desc}"\nextends = ["{extends}"]\n'


class Scaling:
    def __init__(self, bench, smoke):
        self.b = bench
        self.smoke = smoke
        self.dir = os.path.join(bench.work, "scaling")
        os.makedirs(self.dir, exist_ok=True)
        self.rounds = 1 if smoke else 20

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    # -- generated profiles -------------------------------------------------------------------

    def mounts(self, n):
        text = header(f"{n} tmpfs mounts", EQUIVALENT)
        text += "".join(f'\n[[mount]]\ntype = "tmpfs"\ntarget = "/scale/m{k}"\n' for k in range(n))
        return self.write(f"mounts-{n}.toml", text)

    def seccomp(self, n):
        text = header(f"{n} seccomp rules", EQUIVALENT)
        text += '\n[seccomp]\npreset = "none"\ndefault-action = "allow"\n'
        for k in range(n):
            sc = SECCOMP_SYSCALLS[k % len(SECCOMP_SYSCALLS)]
            text += (f'\n[[seccomp.rule]]\nsyscalls = ["{sc}"]\naction = "errno:EPERM"\n'
                     f'args = [{{ index = 1, op = "eq", value = {0x7000 + k} }}]\n')
        return self.write(f"seccomp-{n}.toml", text)

    def landlock(self, n):
        tree = os.path.join(self.dir, "landlock-tree")
        for k in range(n):
            os.makedirs(os.path.join(tree, f"d{k}"), exist_ok=True)
        paths = ", ".join(f'"/scale/d{k}"' for k in range(n))
        text = header(f"{n} Landlock paths", EQUIVALENT)
        text += (f'\n[[mount]]\ntype = "bind"\nsource = "{tree}"\ntarget = "/scale"\n'
                 f'read-only = true\n'
                 f'\n[landlock]\ncompat = "required"\nread = ["/usr", "/etc", {paths}]\n'
                 f'exec = ["/usr", "/bin", "/lib", "/lib64"]\nwrite = ["/tmp", "/dev"]\n')
        return self.write(f"landlock-{n}.toml", text)

    def fanout(self, n):
        """One profile extending equivalent.toml and n more files, each setting a variable:
        n+2 files in all (chains stop at stockade's depth limit of 32)."""
        for k in range(n):
            self.write(f"part-{n}-{k}.toml",
                       f'version = 1\n[env]\nset = {{ BENCH_PART_{k} = "{k}" }}\n')
        parts = ", ".join(f'"part-{n}-{k}.toml"' for k in range(n))
        return self.write(f"fanout-{n}.toml",
                          f'version = 1\nextends = ["{EQUIVALENT}", {parts}]\n')

    def extends(self, n):
        """A chain of n files: chain-n-0 extends chain-n-1 ... extends equivalent.toml."""
        for k in reversed(range(n)):
            parent = EQUIVALENT if k == n - 1 else f"chain-{n}-{k + 1}.toml"
            text = header(f"link {k} of {n}", parent)
            text += f'\n[env]\nset = {{ BENCH_LINK_{k} = "{k}" }}\n'
            self.write(f"chain-{n}-{k}.toml", text)
        return os.path.join(self.dir, f"chain-{n}-0.toml")

    # -- measurement --------------------------------------------------------------------------

    def dimension(self, dim, sizes, make, bwrap_mounts=False):
        s = self.b.stockade
        launchers = []
        profiles = {}
        for n in sizes:
            p = make(n)
            profiles[n] = p
            launchers.append((f"{dim} {n} check", "-", [s, "check", p]))
            launchers.append((f"{dim} {n} plan", "-", [s, "plan", p]))
            launchers.append((f"{dim} {n} run", "-", [s, "run", p, "--", "/bin/true"]))
            if bwrap_mounts and any(x[0] == "bubblewrap" for x in self.b.launchers):
                extra = []
                for k in range(n):
                    extra += ["--tmpfs", f"/scale/m{k}"]
                bwrap = [a for a in self.b.launchers if a[0] == "bubblewrap"][0][2]
                launchers.append((f"{dim} {n} bwrap", "-", bwrap[:-1] + extra + ["/bin/true"]))
        spec = self.b.write_spec(launchers, os.path.join(self.b.work, f"scale-{dim}.spec"))
        report.log(f"scaling: {dim} {sizes}, {self.rounds} interleaved rounds")
        rows = self.b.helper_run(["interleave", str(self.rounds), spec])
        stats = report.latency_stats(rows, [n for n, _, _ in launchers])
        inproc = self.in_process(list(profiles.values()))
        out = {}
        for n in sizes:
            out[n] = {kind: stats.get(f"{dim} {n} {kind}")
                      for kind in ("check", "plan", "run", "bwrap")}
            out[n]["load_us"], out[n]["compile_us"] = inproc.get(profiles[n], (None, None))
        return out

    def in_process(self, profiles):
        """load and compile times without process startup (examples/bench_compile.rs)."""
        tool = self.b.args.compile_timer
        if not tool or not os.path.exists(tool):
            return {}
        import subprocess
        r = subprocess.run([tool, "-n", "3" if self.smoke else "15"] + profiles,
                           capture_output=True, text=True)
        out = {}
        for line in r.stdout.splitlines():
            f = line.split("\t")
            if len(f) == 4:
                out[f[0]] = (int(f[1]), int(f[2]))
        return out

    def run(self):
        if self.smoke:
            dims = [("mounts", [1, 10], self.mounts, True),
                    ("seccomp rules", [0, 10], self.seccomp, False),
                    ("landlock paths", [1, 10], self.landlock, False),
                    ("extends chain", [1, 10], self.extends, False),
                    ("extends files", [1, 10], self.fanout, False)]
        else:
            dims = [("mounts", [1, 10, 100, 1000], self.mounts, True),
                    ("seccomp rules", [0, 10, 100, 400], self.seccomp, False),
                    ("landlock paths", [1, 10, 100, 200], self.landlock, False),
                    ("extends chain", [1, 10, 30], self.extends, False),
                    ("extends files", [1, 10, 100], self.fanout, False)]
        result = {"dims": {}, "failures": []}
        for dim, sizes, make, bw in dims:
            res = self.dimension(dim.replace(" ", "-"), sizes, make, bw)
            result["dims"][dim] = res
            for n, kinds in res.items():
                for kind, st in kinds.items():
                    if isinstance(st, dict) and st["failures"]:
                        result["failures"].append(f"{dim} {n} {kind}")
        return result
