#!/usr/bin/env bash
# Installs nats-server at a pinned version into .tools/bin (ignored by git),
# for the tests (the relay to JetStream), the benchmarks and the interop suite.
# Debian's package is too old: the relay needs 2.12 or later (atomic batches,
# per-subject publish expectations). Builds from the Go module proxy.
set -euo pipefail
cd "$(dirname "$0")/.."
NATS_SERVER_VERSION=v2.15.2
tools=$PWD/.tools
mkdir -p "$tools/bin"
if [ ! -x "$tools/bin/nats-server" ] || [ ! -f "$tools/.installed-nats-server-$NATS_SERVER_VERSION" ]; then
  echo "installing nats-server $NATS_SERVER_VERSION into .tools/bin" >&2
  GOBIN="$tools/bin" go install "github.com/nats-io/nats-server/v2@$NATS_SERVER_VERSION"
  touch "$tools/.installed-nats-server-$NATS_SERVER_VERSION"
fi
