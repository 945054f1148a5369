#!/usr/bin/env bash
# Runs the guest/go package tests inside the wasi-memfd runner, with the host
# limits and the preopened file that the limit and preopen tests expect.
#
#   guest/go/test.sh [go test flags...]     e.g. guest/go/test.sh -v -run Max
#
# Builds the runner first (scripts/runner.sh; WASI_MEMFD_RUNNER overrides
# it). tests/runner/go_guest.rs runs the same.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=../../scripts/toolchains.sh
source "$root/scripts/toolchains.sh"
# shellcheck source=../../scripts/runner.sh
source "$root/scripts/runner.sh"

# Keep these in step with tests/runner/go_guest.rs.
max_files=16
max_file_size=65536
max_total_size=262144
exec_cmd="'$runner' run --max-files $max_files --max-file-size $max_file_size"
exec_cmd+=" --max-total-size $max_total_size"
exec_cmd+=" --preopen 'greeting=$here/memfd/testdata/greeting.txt'"
exec_cmd+=" --env WASI_MEMFD_TEST_PREOPEN=greeting"
exec_cmd+=" --env WASI_MEMFD_TEST_MAX_FILES=$max_files"
exec_cmd+=" --env WASI_MEMFD_TEST_MAX_FILE_SIZE=$max_file_size"
exec_cmd+=" --env WASI_MEMFD_TEST_MAX_TOTAL_SIZE=$max_total_size"

cd "$here"
GOOS=wasip1 GOARCH=wasm "$WASI_MEMFD_GO" test -count=1 -exec "$exec_cmd" "$@" ./...
