#!/usr/bin/env bash
# demo.sh is `make demo`: the main job end to end on a built-in default. It
# prepares only what the demo needs (the plugin, buildkitd and buildctl, a
# registry and the demo image: the test bed's demo profile), derives a
# Trivy-shaped report of the demo image's pending security updates, patches
# it with `docker patch image`, and reads both images back from the
# registry. Each phase says what it does and how long it took; a rerun
# reuses everything and takes well under a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
start=$(date +%s%3N)
phase_start=$start

# phase NAME: ends the previous phase (printing its time) and starts NAME.
phase() {
	local now
	now=$(date +%s%3N)
	[[ -z ${current:-} ]] || printf '    (%s: %d.%ds)\n' "$current" $(((now - phase_start) / 1000)) $((((now - phase_start) % 1000) / 100))
	current=$1 phase_start=$now
	[[ -z $1 ]] || printf '==> %s  [%ds elapsed]\n' "$1" $(((now - start) / 1000))
}

phase "building the docker patch plugin and installing it into ~/.docker/cli-plugins"
make --no-print-directory install >/dev/null
phase "starting the test bed's demo profile: buildkitd, a registry on 127.0.0.1, the demo image"
DARN_TESTBED_PROFILE=demo integration/testbed/up.sh 2>&1 | sed 's/^/    /'
set -a
# shellcheck source=/dev/null
source .testbed/env
set +a
mkdir -p .testbed/demo
phase "deriving a Trivy-shaped report from the security updates $DARN_DEMO_IMAGE's sources offer"
"$GO" run ./integration/cmd/darn-testreport report "$DARN_DEMO_IMAGE" .testbed/demo/report.json
phase "docker patch image $DARN_DEMO_IMAGE --report .testbed/demo/report.json --push"
docker patch image "$DARN_DEMO_IMAGE" --report .testbed/demo/report.json --push --progress plain
phase "reading both images back from the registry"
"$GO" run ./integration/cmd/darn-testreport compare "$DARN_DEMO_IMAGE" "$DARN_DEMO_IMAGE-patched"
phase ""
now=$(date +%s%3N)
printf '==> demo done in %d.%ds\n' $(((now - start) / 1000)) $((((now - start) % 1000) / 100))
