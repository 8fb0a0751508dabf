#!/usr/bin/env bash
# Generates the Python and Go clients from proto/ into ignored folders: Python
# with grpcio-tools' protoc, Go with `buf generate` and the local Go plugins.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=$PWD/.tools
protos=$(cd proto && find edupulse -name '*.proto' | sort)

for out in interop/python/gen examples/python/gen; do
  rm -rf "$out" && mkdir -p "$out"
  # google/rpc/status.proto (an import) from the npm package; its Python code comes with googleapis-common-protos.
  (cd proto && "$tools/venv/bin/python" -m grpc_tools.protoc -I . -I ../node_modules/google-proto-files \
    --python_out="../$out" --grpc_python_out="../$out" --pyi_out="../$out" $protos)
done

export PATH="$tools/bin:$PATH"
for module in interop/go examples/go; do
  rm -rf "$module/gen"
  node_modules/.bin/buf generate proto --template "$module/buf.gen.yaml" --output "$module"
done
