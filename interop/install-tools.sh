#!/usr/bin/env bash
# Installs the interop suite's tools at pinned versions into .tools/ (ignored by
# git), from the registries this machine reaches: grpcurl and the Go protoc
# plugins with `go install`, Python's grpcio packages into a virtual environment
# with pip. A second run finds them installed and does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

GRPCURL_VERSION=v1.9.3
PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2
GRPCIO_VERSION=1.85.1

tools=$PWD/.tools
mkdir -p "$tools/bin"
stamp() { echo "$tools/.installed-$1-$2"; }

go_tool() { # name module version
  if [ ! -x "$tools/bin/$1" ] || [ ! -f "$(stamp "$1" "$3")" ]; then
    echo "interop: installing $1 $3"
    GOBIN="$tools/bin" go install "$2@$3"
    touch "$(stamp "$1" "$3")"
  fi
}
go_tool grpcurl github.com/fullstorydev/grpcurl/cmd/grpcurl "$GRPCURL_VERSION"
go_tool protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go "$PROTOC_GEN_GO_VERSION"
go_tool protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC_VERSION"

if [ ! -x "$tools/venv/bin/python" ] || [ ! -f "$(stamp grpcio "$GRPCIO_VERSION")" ]; then
  echo "interop: installing grpcio $GRPCIO_VERSION into .tools/venv"
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check \
    "grpcio==$GRPCIO_VERSION" "grpcio-tools==$GRPCIO_VERSION" "grpcio-status==$GRPCIO_VERSION"
  touch "$(stamp grpcio "$GRPCIO_VERSION")"
fi
