#!/usr/bin/env bash
# Runs the Switchboard container image as a user would and checks what it must do; any failed check exits non-zero.
#   scripts/check-image.sh [--tag switchboard:local] [--starts 5]
# Checks: the image runs as user 1654 with no shell in it; a token issued with the image into a new volume is accepted
# by the server in another container; tools answer over the published port through REST and MCP (Streamable HTTP), with
# time zones (tzdata), PII masking and the audit log working, and 401 without a token; `switchboard health` and the
# image's HEALTHCHECK pass in the running container; SIGTERM (`stop`) ends the server
# with exit code 0 and "Switchboard stopped."; after a restart the same token still works and the audit log continues.
# Measures: the image size, `run` → first successful authenticated tools/call (median of --starts starts on the
# existing volume, after one unmeasured start), and the server's RSS after 200 calls and 2 s of quiet.
# Needs a local Linux engine (the server's memory and user are read from /proc), curl and python3 (a free port).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TAG="switchboard:local"
STARTS=5
while (( $# > 0 )); do
  case "$1" in
    --tag) TAG="$2"; shift 2 ;;
    --starts) STARTS="$2"; shift 2 ;;
    *) echo "check-image: unknown argument $1" >&2; exit 2 ;;
  esac
done

# shellcheck source=scripts/container-engine.sh
source "$ROOT/scripts/container-engine.sh"
container_engine_prepare "$ROOT/artifacts/image"

NAME="switchboard-check-$$"
# What the engine prints on standard error while things go well (podman without systemd: "unable to get systemd
# connection" for the HEALTHCHECK's timer, at every start and stop) goes here, and is shown only with a failure.
ENGINE_LOG="$(mktemp)"
VOLUME="switchboard-check-$$"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
URL="http://127.0.0.1:$PORT"
cleanup() {
  "$ENGINE" rm -f "$NAME" >/dev/null 2>&1 || true
  "$ENGINE" volume rm -f "$VOLUME" >/dev/null 2>&1 || true
  rm -f "$ENGINE_LOG"
}
trap cleanup EXIT

