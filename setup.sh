#!/usr/bin/env bash
# Sets up stockade on a fresh Debian/Ubuntu machine: system packages, build, install, and a
# first sandboxed command. Run as root (or with sudo available).
#   ./setup.sh            packages + build + install to /usr/local/bin + a demo run
#   ./setup.sh --deps     only the system packages (used by .ci/run)
set -euo pipefail
cd "$(dirname "$0")"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Build: libseccomp-dev, pkg-config. Tests: busybox-static (rootfs), uidmap (newuidmap),
# crun/runc (OCI differential tests), podman (nesting in a container), python3-jsonschema,
# qemu + debootstrap (cgroup v2 VM), tmux (terminal tests).
PACKAGES=(libseccomp-dev pkg-config build-essential busybox-static uidmap crun runc
          python3 python3-jsonschema qemu-system-x86 debootstrap e2fsprogs xz-utils
          bubblewrap hyperfine util-linux procps iproute2 curl openssl git podman tmux)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm (the npm-ci profile's test) only when no npm command is there: a nodejs package from
# NodeSource ships its own npm and conflicts with Debian's.
command -v npm >/dev/null || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
[ "${1:-}" = "--deps" ] && exit 0

# Static release binaries (see build-release.sh: a static stockade starts faster).
out="$(./build-release.sh)"
$SUDO install -m 0755 "$out/stockade" /usr/local/bin/stockade
# The small test daemon the example systemd units (examples/systemd/) use.
$SUDO install -m 0755 "$out/stockade-testd" /usr/local/bin/stockade-testd
echo "setup: installed /usr/local/bin/stockade and /usr/local/bin/stockade-testd"
echo "setup: running 'stockade run -- sh -c \"id; hostname; ls /\"' under builtin:strict"
/usr/local/bin/stockade run -- sh -c 'id; hostname; ls /'
