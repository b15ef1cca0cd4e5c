#!/usr/bin/env bash
# Builds the static pointsync binary. The Dockerfile and .ci/run both call
# this, so CI checks the build the image ships.
# Usage: deploy/build.sh OUTPUT [VERSION]
set -euo pipefail
out=${1:?usage: deploy/build.sh OUTPUT [VERSION]}
version=${2:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${version}" -o "$out" ./cmd/pointsync