fail() {
  echo "check-image: FAILED: $*" >&2
  "$ENGINE" logs "$NAME" 2>&1 | tail -20 >&2 || true
  tail -5 "$ENGINE_LOG" >&2 || true
  exit 1
}
ok() { echo "check-image: ok: $*"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

call() { # tool json [token] → prints the HTTP status, then the body
  local auth=()
  [[ -n "${3:-}" ]] && auth=(-H "Authorization: Bearer $3")
  curl -s -m 5 -w '\n%{http_code}' -X POST "$URL/v1/tools/$1/call" -H 'Content-Type: application/json' "${auth[@]}" -d "$2" || true
}

start_server() {
  "$ENGINE" run -d --name "$NAME" -p "127.0.0.1:$PORT:8080" -v "$VOLUME:/data" "$TAG" >/dev/null 2>>"$ENGINE_LOG" \
    || fail "the engine could not start the container"
}

# Starts the server; sets FIRST_MS (from `run` to the first successful tools/call) and ENGINE_MS (to `run -d`
# returning). Not called in $(...): its fail must end the script, not a subshell.
start_until_first_call() {
  local begin started answer
  begin="$(now_ms)"
  start_server
  started="$(now_ms)"
  for _ in $(seq 1 3000); do
    answer="$(call text_echo '{"text":"ping"}' "$TOKEN")"
    if [[ "${answer##*$'\n'}" == "200" ]]; then
      FIRST_MS=$(( $(now_ms) - begin ))
      ENGINE_MS=$(( started - begin ))
      return
    fi
    sleep 0.005
  done
  fail "no successful tools/call within 30 s of starting the container (last answer: ${answer:-none})"
}

audit_sequence() { # the audit sequence number in a tool answer, or nothing
  { grep -oE '"dev.switchboard/audit":[0-9]+' <<<"$1" || true; } | { grep -oE '[0-9]+$' || true; }
}

stop_server() { # stops with SIGTERM (the engine's default), checks the clean exit, removes the container
  "$ENGINE" stop -t 20 "$NAME" >/dev/null 2>>"$ENGINE_LOG" || fail "the engine could not stop the container"
  local code
  code="$("$ENGINE" inspect -f '{{.State.ExitCode}}' "$NAME")"
  [[ "$code" == "0" ]] || fail "the server exited with code $code after SIGTERM"
  # The engine's log copy can trail the exit by a moment.
  local seen=0
  for _ in $(seq 1 20); do
    if "$ENGINE" logs "$NAME" 2>&1 | grep -q 'Switchboard stopped.'; then seen=1; break; fi
    sleep 0.1
  done
  (( seen )) || fail "no 'Switchboard stopped.' after SIGTERM"
  "$ENGINE" rm "$NAME" >/dev/null 2>>"$ENGINE_LOG" || fail "the engine could not remove the container"
}

# 1. The image itself.
size="$("$ENGINE" image inspect -f '{{.Size}}' "$TAG")" || fail "no image $TAG (build it with scripts/build-image.sh)"
user="$("$ENGINE" image inspect -f '{{.Config.User}}' "$TAG")"
[[ "$user" == "1654" || "$user" == "1654:1654" ]] || fail "the image runs as '$user', not the user 1654"
shell_status=0
"$ENGINE" run --rm --entrypoint /bin/sh "$TAG" -c true >/dev/null 2>&1 || shell_status=$?
# 127 (or 126): the engine found no /bin/sh to run. 0 is a shell; anything else is a failure to run the image at all.
[[ "$shell_status" == "127" || "$shell_status" == "126" ]] || fail "the image has a shell, or could not be run (exit code $shell_status)"
ok "image $TAG, $(awk -v b="$size" 'BEGIN { printf "%.1f MB", b / 1e6 }'), user $user, no shell"

# 2. A token issued with the image into a new volume (this creates the signing-key ring), then the server.
"$ENGINE" volume create "$VOLUME" >/dev/null
issued="$("$ENGINE" run --rm -v "$VOLUME:/data" "$TAG" token issue --sub check-image --scope 'tools:*' --ttl 1h 2>&1 || true)"
TOKEN="$({ grep -oE '^eyJ[A-Za-z0-9_.-]+$' <<<"$issued" || true; } | head -1)"
[[ -n "$TOKEN" ]] || fail "token issue printed no token: $issued"
start_until_first_call
ok "token issued in one container and accepted by the server in another; first call $FIRST_MS ms after run (new volume, the token issued into it first; run -d returned after $ENGINE_MS ms)"

# The image's health check: `switchboard health` in the running container, and the image's HEALTHCHECK itself.
health="$("$ENGINE" exec "$NAME" /app/switchboard health 2>&1)" || fail "switchboard health in the container answered: $health"
if [[ "$ENGINE" == "podman" ]]; then
  # Without systemd podman does not schedule the check itself (it says so in ENGINE_LOG); run it once by hand.
  "$ENGINE" healthcheck run "$NAME" >/dev/null 2>>"$ENGINE_LOG" || fail "the image's HEALTHCHECK did not pass (podman healthcheck run)"
else
  [[ "$("$ENGINE" image inspect -f '{{json .Config.Healthcheck}}' "$TAG")" == *'health'* ]] || fail "the image has no HEALTHCHECK"
fi
ok "health check: switchboard health in the container exits 0 ($health)"

pid="$("$ENGINE" inspect -f '{{.State.Pid}}' "$NAME")"
[[ -r "/proc/$pid/status" ]] || fail "the server's process $pid is not visible here (a remote or virtualised engine?)"
uid="$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")"
[[ "$uid" == "1654" ]] || fail "the server process runs as uid $uid"
ok "the server process (host pid $pid) runs as uid 1654"

