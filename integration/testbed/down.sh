#!/usr/bin/env bash
# down.sh stops the processes integration/testbed/up.sh started (buildkitd
# and the registry), identified by their pidfiles in .testbed/ and killed
# only if the pid's command line still names our binary and state paths.
# Caches (rootfs tarball, registry storage) are kept.
#
#   down.sh          stop the daemons, keep .testbed/ (buildkit cache, logs)
#   down.sh --purge  also delete .testbed/
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

purge=
case ${1:-} in
'') ;;
--purge) purge=1 ;;
*) die "usage: $0 [--purge]" ;;
esac

[[ -d $STATE ]] || { log "nothing to stop ($STATE does not exist)"; exit 0; }
exec 9>"$STATE/lock"
flock -w 600 9 || die "another up.sh/down.sh holds $STATE/lock"

rm -f "$STATE/env"
stop_pidfile buildkitd "$BUILDKITD_PIDFILE" "$BUILDKITD_BIN" "$BUILDKITD_SOCK"
rm -f "$BUILDKITD_SOCK" "$STATE/buildkitd.exec-ok"
unmount_stale_buildkit_mounts
stop_pidfile registry "$REGISTRY_PIDFILE" "$REGISTRY_BIN" "$REGISTRY_CONFIG"

if [[ -n $purge ]]; then
	exec 9>&-
	log "removing $STATE"
	safe_rm_tree "$STATE"
fi
log "test bed is down"
