#!/usr/bin/env bash
# Installs the benchmark's outside tools at pinned versions into .tools/bin
# (shared with the tests and the interop suite, ignored by git): NATS server,
# the peer the store is compared with (scripts/install-nats-server.sh), and
# ghz, a gRPC load generator users already trust.
set -euo pipefail
cd "$(dirname "$0")/.."
GHZ_VERSION=v0.120.0
tools=$PWD/.tools
mkdir -p "$tools/bin"
install() { # name module version
  if [ ! -x "$tools/bin/$1" ] || [ ! -f "$tools/.installed-$1-$3" ]; then
    echo "bench: installing $1 $3" >&2
    GOBIN="$tools/bin" go install "$2@$3"
    touch "$tools/.installed-$1-$3"
  fi
}
bash scripts/install-nats-server.sh
install ghz github.com/bojand/ghz/cmd/ghz "$GHZ_VERSION"
