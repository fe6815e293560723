#!/usr/bin/env bash
# The whole benchmark in one line, from a fresh clone:
#   bench/run.sh                       load matrix + cold start + 10,000 idle WebSockets (about 20 minutes on 2 cores)
#   bench/run.sh --sections load       only the load matrix (or coldstart, idle, container; comma-separated)
#   bench/run.sh --no-container        everything but the container image (which installs podman from Debian when no
#                                      Docker engine answers; scripts/build-image.sh)
#   bench/run.sh --quick               short windows and fewer starts, to check the tooling (numbers not for publishing)
#   bench/run.sh --micro               also run the BenchmarkDotNet micro-benchmarks (bench/results/micro/)
#   bench/run.sh --no-publish          reuse the binaries of the previous run in artifacts/bench/ (skip step 2)
# Any other argument goes to `switchboard-bench suite` (e.g. --note "PRELIMINARY: ..." or --only switchboard-all-stages).
#
# It installs what it needs (Node 22 and the pinned TypeScript SDK server via scripts/install-test-prereqs.sh; clang-14
# and zlib for Native AOT from Debian when missing), publishes every server in Release into artifacts/bench/ (Switchboard
# as JIT, ReadyToRun and Native AOT; the bare SDK server; the raw Kestrel echo; the load generator), raises the
# open-file limit, then starts each server in turn on loopback, measures it and stops it. Results:
#   bench/results/DATE-loadtest.md (+ .png chart, + .json), DATE-coldstart.md, DATE-idle.md, DATE-container.md (the image
#   built from the Native AOT binary of step 2 and run by scripts/check-image.sh: its checks, size, start and memory)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/artifacts/bench"
BUILD="$OUT/build"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

micro=0
publish_all=1
container=1
suite_sections="load,coldstart,idle"
results_dir="$ROOT/bench/results"
suite_args=()
while (( $# > 0 )); do
  case "$1" in
    --micro) micro=1 ;;
    --no-publish) publish_all=0 ;;
    --no-container) container=0 ;;
    --quick) suite_args+=(--duration 4 --warmup 2 --coldstart-runs 3 --idle-connections 2000 --note "QUICK RUN: short windows, for checking the tooling only") ;;
    --sections) # "container" is this script's own section; the rest go to the suite
      [[ -n "${2:-}" ]] || { echo "bench: --sections needs a value (load,coldstart,idle,container)" >&2; exit 2; }
      [[ ",$2," == *",container,"* ]] || container=0
      suite_sections="$(tr ',' '\n' <<<"$2" | { grep -vx container || true; } | paste -sd, -)"
      shift ;;
    --results) [[ -n "${2:-}" ]] || { echo "bench: --results needs a folder" >&2; exit 2; }
      results_dir="$2"; suite_args+=("$1" "$2"); shift ;;
    --sections=* | --results=*) echo "bench: write $1 as two words (${1%%=*} ${1#*=})" >&2; exit 2 ;;
    *) suite_args+=("$1") ;;
  esac
  shift
done

echo "bench: machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r)"
echo "bench: load average: $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. Prerequisites.
"$ROOT/scripts/install-test-prereqs.sh"
# shellcheck source=scripts/aot-toolchain.sh
source "$ROOT/scripts/aot-toolchain.sh"
aot_toolchain_ensure bench

# 2. Build everything in Release, each publish in its own artifacts folder (no clash with builds in src/*/obj).
publish() { # name project extra-args...
  local name="$1" project="$2"; shift 2
  echo "bench: publishing $name"
  rm -rf "$OUT/$name"
  dotnet publish "$ROOT/$project" -c Release --artifacts-path "$BUILD/$name" -o "$OUT/$name" -nologo -clp:ErrorsOnly "$@"
}
mkdir -p "$OUT"
if (( publish_all )); then
publish switchboard-jit src/Switchboard.Host
publish switchboard-r2r src/Switchboard.Host -r linux-x64 --self-contained false -p:PublishReadyToRun=true
# AOT: warnings are counted (not fatal) so the count can be reported; the goal is zero.
echo "bench: publishing switchboard-aot (Native AOT, a few minutes)"
rm -rf "$OUT/switchboard-aot"
dotnet publish "$ROOT/src/Switchboard.Host" -c Release -r linux-x64 -p:PublishAot=true -p:CppCompilerAndLinker=clang-14 \
  -p:TreatWarningsAsErrors=false -p:TrimmerSingleWarn=false --artifacts-path "$BUILD/switchboard-aot" -o "$OUT/switchboard-aot" \
  -nologo > "$OUT/aot-publish.log" 2>&1 || { tail -30 "$OUT/aot-publish.log"; exit 1; }
aot_warnings="$( { grep -oE 'warning (IL[0-9]{4}|SYSLIB[0-9]{4})[^[]*' "$OUT/aot-publish.log" || true; } | sort -u | wc -l)"
publish bare-sdk bench/peers/BareMcpServer
publish raw-echo bench/peers/RawEcho
publish bench-tool bench/Switchboard.Bench

