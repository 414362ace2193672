"""The OCI bundle crun and runc run in the benchmark, equivalent to bench/profiles/equivalent.toml.

Used until `stockade oci export` works: when it does, bench.py exports the bundle from the
profile itself, so the runtimes run exactly what stockade runs. This hand-written config says
the same thing: user, pid, net, ipc, uts, mount and cgroup namespaces; uid/gid 0 mapped to the
caller; a read-only root with the five read-only binds, /proc, a /dev tmpfs (the runtimes add
the standard device nodes) and a /tmp tmpfs; no capabilities, no_new_privs. ociVersion 1.0.2
because Debian 12's crun 1.8.1 refuses anything newer than 1.1.x.
"""

import json
import os


def write_bundle(bundle_dir, with_cgroup_limits=False):
    rootfs = os.path.join(bundle_dir, "rootfs")
    for d in ("usr", "lib", "lib64", "bin", "etc", "proc", "dev", "tmp"):
        os.makedirs(os.path.join(rootfs, d), exist_ok=True)
    uid, gid = os.getuid(), os.getgid()
    ro_bind = ["rbind", "ro", "nosuid", "nodev"]
    mounts = [
        {"destination": "/proc", "type": "proc", "source": "proc",
         "options": ["nosuid", "nodev", "noexec"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "nodev", "mode=1777"]},
    ]
    for d in ("/usr", "/lib", "/lib64", "/bin", "/etc"):
        mounts.append({"destination": d, "type": "bind", "source": d, "options": ro_bind})
    linux = {
        "namespaces": [{"type": t} for t in
                       ("pid", "network", "ipc", "uts", "mount", "user", "cgroup")],
        "uidMappings": [{"containerID": uid, "hostID": uid, "size": 1}],
        "gidMappings": [{"containerID": gid, "hostID": gid, "size": 1}],
        "maskedPaths": [],
        "readonlyPaths": [],
    }
    if with_cgroup_limits:
        linux["resources"] = {"memory": {"limit": 1 << 30}, "pids": {"limit": 256}}
    config = {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": uid, "gid": gid},
            "args": ["/bin/true"],
            "env": ["PATH=/usr/bin:/bin"],
            "cwd": "/",
            "capabilities": {"bounding": [], "effective": [], "inheritable": [],
                             "permitted": [], "ambient": []},
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "sandbox",
        "mounts": mounts,
        "linux": linux,
    }
    with open(os.path.join(bundle_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    return bundle_dir
