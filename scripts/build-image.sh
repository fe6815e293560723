#!/usr/bin/env bash
# Builds the Switchboard container image on a machine that reaches Debian's packages and NuGet but no container
# registry (this project's benchmark machine):
#   scripts/build-image.sh                      publish the Native AOT binary, assemble the base, build switchboard:local
#   scripts/build-image.sh --bin DIR           use a Native AOT publish folder already built (e.g. artifacts/bench/switchboard-aot)
#   scripts/build-image.sh --tag NAME          another image name (default switchboard:local)
#   scripts/build-image.sh --check             then run scripts/check-image.sh against the image
#
# The base is not pulled: it is assembled from the Debian 12 packages the binary needs at run time (glibc, libgcc,
# libstdc++, ICU, OpenSSL, CA certificates, time zones), unpacked with dpkg-deb and pruned of everything else (no shell,
# no package manager, no documentation), then eng/container/Containerfile builds the image FROM scratch and runs the
# server as the non-root user 1654. The engine is podman (installed from Debian when missing and run as root) or docker
# when a Docker engine answers. The root Dockerfile is the same image on Microsoft's chiseled base, for machines that
# reach mcr.microsoft.com.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$ROOT/artifacts/image"
TAG="switchboard:local"
BIN=""
CHECK=0
while (( $# > 0 )); do
  case "$1" in
    --bin) BIN="$(cd "$2" && pwd)"; shift 2 ;;
    --tag) TAG="$2"; shift 2 ;;
    --check) CHECK=1; shift ;;
    *) echo "build-image: unknown argument $1" >&2; exit 2 ;;
  esac
done

# shellcheck source=scripts/container-engine.sh
source "$ROOT/scripts/container-engine.sh"
container_engine_prepare "$WORK"

# 1. The Native AOT binary.
if [[ -z "$BIN" ]]; then
  if ! command -v clang-14 >/dev/null 2>&1 || [[ ! -e /usr/include/zlib.h ]]; then
    [[ "$(id -u)" == "0" ]] || { echo "build-image: Native AOT needs clang-14 and zlib1g-dev (apt-get install clang-14 zlib1g-dev)" >&2; exit 1; }
    echo "build-image: installing clang-14 and zlib1g-dev for Native AOT"
    apt-get update -qq && apt-get install -y -qq clang-14 zlib1g-dev >/dev/null
  fi
  BIN="$WORK/publish"
  echo "build-image: publishing the Native AOT binary (a few minutes)"
  rm -rf "$BIN"
  dotnet publish "$ROOT/src/Switchboard.Host" -c Release -r linux-x64 -p:PublishAot=true -p:CppCompilerAndLinker=clang-14 \
    --artifacts-path "$WORK/build" -o "$BIN" -nologo -clp:ErrorsOnly
fi
[[ -x "$BIN/switchboard" && -f "$BIN/libe_sqlite3.so" ]] || { echo "build-image: $BIN holds no Native AOT switchboard" >&2; exit 1; }

# 2. The build context: app/ (the binary, without debug symbols), data/ (the volume's initial, empty content), rootfs/.
CONTEXT="$WORK/context"
rm -rf "$CONTEXT"
mkdir -p "$CONTEXT/app" "$CONTEXT/data" "$CONTEXT/rootfs" "$WORK/debs"
find "$BIN" -maxdepth 1 -type f ! -name '*.dbg' ! -name '*.pdb' -exec cp -p {} "$CONTEXT/app/" \;