{
  echo "| build | size |"
  echo "|---|---:|"
  echo "| Native AOT binary \`switchboard\` (+ \`libe_sqlite3.so\`) | $(du -b "$OUT/switchboard-aot/switchboard" | awk '{printf "%.1f MB", $1/1e6}') + $(du -b "$OUT/switchboard-aot/libe_sqlite3.so" | awk '{printf "%.1f MB", $1/1e6}') |"
  echo "| ReadyToRun publish folder (framework-dependent) | $(du -sb "$OUT/switchboard-r2r" | awk '{printf "%.1f MB", $1/1e6}') |"
  echo "| JIT publish folder (framework-dependent) | $(du -sb "$OUT/switchboard-jit" | awk '{printf "%.1f MB", $1/1e6}') |"
  echo
  echo "Native AOT publish of \`src/Switchboard.Host\` (server and in-process plugins): **$aot_warnings** trimming/AOT warnings (IL2xxx/IL3xxx, counted with \`TrimmerSingleWarn=false\`)."
} > "$OUT/build-info.md"
echo "bench: Native AOT warnings: $aot_warnings"
else
  [[ -x "$OUT/bench-tool/switchboard-bench" ]] || { echo "bench: --no-publish needs a previous run's binaries in $OUT" >&2; exit 1; }
  echo "bench: reusing the binaries in $OUT (--no-publish)"
fi

# 3. Ten thousand WebSockets need as many file descriptors, in the server and in the load generator.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [[ "$(ulimit -n)" != "unlimited" ]] && (( $(ulimit -n) < 25000 )); then
  echo "bench: warning: open-file limit is $(ulimit -n); the 10,000-connection run needs more (raise the hard limit)" >&2
fi

# 4. Measure.
status=0
if (( container )); then
  # Built before the suite: the cold-start section starts the image too (target switchboard-container).
  # shellcheck source=scripts/container-engine.sh
  source "$ROOT/scripts/container-engine.sh"
  container_engine_prepare "$ROOT/artifacts/image"
  export SWITCHBOARD_CONTAINER_ENGINE="$ENGINE"
  container_log="$OUT/container.log"
  echo "bench: building the container image switchboard:bench from $OUT/switchboard-aot"
  if ! "$ROOT/scripts/build-image.sh" --bin "$OUT/switchboard-aot" --tag switchboard:bench > "$container_log" 2>&1; then
    # The rest of the benchmark still runs; the run ends with a failure.
    cat "$container_log"
    echo "bench: the container image could not be built; measuring without it" >&2
    container=0
    status=1
  fi
fi
if (( ! container )); then
  # Without a freshly built image, its cold-start row would start an old image, or none.
  suite_args+=(--skip switchboard-container)
fi
if [[ -n "$suite_sections" ]]; then
  suite_status=0
  "$OUT/bench-tool/switchboard-bench" suite --config "$ROOT/bench/suite.json" --root "$ROOT" --bin "$OUT" \
    --sections "$suite_sections" "${suite_args[@]}" || suite_status=$?
  (( suite_status == 0 )) || status=$suite_status
fi

# The container image built above, checked by running it as a user would (scripts/check-image.sh).
if (( container )); then
  echo "bench: checking the container image"
  log="$container_log"
  if "$ROOT/scripts/check-image.sh" --tag switchboard:bench >> "$log" 2>&1; then
    outcome="all checks passed"
  else
    outcome="**a check failed**"; status=1
  fi
  cat "$log"
  mkdir -p "$results_dir"
  {
    echo "# The container image, $(date -u '+%Y-%m-%d %H:%M') UTC"
    echo
    echo "\`scripts/build-image.sh --bin artifacts/bench/switchboard-aot --tag switchboard:bench\`, then \`scripts/check-image.sh --tag switchboard:bench\`, on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg) at the end. Outcome: $outcome."
    echo
    echo "Base packages (Debian 12):"
    echo
    sed 's/^/- /' "$ROOT/artifacts/image/packages.txt" 2>/dev/null || true
    echo
    echo '```'
    grep -E '^(build-image|check-image):' "$log" || true
    echo '```'
  } > "$results_dir/$(date '+%Y-%m-%d')-container.md"
  echo "bench: wrote $results_dir/$(date '+%Y-%m-%d')-container.md"
fi

# 5. Micro-benchmarks (optional, a few minutes).
if (( micro )); then
  echo "bench: BenchmarkDotNet micro-benchmarks"
  dotnet run -c Release --project "$ROOT/bench/Switchboard.Benchmarks" --artifacts-path "$BUILD/benchmarks" -- \
    --filter '*' --artifacts "$OUT/bdn"
  mkdir -p "$ROOT/bench/results/micro"
  cp "$OUT"/bdn/results/*-report-github.md "$ROOT/bench/results/micro/"
fi

echo "bench: load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $status
