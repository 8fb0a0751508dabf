#!/usr/bin/env bash
# Checks the Protobuf API: `buf lint` (STANDARD) and `buf format` are clean, and
# regenerating the TypeScript code and the reflection descriptor set from proto/
# reproduces exactly what is committed. Fails, naming the files, otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

buf() { node_modules/.bin/buf "$@"; }

buf lint proto
# The wire API is a contract: nothing may break clients built from the last release.
buf breaking proto --against api-baseline/v0.1.0.binpb
if ! buf format --diff --exit-code >/dev/null; then
  echo "proto: 'buf format' would change these files (run: npx buf format -w):" >&2
  buf format --diff >&2 || true
  exit 1
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
buf generate --output "$scratch"
bash scripts/build-descriptor-set.sh "$scratch/descriptor.binpb"

stale=0
if ! diff -r "$scratch/protocol/src/gen" protocol/src/gen >&2; then stale=1; fi
if ! cmp -s "$scratch/descriptor.binpb" server/gen/descriptor.binpb; then
  echo "server/gen/descriptor.binpb differs from proto/" >&2
  stale=1
fi
if [ "$stale" -ne 0 ]; then
  echo "proto: generated code is stale; run 'npm run generate' and commit the result." >&2
  exit 1
fi
echo "proto: lint, format, breaking-change check and generated code are up to date"
