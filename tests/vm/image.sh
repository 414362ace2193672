#!/usr/bin/env bash
# Builds (or finds) the test VM's image: Debian bookworm from the host's own apt mirror,
# kernel 6.1, systemd as PID 1 on a unified cgroup v2 hierarchy, and a job unit that runs
# what tests/vm/boot.sh hands in over a 9p share. Prints the image directory.
#   tests/vm/image.sh            reuse the cached image for this recipe, else build it
#   tests/vm/image.sh --rebuild  build even when cached
# Cache: $STOCKADE_VM_CACHE (default /var/tmp/stockade-vm), one directory per recipe hash
# (this file), so an edited recipe never boots a stale image. Building needs root
# (debootstrap, chroot); about 70 s with a warm .deb cache on a 2-core machine.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${STOCKADE_VM_CACHE:-/var/tmp/stockade-vm}
suite=bookworm
rebuild=0
[ "${1:-}" = "--rebuild" ] && rebuild=1

log() { echo "vm-image: $*" >&2; }
fail() { echo "vm-image: error: $*" >&2; exit 1; }

recipe=$(sha256sum "$here/image.sh" | cut -c1-16)
dir="$cache/$suite-$recipe"
complete() { [ -f "$dir/done" ]; }
if [ "$rebuild" = 0 ] && complete; then echo "$dir"; exit 0; fi

[ "$(id -u)" = 0 ] || fail "building the VM image needs root (debootstrap and chroot)"
for tool in debootstrap mkfs.ext4 flock busybox; do
  command -v "$tool" >/dev/null || fail "$tool is missing (./setup.sh --deps installs it)"
done

# The mirror: the first enabled deb source for $suite with component main, from the host's
# apt configuration (deb822 .sources, then one-line .list files). CI machines reach only
# their Debian mirror, so the image must come from exactly what apt uses here.
mirror_from_sources() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    # Paragraphs separated by blank lines; fields may continue on indented lines.
    awk -v want="$suite" '
      BEGIN { RS = ""; FS = "\n" }
      {
        types = suites = comps = uris = ""; enabled = "yes"; field = ""
        for (i = 1; i <= NF; i++) {
          line = $i
          if (line ~ /^[ \t]*#/) continue
          if (line ~ /^[ \t]/) { value = line } else {
            field = tolower(line); sub(/:.*/, "", field)
            value = line; sub(/^[^:]*:/, "", value)
          }
          if (field == "types") types = types " " value
          else if (field == "suites") suites = suites " " value
          else if (field == "components") comps = comps " " value
          else if (field == "uris") uris = uris " " value
          else if (field == "enabled") enabled = value
        }
        if (enabled ~ /no/) next
        if ((types " ") !~ / deb / || (comps " ") !~ / main /) next
        if ((suites " ") !~ (" " want " ")) next
        split(uris, u, " "); if (u[1] != "") { print u[1]; exit }
      }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    # deb [opts] URI SUITE COMPONENT...
    sed -e 's/\[[^]]*\]//' "$f" | awk -v want="$suite" '
      $1 == "deb" && $3 == want { for (i = 4; i <= NF; i++) if ($i == "main") { print $2; exit } }'
  done
}
mirror=${STOCKADE_VM_MIRROR:-$(mirror_from_sources | head -n1)}
[ -n "$mirror" ] || fail "no apt source for $suite (main) on this host; set STOCKADE_VM_MIRROR"

mkdir -p "$cache/debs"
exec 8>"$cache/lock"
flock 8   # one build at a time; a concurrent caller then finds the image done
if [ "$rebuild" = 0 ] && complete; then echo "$dir"; exit 0; fi

