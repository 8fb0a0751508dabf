#!/usr/bin/env bash
# Regenerates the client libraries' code from proto/ (run it after changing a
# .proto file, and commit the result): Python into clients/python/src/edupulse
# with grpcio-tools' protoc, Go into clients/go/gen with `buf generate` and the
# pinned Go plugins. The tools come from interop/install-tools.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=$PWD/.tools
protos=$(cd proto && find edupulse -name '*.proto' | sort)

python_out=clients/python/src
rm -rf "$python_out/edupulse"
# google/rpc/status.proto (an import) from the npm package; its Python code comes with googleapis-common-protos.
(cd proto && "$tools/venv/bin/python" -m grpc_tools.protoc -I . -I ../node_modules/google-proto-files \
  --python_out="../$python_out" --grpc_python_out="../$python_out" --pyi_out="../$python_out" $protos)
# protoc writes a *_pb2_grpc.py for every file; those of files without a service hold nothing.
grep -L '^class ' "$python_out"/edupulse/*/v1/*_pb2_grpc.py | xargs -r rm

export PATH="$tools/bin:$PATH"
rm -rf clients/go/gen
node_modules/.bin/buf generate proto --template clients/go/buf.gen.yaml --output clients/go
