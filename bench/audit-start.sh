#!/usr/bin/env bash
# Start-up time and idle memory of the server against the size of its audit log.
#
#   bench/audit-start.sh --bin PATH [--base-bin PATH] [--records 1000,1000000] [--starts 5] [--results FILE]
#
# For each size N it writes a valid audit log of N records in the schema of the versions before the tree tiles
# (bench/compliance ... audit-fill), starts --bin on it once (the one-time upgrade, measured on its own), and then starts
# each binary --starts times on copies of the upgraded data folder, alternating --bin and --base-bin. Per start:
# exec -> /readyz 200, exec -> the first successful REST tools/call, and VmRSS after 3 s of quiet. Medians are printed
# as a markdown table (and written to --results). Nothing here asserts a time.
set -euo pipefail
cd "$(dirname "$0")/.."

bin="" base_bin="" records="1000,1000000" starts=5 results=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bin) bin="${2:?--bin needs a path}"; shift 2 ;;
    --base-bin) base_bin="${2:?--base-bin needs a path}"; shift 2 ;;
    --records) records="${2:?--records needs sizes}"; shift 2 ;;
    --starts) starts="${2:?--starts needs a number}"; shift 2 ;;
    --results) results="${2:?--results needs a file}"; shift 2 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done
[[ -x "$bin" ]] || { echo "--bin must name the switchboard executable" >&2; exit 2; }
[[ -z "$base_bin" || -x "$base_bin" ]] || { echo "--base-bin must name an executable" >&2; exit 2; }

work=$(mktemp -d /tmp/switchboard-audit-start.XXXXXX)
trap 'rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18571)

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# measure BIN DATA -> "ready_ms first_call_ms rss_mib"
measure() {
  local exe=$1 data=$2 t0 t1 t2 pid rss
  t0=$(now_ms)
  "$exe" serve --no-auth --data "$data" --urls "http://127.0.0.1:$port" >"$data/server.log" 2>&1 &
  pid=$!
  until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { echo "the server exited; its log:" >&2; tail -20 "$data/server.log" >&2; exit 1; }
    sleep 0.005
  done
  t1=$(now_ms)
  curl -sf -X POST "http://127.0.0.1:$port/v1/tools/text_echo/call" -H 'content-type: application/json' -d '{"text":"hello"}' >/dev/null \
    || { echo "the first call failed" >&2; kill "$pid"; exit 1; }
  t2=$(now_ms)
  sleep 3
  rss=$(awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status")
  kill -TERM "$pid"; wait "$pid" || true
  echo "$((t1 - t0)) $((t2 - t0)) $rss"
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

dotnet build -c Release bench/compliance/Switchboard.Compliance.Bench -v q -nologo >/dev/null
filler=(dotnet bench/compliance/Switchboard.Compliance.Bench/bin/Release/net10.0/Switchboard.Compliance.Bench.dll audit-fill)

table="| records in the log | binary | first start (upgrade) ready / first call / RSS | ready (median) | first call (median) | idle RSS (median) | starts |
|---:|---|---:|---:|---:|---:|---:|"
raw=""
IFS=',' read -ra sizes <<<"$records"
for n in "${sizes[@]}"; do
  "${filler[@]}" "$n" "$work/legacy-$n" | tail -1
  cp -r "$work/legacy-$n" "$work/current-$n"
  read -r ur uc urss <<<"$(measure "$bin" "$work/current-$n")"
  grep -h "Merkle tree tiles" "$work/current-$n/server.log" | sed 's/^[0-9:]* //' || true
  declare -A ready=() first=() mem=()
  names=(new); [[ -n "$base_bin" ]] && names+=(base)
  for ((round = 1; round <= starts; round++)); do
    for name in "${names[@]}"; do
      exe=$bin; [[ $name == base ]] && exe=$base_bin
      rm -rf "$work/run"; cp -r "$work/current-$n" "$work/run"
      read -r r c m <<<"$(measure "$exe" "$work/run")"
      ready[$name]+="$r "; first[$name]+="$c "; mem[$name]+="$m "
      raw+="$n $name round $round: ready $r ms, first call $c ms, RSS $m MiB"$'\n'
    done
  done
  for name in "${names[@]}"; do
    label="--bin"; [[ $name == base ]] && label="--base-bin"
    upgrade="–"; [[ $name == new ]] && upgrade="$ur / $uc ms / $urss MiB"
    table+=$'\n'"| $n | $label | $upgrade | $(tr ' ' '\n' <<<"${ready[$name]}" | grep . | median) ms | $(tr ' ' '\n' <<<"${first[$name]}" | grep . | median) ms | $(tr ' ' '\n' <<<"${mem[$name]}" | grep . | median) MiB | $starts |"
  done
  unset ready first mem
  rm -rf "$work/legacy-$n" "$work/current-$n" "$work/run"
done

report="machine: $(uname -sr), $(nproc) cores; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)
--bin: $bin${base_bin:+
--base-bin: $base_bin}

$table

Every start:

\`\`\`
$raw\`\`\`"
echo "$report"
[[ -n "$results" ]] && echo "$report" >"$results"
exit 0