build=$(mktemp -d "$cache/build-XXXXXX")
root="$build/root"
buildlog="$build/log"
umount_under() {
  # No mount left is the usual case: grep's status 1 must not end the script (pipefail, -e).
  { grep -o " $root[^ ]*" /proc/self/mounts || true; } | sort -r | while read -r m; do umount -l "$m" || true; done
}
finish() {
  umount_under
  if grep -q " $root" /proc/self/mounts; then log "mounts left under $root; keeping it"; return 0; fi
  # A lazily detached mount can keep a directory busy for a moment; the image is built by
  # now, so a leftover build directory is logged, never a failure.
  rm -rf --one-file-system "$build" 2>/dev/null || { sleep 2; rm -rf --one-file-system "$build"; } ||
    log "could not remove $build"
  return 0
}
trap finish EXIT
quietly() {   # quietly WHAT CMD...: output to the build log, its tail on failure
  local what=$1; shift
  log "$what"
  "$@" >>"$buildlog" 2>&1 || { tail -n 25 "$buildlog" >&2; fail "$what failed"; }
}
chrooted() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }

start=$SECONDS
log "building $suite from $mirror into $dir"
quietly "debootstrap" debootstrap --variant=minbase --cache-dir="$cache/debs" \
  --include=systemd,systemd-sysv,dbus,udev,kmod,procps,iproute2,busybox-static,uidmap,curl \
  "$suite" "$root" "$mirror"

# The kernel without an initramfs-tools image (the small one below boots faster), and no
# daemon started inside the chroot.
# update-initramfs is diverted to a no-op for the kernel's install (its hooks would spend
# ~20 s building an image nobody boots).
chrooted dpkg-divert --local --rename --add /usr/sbin/update-initramfs >>"$buildlog" 2>&1
ln -sf /bin/true "$root/usr/sbin/update-initramfs"
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"; chmod +x "$root/usr/sbin/policy-rc.d"
mount --bind "$cache/debs" "$root/var/cache/apt/archives"
mount -t proc proc "$root/proc"
quietly "kernel" chrooted apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold linux-image-amd64
umount_under
rm -f "$root/usr/sbin/policy-rc.d"
kver=$(ls "$root/lib/modules" | sort -V | tail -n1)
[ -f "$root/boot/vmlinuz-$kver" ] || fail "no kernel installed"

log "configuring systemd, the test user and the job unit"
echo stockade-vm > "$root/etc/hostname"
printf '127.0.0.1 localhost stockade-vm\n::1 localhost\n' > "$root/etc/hosts"
echo "/dev/vda / ext4 rw,noatime 0 1" > "$root/etc/fstab"
: > "$root/etc/resolv.conf"
chrooted systemd-machine-id-setup >>"$buildlog" 2>&1
# Every unit started costs seconds under emulation: no gettys, timers or first-boot wizard.
for u in systemd-firstboot.service getty.target getty@.service serial-getty@.service console-getty.service \
         apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer \
         systemd-pstore.service modprobe@drm.service modprobe@loop.service modprobe@dm_mod.service; do
  ln -sf /dev/null "$root/etc/systemd/system/$u"
done
mkdir -p "$root/etc/systemd/system-generators" "$root/etc/systemd/journald.conf.d"
for g in systemd-gpt-auto-generator systemd-cryptsetup-generator systemd-sysv-generator \
         systemd-getty-generator systemd-hibernate-resume-generator systemd-veritysetup-generator; do
  ln -sf /dev/null "$root/etc/systemd/system-generators/$g"
done
printf '[Journal]\nStorage=volatile\n' > "$root/etc/systemd/journald.conf.d/vm.conf"
chrooted useradd --create-home --uid 1000 --user-group --shell /bin/bash tester >>"$buildlog" 2>&1
echo "tester:100000:65536" > "$root/etc/subuid"; cp "$root/etc/subuid" "$root/etc/subgid"

# The job runner: the host shares a directory tagged "job" holding `env` (the shared
# repository's path) and `script`; the runner mounts the repository share (tag "repo") at
# that path, runs the script there, and leaves `output` and `status` in the job share.
install -d "$root/usr/local/libexec"
cat > "$root/usr/local/libexec/stockade-vm-job" <<'RUNNER'
#!/bin/bash
set -u
opts=trans=virtio,version=9p2000.L,msize=262144
mkdir -p /run/job && mount -t 9p -o "$opts,cache=none" job /run/job || exit 1
. /run/job/env
mkdir -p "$REPO_DIR" && mount -t 9p -o "$opts,cache=mmap" repo "$REPO_DIR" || { echo 125 > /run/job/status; exit 0; }
echo up > /run/job/booted
cd "$REPO_DIR" && env -u NOTIFY_SOCKET -u JOURNAL_STREAM HOME=/root LANG=C.UTF-8 STOCKADE_VM=1 \
  bash /run/job/script < /dev/null > /run/job/output 2>&1
