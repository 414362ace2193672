"""Statistics and the markdown report of the benchmark."""

import statistics
import sys

FLOOR = "floor: fork+exec"
BWRAP = "bubblewrap"
CRUN = "crun"
CRUN_CG = "crun +cgroup limits"
UNSHARE_NET = "unshare -Urmpinuf"
EQUIV = "stockade equivalent"
STRICT_NOCG = "stockade strict, no cgroup"
STRICT = "stockade strict"


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def quantile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    pos = q * (len(sorted_values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def latency_stats(rows, order):
    """rows from `launch interleave` → {name: stats}, successful launches only."""
    by = {n: [] for n in order}
    fails = {n: 0 for n in order}
    for name, _round, wall, user, sys_, rss, status in rows:
        if status != "0":
            fails[name] += 1
            continue
        by[name].append((int(wall) / 1e6, (int(user) + int(sys_)) / 1e3, int(rss) / 1024))
    out = {}
    for n in order:
        samples = by[n]
        walls = sorted(s[0] for s in samples)
        out[n] = {
            "n": len(samples),
            "failures": fails[n],
            "median": statistics.median(walls) if walls else float("nan"),
            "p25": quantile(walls, 0.25),
            "p75": quantile(walls, 0.75),
            "p90": quantile(walls, 0.90),
            "cpu": statistics.median(s[1] for s in samples) if samples else float("nan"),
            "rss": max(s[2] for s in samples) if samples else float("nan"),
            "rss_median": statistics.median(s[2] for s in samples) if samples else float("nan"),
        }
    return out


def ms(x):
    return "-" if x != x else f"{x:.2f}"


def ratio(a, b):
    if not a or not b or a != a or b != b or b == 0:
        return "-"
    return f"{a / b:.2f}x"


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def section_machine(info, oci_origin, smoke):
    rows = [(k, v) for k, v in info] + [("crun/runc bundle", oci_origin)]
    mode = "SMOKE RUN (a few iterations; timings are not meaningful)\n\n" if smoke else ""
    return "## Machine and tools\n\n" + mode + table(["", ""], rows)


def section_latency(lat, skipped):
    def med(name):
        return lat.get(name, {}).get("median")

    rows = []
    for name, s in lat.items():
        rows.append((name, ms(s["median"]), f"{ms(s['p25'])}–{ms(s['p75'])}", ms(s["p90"]),
                     ms(s["cpu"]), f"{s['rss_median']:.1f} / {s['rss']:.1f}",
                     ratio(s["median"], med(FLOOR)), ratio(s["median"], med(BWRAP)),
                     ratio(s["median"], med(CRUN)),
                     f"{s['n']}" + (f" ({s['failures']} FAILED)" if s["failures"] else "")))
    text = ("## Launch latency of /bin/true (interleaved)\n\n"
            "Wall time from fork to reaped exit, in ms; reaped CPU = user+sys of the launcher and "
            "the descendants it reaped (wait4 rusage: misses processes a launcher does not wait "
            "for, e.g. part of bubblewrap's sandbox; see the perf stat section for whole-tree "
            "CPU); RSS = peak RSS (ru_maxrss) of the launcher, median / max, MiB.\n\n")
    text += table(["launcher", "median", "p25–p75", "p90", "reaped CPU", "RSS MiB", "×floor",
                   "×bwrap", "×crun", "runs"], rows)
    for name, reason, _ in skipped:
        text += f"\nskipped: {name}: {reason}"
    return text + "\n"


def section_throughput(results):
    rows = [(name, count, f"{wall / 1e9:.2f}", f"{count / (wall / 1e9):.0f}",
             f"{wall / 1e6 / count:.2f}", failures or "0")
            for name, count, wall, failures in results]
    return ("## Throughput: back-to-back sequential launches\n\n"
            + table(["launcher", "launches", "total s", "launches/s", "ms/launch", "failures"],
                    rows))


def section_concurrency(results):
    rows = []
    leftovers = []
    for r in results:
        if r[1] == "leftovers":
            name, _, left = r
            leftovers.append(f"- {name}: " + ("nothing left behind (mounts, cgroups, temp "
                                              "files, runtime state, processes)" if not left
                                              else "LEFT BEHIND: " + "; ".join(
                                                  f"{k}: {', '.join(v[:5])}"
                                                  + (f" (+{len(v) - 5})" if len(v) > 5 else "")
                                                  for k, v in left.items())))
            continue
        name, n, reps, walls, failures, rss = r
        med = statistics.median(walls) / 1e6
        rows.append((name, n, reps, ms(med), ms(med / n), f"{rss / 1024:.1f}", failures))
    return ("## Concurrency: N launches started at once\n\n"
            + table(["launcher", "N", "batches", "median batch ms", "ms per launch",
                     "max RSS MiB", "failures"], rows)
            + "\nChecked before/after each launcher's batches:\n" + "\n".join(leftovers) + "\n")


def growth_note(sizes, values):
    """Per-unit cost over the range; flags growth clearly worse than linear."""
    pts = [(n, v) for n, v in zip(sizes, values) if v == v]
    if len(pts) < 3:
        return ""
    (n0, v0), (n1, v1), (n2, v2) = pts[0], pts[-2], pts[-1]
    # Linear: the last step costs about what the per-unit cost up to the point before it
    # predicts. Flag it when it costs over twice that and the excess is beyond this host's
    # noise (2 ms, or 20 % of the value), so one slow sample at a small size does not count.
    before = max((v1 - v0) / (n1 - n0), 0.0)
    predicted = before * (n2 - n1)
    excess = (v2 - v1) - 2 * predicted
    worse = excess > max(2.0, 0.2 * v2)
    per_unit = f"{1000 * (v2 - v0) / (n2 - n0):.1f} µs/unit"
    return f"{per_unit}, {v2 - v0:+.2f} ms overall" + ("; SUPERLINEAR" if worse else "")


def section_scaling(sc):
    text = "## Scaling of stockade's own cost\n\nMedians in ms; `check` and `plan` are whole " \
           "processes (startup included), `run` launches /bin/true.\n\n"
    for dim, res in sc["dims"].items():
        sizes = list(res)
        has_bwrap = any(res[n]["bwrap"] for n in sizes)
        has_inproc = any(res[n].get("load_us") is not None for n in sizes)
        head = [dim, "check", "plan", "run"] + (["bwrap (same tmpfs mounts)"] if has_bwrap else [])
        head += ["in-process load", "in-process compile"] if has_inproc else []
        rows = []
        for n in sizes:
            k = res[n]
            row = [n] + [ms(k[x]["median"]) if k[x] else "-" for x in ("check", "plan", "run")]
            if has_bwrap:
                row.append(ms(k["bwrap"]["median"]) if k["bwrap"] else "-")
            if has_inproc:
                row += [ms(k["load_us"] / 1000) if k.get("load_us") is not None else "-",
                        ms(k["compile_us"] / 1000) if k.get("compile_us") is not None else "-"]
            rows.append(row)
        text += f"### {dim}\n\n" + table(head, rows)
        notes = []
        for kind in ("check", "plan", "run", "bwrap", "load_us", "compile_us"):
            if kind.endswith("_us"):
                vals = [res[n][kind] / 1000 if res[n].get(kind) is not None else float("nan")
                        for n in sizes]
            else:
                vals = [res[n][kind]["median"] if res[n][kind] else float("nan") for n in sizes]
            note = growth_note(sizes, vals)
            if note:
                label = {"load_us": "in-process load", "compile_us": "in-process compile"}
                notes.append(f"- {label.get(kind, kind)}: {note}")
        text += ("\n" + "\n".join(notes) + "\n\n") if notes else "\n"
    return text


def section_targets(lat, conc, sc, cpu=None):
    def med(name):
        s = lat.get(name)
        return s["median"] if s and s["n"] else None

    rows = []

    def target(desc, value, limit, ok):
        rows.append((desc, value, limit, "-" if ok is None else ("PASS" if ok else "MISS")))

    eq, bw, un, cr = med(EQUIV), med(BWRAP), med(UNSHARE_NET), med(CRUN_CG) or med(CRUN)
    sn, st = med(STRICT_NOCG), med(STRICT)
    target("by wall time: equivalent isolation / bubblewrap", ratio(eq, bw), "≤ 0.60x",
           eq / bw <= 0.6 if eq and bw else None)
    target("by wall time: equivalent isolation − unshare -Urmpinuf",
           f"{eq - un:+.2f} ms" if eq and un else "-",
           "≤ 1.5 ms", eq - un <= 1.5 if eq and un else None)
    target("by wall time: strict (seccomp, Landlock, caps; no cgroup) / bubblewrap",
           ratio(sn, bw), "≤ 0.75x",
           sn / bw <= 0.75 if sn and bw else None)
    crun_name = CRUN_CG if med(CRUN_CG) else CRUN
    target(f"by wall time: strict with cgroup limits / {crun_name}", ratio(st, cr), "≤ 0.40x",
           st / cr <= 0.4 if st and cr else None)
    if cpu:
        c = {n: v for n, v, _ in cpu}
        ceq, cbw, cun = c.get(EQUIV), c.get(BWRAP), c.get(UNSHARE_NET)
        csn, cst, ccr = c.get(STRICT_NOCG), c.get(STRICT), c.get(CRUN_CG) or c.get(CRUN)
        target("by CPU: equivalent isolation / bubblewrap", ratio(ceq, cbw), "≤ 0.60x",
               ceq / cbw <= 0.6 if ceq and cbw else None)
        target("by CPU: equivalent isolation − unshare -Urmpinuf",
               f"{ceq - cun:+.2f} ms" if ceq and cun else "-", "≤ 1.5 ms",
               ceq - cun <= 1.5 if ceq and cun else None)
        target("by CPU: strict, no cgroup / bubblewrap", ratio(csn, cbw), "≤ 0.75x",
               csn / cbw <= 0.75 if csn and cbw else None)
        target("by CPU: strict with cgroup limits / crun", ratio(cst, ccr), "≤ 0.40x",
               cst / ccr <= 0.4 if cst and ccr else None)
    rss_eq = lat.get(EQUIV, {}).get("rss_median")
    rss_st = lat.get(STRICT, {}).get("rss_median")
    rss_bw = lat.get(BWRAP, {}).get("rss_median")
    for name, rss in (("equivalent", rss_eq), ("strict", rss_st)):
        target(f"peak RSS, stockade {name} vs bubblewrap",
               f"{rss:.2f} vs {rss_bw:.2f} MiB" if rss and rss_bw else "-", "≤ bwrap",
               rss <= rss_bw if rss and rss_bw else None)
    mounts = sc["dims"].get("mounts", {})
    if 1000 in mounts and mounts[1000]["check"] and mounts[1]["check"]:
        c1000, c1 = mounts[1000]["check"]["median"], mounts[1]["check"]["median"]
        target("`stockade check` of a 1000-mount profile (whole process)", f"{c1000:.2f} ms",
               "< 5 ms", c1000 < 5)
        m = mounts[1000]
        if m.get("compile_us") is not None:
            target("compile (Profile → Plan) of a 1000-mount profile, in-process",
                   f"{m['compile_us'] / 1000:.2f} ms", "< 5 ms", m["compile_us"] < 5000)
            target("load (read, parse, extends, merge) of it, in-process",
                   f"{m['load_us'] / 1000:.2f} ms", "(< 5 ms with compile)",
                   m["load_us"] + m["compile_us"] < 5000)
    if 1000 in mounts and mounts[1000]["run"] and mounts[1]["run"] and mounts[1]["bwrap"]:
        s = (mounts[1000]["run"]["median"] - mounts[1]["run"]["median"]) / 999 * 1000
        b = (mounts[1000]["bwrap"]["median"] - mounts[1]["bwrap"]["median"]) / 999 * 1000
        target("launch cost per extra tmpfs mount, stockade vs bwrap", f"{s:.1f} vs {b:.1f} µs",
               "close to bwrap", s <= 1.25 * b)
    for r in conc:
        if r[1] == "leftovers" and r[0].startswith("stockade"):
            target(f"{r[0]}: nothing left behind after concurrent runs",
                   "clean" if not r[2] else ", ".join(r[2]), "clean", not r[2])
        elif r[1] == 32 and r[0].startswith("stockade"):
            target(f"{r[0]}: 32 concurrent launches", f"{r[4]} failures", "0", r[4] == 0)
    return "## Targets (issue 7)\n\n" + table(["target", "measured", "goal", ""], rows)


def section_hyperfine(results, lat):
    rows = []
    for r in results:
        name = r["command"]
        helper = lat.get(name, {}).get("median")
        rows.append((name, ms(r["median"] * 1000), ms(r["mean"] * 1000),
                     ms(r["stddev"] * 1000), ms(helper) if helper else "-"))
    return ("## Cross-check: hyperfine -N (50 runs each, not interleaved)\n\n"
            + table(["launcher", "median", "mean", "stddev", "launch helper median"], rows))


def section_cpu(results):
    base = {n: v for n, v, _ in results}
    rows = [(name + (" (via nsenter)" if via else ""), ms(v) if v else "-",
             ratio(v, base.get(FLOOR)), ratio(v, base.get(BWRAP)), ratio(v, base.get(CRUN)))
            for name, v, via in results]
    return ("## CPU cost: perf stat task-clock of the whole process tree (interleaved, median ms)\n\n"
            "Less sensitive to the machine's load than wall time; counts every descendant "
            "(crun: including nsenter).\n\n"
            + table(["launcher", "CPU ms", "×floor", "×bwrap", "×crun"], rows))
