#!/usr/bin/env bash
# Runs every Switchboard test on this machine, from a fresh clone:
#   1. installs the test prerequisites (Node 22 and the pinned MCP clients/conformance suites, from npm),
#   2. builds the solution,
#   3. runs the whole xUnit suite (unit, real-Kestrel integration, real processes, official conformance suite,
#      TypeScript SDK clients, MCP Inspector CLI, Claude Code),
#   4. prints the totals as its last line: "N passed, N failed".
# Extra arguments go to the test runner, e.g. scripts/test.sh --filter-class Switchboard.Tests.Plugins.ToolNamingTests
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CONFIGURATION="${CONFIGURATION:-Debug}"
RESULTS="$ROOT/artifacts/test-results"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

"$ROOT/scripts/install-test-prereqs.sh"

echo "test: building ($CONFIGURATION)"
dotnet build "$ROOT/Switchboard.slnx" -c "$CONFIGURATION" -nologo -clp:ErrorsOnly

rm -rf "$RESULTS"
mkdir -p "$RESULTS"
set +e
dotnet test --project "$ROOT/tests/Switchboard.Tests" -c "$CONFIGURATION" --no-build \
  --results-directory "$RESULTS" --report-xunit-trx --report-xunit-trx-filename switchboard-tests.trx \
  --no-progress "$@"
status=$?
set -e

TRX="$RESULTS/switchboard-tests.trx"
if [[ ! -f "$TRX" ]]; then
  echo "test: the test run produced no report (exit code $status)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

counters="$(grep -o '<Counters [^>]*>' "$TRX" | head -1)"
count() { echo "$counters" | grep -o "$1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
passed="$(count passed)"
failed="$(count failed)"
total="$(count total)"
skipped=$(( total - passed - failed ))
if (( skipped > 0 )); then
  echo "test: $skipped test(s) skipped (missing prerequisites); see the log above"
fi
if (( failed > 0 )); then
  # Repeat each failed test's name and message here, beside the totals: CI keeps only the end of the log.
  echo "test: failed tests (details in $TRX):"
  grep -zoP '(?s)<UnitTestResult [^>]*outcome="Failed".*?</UnitTestResult>' "$TRX" | tr '\n' ' ' | tr '\0' '\n' |
    while IFS= read -r result; do
      name="$(grep -oP 'testName="\K[^"]*' <<<"$result" | head -1)"
      message="$(grep -oP '<Message>\K.*?(?=</Message>)' <<<"$result" | head -1 | cut -c1-800)"
      echo "  FAILED $name"
      echo "    $message"
    done || true
fi
if (( status != 0 && failed == 0 )); then
  # The runner failed without a failed test (crash, or an error outside a test): count it as a failure.
  failed=1
fi
echo "$passed passed, $failed failed"
exit $(( failed > 0 ? 1 : 0 ))