# 3. What the tools must do in this base: time zones from tzdata, masking, auth, the audit log.
answer="$(call clock_convert '{"time":"2026-07-01T12:00:00","fromTimeZone":"Europe/Berlin","toTimeZone":"America/New_York"}' "$TOKEN")"
[[ "$answer" == *'2026-07-01T06:00:00-04:00'* && "${answer##*$'\n'}" == "200" ]] || fail "clock_convert answered: $answer"
ok "clock_convert: Europe/Berlin 12:00 is America/New_York 06:00 (tzdata)"
answer="$(call text_echo '{"text":"mail jane.doe@example.com please"}' "$TOKEN")"
[[ "$answer" == *'j***@example.com'* && "$answer" != *'jane.doe'* ]] || fail "text_echo was not masked: $answer"
ok "text_echo: the e-mail address comes back masked"
audit_before="$(audit_sequence "$answer")"
[[ -n "$audit_before" ]] || fail "the answer carries no audit sequence: $answer"
answer="$(call text_echo '{"text":"x"}')"
[[ "${answer##*$'\n'}" == "401" ]] || fail "a call without a token answered ${answer##*$'\n'}"
ok "a call without a token gets 401"

# MCP over Streamable HTTP (2025-11-25): initialize, initialized, tools/call.
mcp() { # session body → prints the headers and body
  local session=()
  [[ -n "$1" ]] && session=(-H "Mcp-Session-Id: $1" -H 'MCP-Protocol-Version: 2025-11-25')
  curl -s -m 5 -i -X POST "$URL/mcp" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' "${session[@]}" -d "$2"
}
answer="$(mcp "" '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"check-image","version":"1"}}}')"
session="$({ grep -i '^mcp-session-id:' <<<"$answer" || true; } | cut -d: -f2 | tr -d ' \r')"
[[ -n "$session" && "$answer" == *'"protocolVersion":"2025-11-25"'* ]] || fail "MCP initialize answered: $answer"
mcp "$session" '{"jsonrpc":"2.0","method":"notifications/initialized"}' >/dev/null
answer="$(mcp "$session" '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"text_word_count","arguments":{"text":"one two three"}}}')"
[[ "$answer" == *'"id":2'* && "$answer" == *'"words":3'* ]] || fail "MCP tools/call answered: $answer"
ok "MCP over Streamable HTTP: initialize, then tools/call text_word_count counts 3 words"

# 4. Idle memory after 200 calls and 2 s of quiet.
for _ in $(seq 1 200); do call text_echo '{"text":"warm"}' "$TOKEN" >/dev/null; done
sleep 2
rss="$(awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status")"
ok "idle RSS after 200 calls and 2 s: $rss MiB"

# 5. SIGTERM, then a restart on the same volume: the key ring and the audit log survive.
stop_server
ok "SIGTERM: exit code 0 and 'Switchboard stopped.'"
times=()
engine_times=()
for i in $(seq 0 "$STARTS"); do
  start_until_first_call
  if (( i > 0 )); then # the first restart is not measured (page cache)
    times+=("$FIRST_MS")
    engine_times+=("$ENGINE_MS")
  fi
  if (( i == STARTS )); then break; fi
  stop_server
done
answer="$(call text_echo '{"text":"after restart"}' "$TOKEN")"
audit_after="$(audit_sequence "$answer")"
[[ -n "$audit_after" ]] && (( audit_after > audit_before )) || fail "the audit sequence went from $audit_before to $audit_after across restarts"
ok "after $(( STARTS + 1 )) restarts the same token works and the audit sequence continues ($audit_before → $audit_after)"
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
ok "run → first tools/call on the existing volume: median $(median "${times[@]}") ms of ${#times[@]} (${times[*]} ms); of which run -d returning: median $(median "${engine_times[@]}") ms (${engine_times[*]} ms)"
stop_server
echo "check-image: all checks passed ($ENGINE, $TAG)"
