#!/usr/bin/env bash
# Builds the descriptor set that server reflection serves (argument: output file).
# It holds our API and the two public schemas clients meet through it: the gRPC
# health service and google.rpc's error details, so that grpcurl can call Health
# and decode BadRequest/ErrorInfo details. Those two come from npm packages at
# build time (grpc-health-check, google-proto-files); nothing is vendored.
# FileDescriptorSet's only field is `repeated FileDescriptorProto file = 1`, so
# concatenating serialized sets yields one set holding every file.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1
buf() { node_modules/.bin/buf "$@"; }
parts=$(mktemp -d)
trap 'rm -rf "$parts"' EXIT
buf build proto --as-file-descriptor-set -o "$parts/1.binpb"
buf build node_modules/grpc-health-check/proto --as-file-descriptor-set -o "$parts/2.binpb"
buf build node_modules/google-proto-files \
  --path node_modules/google-proto-files/google/rpc/error_details.proto \
  --as-file-descriptor-set -o "$parts/3.binpb"
cat "$parts/1.binpb" "$parts/2.binpb" "$parts/3.binpb" > "$out"
