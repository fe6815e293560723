#!/usr/bin/env bash
# Builds the Switchboard container image on a machine that reaches Debian's packages and NuGet but no container
# registry (this project's benchmark machine):
#   scripts/build-image.sh                      publish the Native AOT binary, assemble the base, build switchboard:local
#   scripts/build-image.sh --bin DIR           use a Native AOT publish folder already built (e.g. artifacts/bench/switchboard-aot)
#   scripts/build-image.sh --tag NAME          another image name (default switchboard:local)
#   scripts/build-image.sh --check             then run scripts/check-image.sh against the image
#   scripts/build-image.sh --dockerfile        build the root Dockerfile instead (the binary is published inside the
#                                              build), on stand-ins for its two Microsoft base images (below)
#
# The base is not pulled: it is assembled from the Debian 12 packages the binary needs at run time (glibc, libgcc,
# OpenSSL, CA certificates, time zones), fetched with this machine's apt sources (so the host must be
# Debian 12: the names are 12's, such as libssl3, and the binary is linked against the same glibc), unpacked with
# dpkg-deb and pruned of everything else (no shell, no package manager, no documentation); then
# eng/container/Containerfile builds the image FROM scratch and runs the
# server as the non-root user 1654. The engine is podman (installed from Debian when missing and run as root) or docker
# when a Docker engine answers. The root Dockerfile is the same image on Microsoft's chiseled base, for machines that
# reach mcr.microsoft.com. With --dockerfile that file itself is built, its two base images replaced (--build-arg) by
# stand-ins made here: for the SDK image, Debian 12 from debootstrap with this machine's .NET SDK and CA bundle (its
# NuGet may sit behind a TLS-inspecting proxy); for runtime-deps, the base above with APP_UID=1654. They are named
# localhost/switchboard-standin/*, never as Microsoft's images, so nothing shadows the real ones.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$ROOT/artifacts/image"
TAG="switchboard:local"
BIN=""
CHECK=0
DOCKERFILE=0
while (( $# > 0 )); do
  case "$1" in
    --bin) BIN="$(cd "$2" && pwd)"; shift 2 ;;
    --tag) TAG="$2"; shift 2 ;;
    --check) CHECK=1; shift ;;
    --dockerfile) DOCKERFILE=1; shift ;;
    *) echo "build-image: unknown argument $1" >&2; exit 2 ;;
  esac
done

# shellcheck source=scripts/container-engine.sh
source "$ROOT/scripts/container-engine.sh"
container_engine_prepare "$WORK"
# podman's default (OCI) image format has no HEALTHCHECK; the docker format keeps it. Docker builds only that format.
FORMAT=()
[[ "$ENGINE" == "podman" ]] && FORMAT=(--format docker)

# 1. The Native AOT binary (built inside the image build with --dockerfile).
if [[ -z "$BIN" ]] && (( ! DOCKERFILE )); then
  # shellcheck source=scripts/aot-toolchain.sh
  source "$ROOT/scripts/aot-toolchain.sh"
  aot_toolchain_ensure build-image
  BIN="$WORK/publish"
  echo "build-image: publishing the Native AOT binary (a few minutes)"
  rm -rf "$BIN"
  dotnet publish "$ROOT/src/Switchboard.Host" -c Release -r linux-x64 -p:PublishAot=true -p:CppCompilerAndLinker=clang-14 \
    --artifacts-path "$WORK/build" -o "$BIN" -nologo -clp:ErrorsOnly
fi
if (( ! DOCKERFILE )); then
  [[ -x "$BIN/switchboard" && -f "$BIN/libe_sqlite3.so" ]] || { echo "build-image: $BIN holds no Native AOT switchboard" >&2; exit 1; }
fi

# 2. The build context: app/ (the binary, without debug symbols), data/ (the volume's initial, empty content), rootfs/.
CONTEXT="$WORK/context"
rm -rf "$CONTEXT"
mkdir -p "$CONTEXT/app" "$CONTEXT/data" "$CONTEXT/rootfs" "$WORK/debs"
if (( ! DOCKERFILE )); then
  find "$BIN" -maxdepth 1 -type f ! -name '*.dbg' ! -name '*.pdb' -exec cp -p {} "$CONTEXT/app/" \;
fi

