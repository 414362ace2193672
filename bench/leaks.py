"""What a launcher may leave behind on the host: mounts, cgroups, temporary files, runtime
state and processes. `snapshot` before, `snapshot` after, `diff` names what appeared.

The machine is shared: another engineer's test may create a cgroup or a /tmp entry during the
run. A leftover is therefore reported with its name, so it can be attributed, and only things
that appeared (not things that went away) count.
"""

import os
import time

TEMP_DIRS = ["/tmp", "/var/tmp", "/dev/shm", "/run", "/run/crun", "/run/runc", "/run/user"]
CGROUP_ROOT = "/sys/fs/cgroup"
CGROUP_DEPTH = 4


def _mounts():
    out = set()
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                sep = fields.index("-")
                out.add(f"{fields[4]} ({fields[sep + 1]})")
    except (OSError, ValueError):
        pass
    return out


def _cgroups():
    out = set()
    base_depth = CGROUP_ROOT.count("/")
    for root, dirs, _ in os.walk(CGROUP_ROOT):
        if root.count("/") - base_depth >= CGROUP_DEPTH:
            dirs[:] = []
        out.add(root)
    return out


def _temp(work):
    out = set()
    for d in TEMP_DIRS:
        try:
            for e in os.listdir(d):
                p = os.path.join(d, e)
                if p != work:
                    out.add(p)
        except OSError:
            pass
    return out


def _processes(marker):
    """Processes still carrying the benchmark's environment marker: every launcher process
    inherits it (a payload whose environment was cleared has exited long before). Matching
    on the marker rather than on names keeps other users' sandboxes on this shared machine
    out of the report."""
    out = set()
    needle = marker.encode()
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if needle not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        out.add(f"pid {pid} ({comm})")
    return out


def snapshot(work, marker):
    return {
        "mounts": _mounts(),
        "cgroups": _cgroups(),
        "temp files": _temp(work),
        "processes": _processes(marker),
    }


def diff(before, after, work, marker, settle=1.0):
    """{kind: sorted list of what appeared}; empty when nothing was left behind.

    What appeared is looked at again after `settle` seconds and only what is still there
    counts: other users' compilers and tests create short-lived /tmp files and cgroups on
    this shared machine, and a launcher whose cleanup finishes a moment after its exit has
    not left anything behind either."""
    new = {kind: items - before.get(kind, set()) for kind, items in after.items()}
    if any(new.values()):
        time.sleep(settle)
        again = snapshot(work, marker)
        new = {kind: items & again[kind] for kind, items in new.items()}
    return {kind: sorted(items) for kind, items in new.items() if items}
