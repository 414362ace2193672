#!/usr/bin/env bash
# Builds the release binaries of stockade fully static (glibc and libseccomp linked in) and
# prints the directory that holds them.
#
#   ./build-release.sh          -> target/<host triple>/release/{stockade,stockade-testd}
#
# Why static: stockade is exec'd for every sandboxed command, and a dynamic executable pays
# the loader on each start (mapping libc, libseccomp and libgcc_s, ~2500 relocations). The
# static build starts ~0.6 ms sooner and maps less (bench/README.md). It stays a static-pie,
# so the supervisor, which outlives the exec and reads messages from inside the sandbox,
# keeps address-space randomisation.
#
# Recipe from shared/FIELD-NOTES.md: crt-static needs an explicit --target (else proc-macro
# crates fail to build), and libseccomp must be linked from its .a (libseccomp-dev ships it),
# else the binary keeps a NEEDED libseccomp.so.2 with no interpreter and crashes at start.
# One caveat of a static glibc: user and group *names* in profiles are resolved through NSS
# modules loaded at run time, which must come from the same glibc version (true on the
# machine that built it).
set -euo pipefail
cd "$(dirname "$0")"
triple="$(rustc -vV | sed -n 's/^host: //p')"
libdir="$(dirname "$(gcc -print-file-name=libseccomp.a)")"
if [ ! -f "$libdir/libseccomp.a" ]; then
  echo "build-release: libseccomp.a not found (install libseccomp-dev)" >&2
  exit 1
fi
LIBSECCOMP_LINK_TYPE=static LIBSECCOMP_LIB_PATH="$libdir" \
  RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
  cargo build --release --locked --target "$triple" --bin stockade --bin stockade-testd >&2
out="$PWD/target/$triple/release"
# A static binary must have no interpreter and no NEEDED entries; refuse anything else.
if readelf -d "$out/stockade" 2>/dev/null | grep -q NEEDED || readelf -l "$out/stockade" | grep -q INTERP; then
  echo "build-release: $out/stockade is not fully static" >&2
  exit 1
fi
echo "$out"