# What the binary loads: libc and libm (linked), libgcc_s (unwinding), OpenSSL (TLS, JWT signatures), the CA bundle
# (outbound TLS to upstreams and JWKS), tzdata (TimeZoneInfo). No ICU: the server is built globalization-invariant.
PACKAGES=(libc6 libgcc-s1 libssl3 ca-certificates tzdata)
echo "build-image: fetching ${PACKAGES[*]} from Debian"
rm -f "$WORK"/debs/*.deb
(cd "$WORK/debs" && apt-get download "${PACKAGES[@]}" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
(( $(find "$WORK/debs" -name '*.deb' | wc -l) == ${#PACKAGES[@]} )) || { echo "build-image: could not download every package" >&2; exit 1; }
ROOTFS="$CONTEXT/rootfs"
rm -f "$WORK/packages.txt.new"
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
mkdir -p "$ROOTFS/etc" "$ROOTFS/home" "$ROOTFS/tmp" # /home/app comes from the Containerfile, owned by 1654
chmod 1777 "$ROOTFS/tmp"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\napp:x:1654:1654:app:/home/app:/usr/sbin/nologin\n' > "$ROOTFS/etc/passwd"
printf 'root:x:0:\napp:x:1654:\n' > "$ROOTFS/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$ROOTFS/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' > "$ROOTFS/etc/hosts"
ln -sfn /usr/share/zoneinfo/Etc/UTC "$ROOTFS/etc/localtime"

# 3. The image.
if (( DOCKERFILE )); then
  standin="localhost/switchboard-standin"
  echo "build-image: stand-in for runtime-deps: $standin/runtime-deps:debian12"
  printf 'FROM scratch\nCOPY rootfs/ /\nENV APP_UID=1654\n' > "$WORK/runtime-deps.Containerfile"
  "$ENGINE" build --quiet -f "$WORK/runtime-deps.Containerfile" -t "$standin/runtime-deps:debian12" "$CONTEXT" >/dev/null

  SDK_ROOTFS="$WORK/sdk-rootfs"
  if [[ ! -x "$SDK_ROOTFS/usr/bin/apt-get" ]]; then
    command -v debootstrap >/dev/null 2>&1 || { echo "build-image: installing debootstrap"; apt-get install -y -qq debootstrap >/dev/null; }
    echo "build-image: debootstrap of Debian 12 for the SDK stand-in (a minute or two)"
    rm -rf "$SDK_ROOTFS"
    debootstrap --variant=minbase bookworm "$SDK_ROOTFS" http://deb.debian.org/debian > "$WORK/debootstrap.log" 2>&1 \
      || { tail -20 "$WORK/debootstrap.log"; exit 1; }
  fi
  SDK_CONTEXT="$WORK/sdk-context"
  rm -rf "$SDK_CONTEXT" && mkdir -p "$SDK_CONTEXT"
  cp -a "$SDK_ROOTFS" "$SDK_CONTEXT/rootfs"
  command -v dotnet >/dev/null 2>&1 || { echo "build-image: --dockerfile copies this machine's .NET SDK, and dotnet is not on PATH" >&2; exit 1; }
  dotnet_home="$(dirname "$(readlink -f "$(command -v dotnet)")")"
  cp -a "$dotnet_home" "$SDK_CONTEXT/dotnet"
  cp /etc/ssl/certs/ca-certificates.crt "$SDK_CONTEXT/ca-certificates.crt"
  {
    echo 'FROM scratch'
    echo 'COPY rootfs/ /'
    echo 'RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates libicu72 libssl3 && rm -rf /var/lib/apt/lists/*'
    echo 'COPY dotnet/ /usr/share/dotnet/'
    echo 'COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt'
    echo 'RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet'
    echo 'ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 NUGET_CERT_REVOCATION_MODE=offline'
  } > "$SDK_CONTEXT/Containerfile"
  echo "build-image: stand-in for the SDK: $standin/sdk:10.0-debian12 (the .NET SDK of $dotnet_home)"
  "$ENGINE" build --quiet --network host -t "$standin/sdk:10.0-debian12" "$SDK_CONTEXT" >/dev/null
  rm -rf "$SDK_CONTEXT"

  echo "build-image: building $TAG from the root Dockerfile with $ENGINE (Native AOT inside the build: several minutes)"
  "$ENGINE" build "${FORMAT[@]}" --network host -f "$ROOT/Dockerfile" -t "$TAG" \
    --build-arg SDK_IMAGE="$standin/sdk:10.0-debian12" --build-arg RUNTIME_IMAGE="$standin/runtime-deps:debian12" \
    "$ROOT" > "$WORK/dockerfile-build.log" 2>&1 || { tail -30 "$WORK/dockerfile-build.log"; exit 1; }
else
  echo "build-image: building $TAG with $ENGINE"
  "$ENGINE" build "${FORMAT[@]}" --quiet -f "$ROOT/eng/container/Containerfile" -t "$TAG" "$CONTEXT" >/dev/null
fi
size="$("$ENGINE" image inspect --format '{{.Size}}' "$TAG")"
echo "build-image: $TAG built, $(awk -v b="$size" 'BEGIN { printf "%.1f MB", b / 1e6 }') (base packages in ${WORK#"$ROOT"/}/packages.txt)"

if (( CHECK )); then
  "$ROOT/scripts/check-image.sh" --tag "$TAG"
fi
