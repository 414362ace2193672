#!/usr/bin/env bash
# Boots the test VM (tests/vm/image.sh builds it) once, runs a command in it as root under
# systemd, in the repository shared at the same path over 9p, streams its output (stdout
# and stderr merged) and exits with its status: 124 on timeout, 125 when the VM failed.
#   tests/vm/boot.sh [--timeout SECS] -- COMMAND [ARGS...]
# The root disk is a snapshot: every boot starts from the clean image.
# KVM is used when the CPU offers vmx/svm and /dev/kvm is usable; else TCG (~15-20 s boot).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
timeout=1500
while [ $# -gt 0 ]; do
  case "$1" in
    --timeout) timeout=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "vm-boot: unknown argument $1" >&2; exit 125 ;;
  esac
done
[ $# -gt 0 ] || { echo "vm-boot: no command" >&2; exit 125; }

image=$("$repo/tests/vm/image.sh") || exit 125
job=$(mktemp -d "${TMPDIR:-/tmp}/stockade-vm-job.XXXXXX")
qemu_pid=
cleanup() {
  if [ -n "$qemu_pid" ]; then kill "$qemu_pid" 2>/dev/null || true; wait "$qemu_pid" 2>/dev/null || true; fi
  rm -rf "$job"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

printf 'REPO_DIR=%q\n' "$repo" > "$job/env"
{ printf 'exec'; printf ' %q' "$@"; echo; } > "$job/script"
: > "$job/output"

if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then
  accel=(-accel kvm -cpu host)
else
  # Without AVX glibc picks string functions that TCG emulates much faster.
  accel=(-accel tcg,thread=multi -cpu Nehalem)
fi
# The snapshot overlay of the root disk goes to TMPDIR: the job directory.
TMPDIR=$job qemu-system-x86_64 -machine pc "${accel[@]}" -smp 2 -m 2048 \
  -nodefaults -no-user-config -display none -no-reboot \
  -serial "file:$job/console" \
  -kernel "$image/vmlinuz" -initrd "$image/initrd" \
  -append "root=/dev/vda console=ttyS0 quiet loglevel=3 panic=-1 systemd.unified_cgroup_hierarchy=1 systemd.show_status=false" \
  -drive "file=$image/root.img,format=raw,if=virtio,snapshot=on" \
  -fsdev "local,id=job,path=$job,security_model=none" -device virtio-9p-pci,fsdev=job,mount_tag=job \
  -fsdev "local,id=repo,path=$repo,security_model=none,multidevs=remap" -device virtio-9p-pci,fsdev=repo,mount_tag=repo \
  -device virtio-rng-pci < /dev/null > "$job/qemu.log" 2>&1 &
qemu_pid=$!
tail -n +1 -f -s 0.3 --pid="$qemu_pid" "$job/output" &
tail_pid=$!
end=$((SECONDS + timeout))
while kill -0 "$qemu_pid" 2>/dev/null; do
  if [ "$SECONDS" -ge "$end" ]; then
    echo "vm-boot: timeout after ${timeout}s ($( [ -e "$job/booted" ] && echo "the command was still running" || echo "the VM did not boot"))" >&2
    tail -n 20 "$job/console" >&2 || true
    exit 124
  fi
  sleep 0.3
done
wait "$qemu_pid" 2>/dev/null || true
qemu_pid=
wait "$tail_pid" 2>/dev/null || true
status=$(cat "$job/status" 2>/dev/null || true)
case "$status" in
  '' | *[!0-9]*)
    echo "vm-boot: the VM stopped without the command's status; console and qemu output:" >&2
    tail -n 30 "$job/console" "$job/qemu.log" >&2 || true
    exit 125 ;;
esac
exit "$status"
