#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# down.sh stops the processes integration/testbed/up.sh started (dockerd and
# the containerd it spawned, buildkitd, the registry, the mirror's
# http.server), identified by their pidfiles in .testbed/ and killed only if
# the pid's command line still names our binary and state paths. Caches
# (rootfs tarballs, registry storage, mirror) are kept, and so are the
# docker-buildx plugin, the buildx builder (a stopped bed's builder just
# cannot connect until up.sh runs again) and qemu's binfmt_misc entries.
#
#   down.sh          stop the daemons, keep .testbed/ (buildkit and docker
#                    storage, logs)
#   down.sh --purge  also delete .testbed/ and the bed's buildx builder
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
stop_dockerd
stop_pidfile buildkitd "$BUILDKITD_PIDFILE" "$BUILDKITD_BIN" "$BUILDKITD_SOCK"
rm -f "$BUILDKITD_SOCK" "$STATE/buildkitd.exec-ok" "$STATE/buildkitd.foreign-exec-ok"
unmount_stale_buildkit_mounts
stop_pidfile registry "$REGISTRY_PIDFILE" "$REGISTRY_BIN" "$REGISTRY_CONFIG"
stop_pidfile mirror "$MIRROR_PIDFILE" http.server "$MIRROR_DIR"
rm -f "$STATE/mirror.check-ok"

if [[ -n $purge ]]; then
	# Remove the builder only while it still points at this bed.
	if command -v docker >/dev/null &&
		[[ $(docker buildx inspect "$BUILDX_BUILDER" 2>/dev/null | awk '$1 == "Endpoint:" { print $2; exit }') == "$BUILDKIT_ADDR" ]]; then
		docker buildx rm "$BUILDX_BUILDER" >&2 || true
	fi
	exec 9>&-
	log "removing $STATE"
	safe_rm_tree "$STATE"
fi
log "test bed is down"