echo $? > /run/job/status
sync
RUNNER
chmod 755 "$root/usr/local/libexec/stockade-vm-job"
cat > "$root/etc/systemd/system/stockade-vm-job.service" <<'UNIT'
[Unit]
Description=Run the job the host handed in, then power off
After=multi-user.target
SuccessAction=poweroff-force
FailureAction=poweroff-force
[Service]
# exec, not oneshot: boot completes (is-system-running says running) while the job runs.
Type=exec
ExecStart=/usr/local/libexec/stockade-vm-job
# Jobs create cgroups of their own below this one.
Delegate=yes
TimeoutStartSec=infinity
[Install]
WantedBy=multi-user.target
UNIT
chrooted systemctl enable stockade-vm-job.service >>"$buildlog" 2>&1

out="$build/out"
mkdir -p "$out"
cp "$root/boot/vmlinuz-$kver" "$out/vmlinuz"

# The initramfs: busybox plus the modules needed to mount the virtio disk, in dependency
# order (modprobe --show-depends lists them as insmod lines).
log "initramfs"
initrd="$build/initrd"
mkdir -p "$initrd/bin" "$initrd/mod" "$initrd/dev" "$initrd/proc" "$initrd/sys" "$initrd/new"
cp "$root/bin/busybox" "$initrd/bin/"
for m in virtio_pci virtio_blk ext4; do chrooted modprobe -S "$kver" --show-depends "$m"; done |
  awk '$1 == "insmod" && !seen[$2]++ { print $2 }' | while read -r ko; do
    base=$(basename "$ko")
    case "$base" in
      *.xz) xz -dc "$root$ko" > "$initrd/mod/${base%.xz}"; base=${base%.xz} ;;
      *.zst) zstd -dcq "$root$ko" > "$initrd/mod/${base%.zst}"; base=${base%.zst} ;;
      *) cp "$root$ko" "$initrd/mod/" ;;
    esac
    echo "$base" >> "$initrd/mod/list"
  done
cat > "$initrd/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox mount -t proc proc /proc
for m in $(/bin/busybox cat /mod/list); do /bin/busybox insmod "/mod/$m"; done
n=0
until [ -b /dev/vda ]; do n=$((n + 1)); [ $n -gt 200 ] && /bin/busybox poweroff -f; /bin/busybox sleep 0.1; done
/bin/busybox mount -o rw,noatime /dev/vda /new || /bin/busybox poweroff -f
/bin/busybox umount /proc
/bin/busybox mount --move /dev /new/dev
exec /bin/busybox switch_root /new /lib/systemd/systemd
INIT
chmod 755 "$initrd/init"
# busybox's cpio: busybox-static is a test dependency already, cpio is not.
(cd "$initrd" && find . | busybox cpio -o -H newc 2>/dev/null) > "$out/initrd"

log "root filesystem image"
rm -rf "$root/boot"/* "$root/usr/share/doc" "$root/usr/share/man" "$root/usr/share/locale" "$root/var/lib/apt/lists"/*
mods="$root/lib/modules/$kver/kernel"
rm -rf "$mods/sound" "$mods/drivers/gpu" "$mods/drivers/media" "$mods/drivers/net/wireless" \
       "$mods/drivers/infiniband" "$mods/drivers/usb" "$mods/net/wireless" "$mods/net/bluetooth"
chrooted depmod "$kver"
mb=$(du -sm "$root" | cut -f1)
quietly "mkfs.ext4" mkfs.ext4 -q -F -L stockade-vm -O ^has_journal -d "$root" "$out/root.img" "$((mb + 1536))M"
echo "kernel=$kver mirror=$mirror built=$(date -u +%FT%TZ)" > "$out/done"

rm -rf "$dir"
mv "$out" "$dir"
for old in "$cache/$suite"-*; do [ "$old" = "$dir" ] || rm -rf "$old"; done
log "image ready in $((SECONDS - start)) s: $dir"
echo "$dir"