# What the binary loads: libc and libm (linked), libgcc_s (unwinding), ICU (globalization; it needs libstdc++),
# OpenSSL (TLS, JWT signatures), the CA bundle (outbound TLS to upstreams and JWKS), tzdata (TimeZoneInfo).
PACKAGES=(libc6 libgcc-s1 libstdc++6 libicu72 libssl3 ca-certificates tzdata)
echo "build-image: fetching ${PACKAGES[*]} from Debian"
rm -f "$WORK"/debs/*.deb
(cd "$WORK/debs" && apt-get download "${PACKAGES[@]}" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
(( $(find "$WORK/debs" -name '*.deb' | wc -l) == ${#PACKAGES[@]} )) || { echo "build-image: could not download every package" >&2; exit 1; }
ROOTFS="$CONTEXT/rootfs"
for deb in "$WORK"/debs/*.deb; do
  dpkg-deb -x "$deb" "$ROOTFS"
  echo "$(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version)" >> "$WORK/packages.txt.new"
done
sort "$WORK/packages.txt.new" > "$WORK/packages.txt" && rm "$WORK/packages.txt.new"

# The CA bundle is what update-ca-certificates would write; the image has no shell to run it.
mkdir -p "$ROOTFS/etc/ssl/certs"
cat "$ROOTFS"/usr/share/ca-certificates/mozilla/*.crt > "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
(( $(grep -c 'BEGIN CERTIFICATE' "$ROOTFS/etc/ssl/certs/ca-certificates.crt") > 100 )) || { echo "build-image: the CA bundle is short" >&2; exit 1; }
mkdir -p "$ROOTFS/usr/lib/ssl"
ln -sfn /etc/ssl/certs "$ROOTFS/usr/lib/ssl/certs"
ln -sfn /etc/ssl/certs/ca-certificates.crt "$ROOTFS/usr/lib/ssl/cert.pem"

# Prune: no programs (the packages' helpers, ldconfig, iconv), no documentation, locales, gconv modules, lintian or
# maintainer data, and only one copy of the time zones (the "right/" leap-second copies are not used by .NET).
rm -rf "$ROOTFS"/bin "$ROOTFS"/sbin "$ROOTFS"/usr/bin "$ROOTFS"/usr/sbin "$ROOTFS"/usr/libexec \
  "$ROOTFS"/usr/share/doc "$ROOTFS"/usr/share/man "$ROOTFS"/usr/share/info "$ROOTFS"/usr/share/lintian \
  "$ROOTFS"/usr/share/locale "$ROOTFS"/usr/share/i18n "$ROOTFS"/usr/share/gcc "$ROOTFS"/usr/share/gdb \
  "$ROOTFS"/usr/share/ca-certificates "$ROOTFS"/usr/share/zoneinfo/right "$ROOTFS"/usr/share/zoneinfo/posix \
  "$ROOTFS"/usr/lib/x86_64-linux-gnu/gconv "$ROOTFS"/usr/lib/x86_64-linux-gnu/audit \
  "$ROOTFS"/etc/ca-certificates "$ROOTFS"/etc/ld.so.conf.d "$ROOTFS"/var
find "$ROOTFS" -name '*.a' -delete

# Users, name resolution and a writable /tmp (the runtime's diagnostics and temporary files).
mkdir -p "$ROOTFS/etc" "$ROOTFS/home/app" "$ROOTFS/tmp"
chmod 1777 "$ROOTFS/tmp"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\napp:x:1654:1654:app:/home/app:/usr/sbin/nologin\n' > "$ROOTFS/etc/passwd"
printf 'root:x:0:\napp:x:1654:\n' > "$ROOTFS/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$ROOTFS/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' > "$ROOTFS/etc/hosts"
chown -R 1654:1654 "$ROOTFS/home/app"
ln -sfn /usr/share/zoneinfo/Etc/UTC "$ROOTFS/etc/localtime"

# 3. The image.
echo "build-image: building $TAG with $ENGINE"
"$ENGINE" build --quiet -f "$ROOT/eng/container/Containerfile" -t "$TAG" "$CONTEXT" >/dev/null
size="$("$ENGINE" image inspect --format '{{.Size}}' "$TAG")"
echo "build-image: $TAG built, $(awk -v b="$size" 'BEGIN { printf "%.1f MB", b / 1e6 }') (base packages in ${WORK#"$ROOT"/}/packages.txt)"

if (( CHECK )); then
  "$ROOT/scripts/check-image.sh" --tag "$TAG"
fi
