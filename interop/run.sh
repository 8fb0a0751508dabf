#!/usr/bin/env bash
# The interop suite (npm run test:interop): the client libraries' code is
# regenerated and must equal what is committed; their own suites run (mypy and
# pytest for clients/python, go vet and go test for clients/go, each against
# servers of its own); then the real server, started with the README's
# command, is used by clients that are not TypeScript: grpcurl, and scenarios
# on the Python and Go libraries. The examples run the way a new user runs them:
# the Python package pip-installed into a fresh virtual environment, the Go
# module taken with `go get` into a fresh module. Ends with a table of
# client x step; exits 1 when any step failed or any client could not run.
set -uo pipefail
cd "$(dirname "$0")/.."

bash interop/install-tools.sh || exit 1
bash interop/generate.sh || exit 1
generated="clients/python/src/edupulse clients/go/gen"
if ! git diff --quiet HEAD -- $generated || [ -n "$(git ls-files --others --exclude-standard -- $generated)" ]; then
  git status --short -- $generated
  echo "interop: the clients' generated code is not what proto/ generates: run bash interop/generate.sh and commit" >&2
  exit 1
fi
npm run --silent build || exit 1

data=$(mktemp -d)
log=$(mktemp)
results=$(mktemp)
fresh=$(mktemp -d)
cleanup() {
  pkill -TERM -f "^node .*dist/cli/main.js serve --port 0 --metrics-port 0 --data-dir $data" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$data" "$log" "$results" "$fresh"
}
trap cleanup EXIT

suite() { # name command...
  local name=$1; shift
  echo "== $name"
  if "$@" 2>&1 | sed 's/^/  /'; [ "${PIPESTATUS[0]}" = 0 ]; then
    echo "STEP $name suite PASS" >>"$results"
  else
    echo "STEP $name suite FAIL" >>"$results"
  fi
}
suite python-lib bash -c '.tools/venv/bin/pip install --quiet --disable-pip-version-check "./clients/python[test]" &&
  cd clients/python && ../../.tools/venv/bin/python -m mypy && ../../.tools/venv/bin/python -m pytest -q -p no:cacheprovider'
suite go-lib bash -c 'cd clients/go && test -z "$(gofmt -l .)" && go vet ./... && go test -count=1 ./...'

npm start -- --port 0 --metrics-port 0 --data-dir "$data" >"$log" 2>&1 &
for _ in $(seq 1 120); do
  grep -q '^EDUPULSE_LISTENING ' "$log" && break
  sleep 0.5
done
address=$(sed -n 's/^EDUPULSE_LISTENING //p' "$log")
if [ -z "$address" ]; then
  cat "$log"
  echo "interop: the server did not start" >&2
  exit 1
fi
echo "interop: server at $address"

client() { # name command...
  local name=$1; shift
  echo "== $name"
  "$@" 2>&1 | tee -a "$results" | sed 's/^/  /'
  local code=${PIPESTATUS[0]}
  grep -q "^STEP $name " "$results" || echo "STEP $name run FAIL no step reported" >>"$results"
  [ "$code" = 0 ] || echo "STEP $name exit FAIL exit code $code" >>"$results"
}
example() { # name command...
  local name=$1; shift
  echo "== example $name"
  if "$@" >"$log.example" 2>&1 && grep -q 'caught up at position' "$log.example"; then
    echo "STEP $name example PASS" >>"$results"
  else
    sed 's/^/  /' "$log.example"
    echo "STEP $name example FAIL" >>"$results"
  fi
}

client grpcurl bash interop/grpcurl.sh "$address"
client python .tools/venv/bin/python interop/python/scenario.py "$address"
client go bash -c "cd interop/go && go run . '$address'"
example python bash -c "python3 -m venv '$fresh/venv' && '$fresh/venv/bin/pip' install --quiet --disable-pip-version-check ./clients/python &&
  '$fresh/venv/bin/python' examples/python/append_and_subscribe.py '$address'"
example go bash -c "mkdir '$fresh/go' && cp examples/go/main.go '$fresh/go/' && cd '$fresh/go' && go mod init example.com/fresh &&
  go mod edit -replace edupulse.dev/eventstore/clients/go='$PWD/clients/go' && go get edupulse.dev/eventstore/clients/go@v0.0.0 &&
  go mod tidy && go run . '$address'"
example go-module bash -c "cd examples/go && go run . '$address'"

echo
printf '%-8s  %-24s  %s\n' client step result
printf '%-8s  %-24s  %s\n' ------ ---- ------
grep '^STEP ' "$results" | awk '{printf "%-8s  %-24s  %s\n", $2, $3, $4}'
passed=$(grep -c '^STEP .* PASS' "$results")
failed=$(grep -c '^STEP .* FAIL' "$results")
echo
echo "interop: $passed passed, $failed failed"
[ "$failed" = 0 ]
