# Sourced by bench/run.sh and build-image.sh: makes sure Native AOT can link here (clang-14 and zlib1g-dev from
# Debian, installed when missing and running as root).
aot_toolchain_ensure() { # name-for-messages
  if command -v clang-14 >/dev/null 2>&1 && [[ -e /usr/include/zlib.h ]]; then
    return
  fi
  if [[ "$(id -u)" != "0" ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "$1: Native AOT needs clang-14 and zlib1g-dev (apt-get install clang-14 zlib1g-dev)" >&2
    exit 1
  fi
  echo "$1: installing clang-14 and zlib1g-dev for Native AOT"
  apt-get update -qq && apt-get install -y -qq clang-14 zlib1g-dev >/dev/null
}
