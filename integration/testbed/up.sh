#!/usr/bin/env bash
# up.sh brings up darn's integration test bed and writes .testbed/env:
#   - a loopback-only registry (Debian's docker-registry) on a free port,
#   - a buildkitd (oci/runc worker) on a unix socket, trusting that registry,
#   - the test images darn-test/debian:bookworm and :bookworm-plain, built
#     from a cached debootstrap rootfs whose apt sources point at this
#     machine's Debian mirrors and which is deliberately not upgraded.
# It is idempotent: a rerun reuses live daemons and images already pushed.
#
# Per-clone state lives in $ROOT/.testbed; caches that a fresh clone on the
# same machine can reuse (rootfs tarball, registry storage) in
# ${DARN_TESTBED_CACHE:-$HOME/.cache/darn-testbed}.
#
# Environment knobs: DARN_TESTBED_CACHE, DARN_TESTBED_SUITE (bookworm),
# DARN_TESTBED_SNAPSHOTTER (auto), DARN_DEBIAN_MIRROR and
# DARN_DEBIAN_SECURITY_MIRROR (default: read from /etc/apt/sources.list.d).
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

APT_PACKAGES=(
	runc debootstrap debian-archive-keyring docker-registry skopeo jq
	ca-certificates curl iproute2 util-linux tar gzip
)
TEST_REPO=darn-test/debian
TEST_TAG=$SUITE
DEMO_TAG=$SUITE-plain

cleanup_dirs=()
policy_rc_guard=
on_exit() {
	local d
	for d in "${cleanup_dirs[@]}"; do safe_rm_tree "$d" || true; done
	if [[ -n $policy_rc_guard ]]; then rm -f "$policy_rc_guard"; fi
}
trap on_exit EXIT

ensure_apt_packages() {
	local p installed missing=()
	# One dpkg-query for all (it is slow to start); unknown names are absent.
	installed=" $(dpkg-query -W -f='${Package}=${db:Status-Status} ' "${APT_PACKAGES[@]}" 2>/dev/null || true)"
	for p in "${APT_PACKAGES[@]}"; do
		[[ $installed == *" $p=installed "* ]] || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	log "installing apt packages: ${missing[*]}"
	# Keep maintainer scripts from starting services (docker-registry's init
	# script would start a registry with htpasswd auth on *:5000). We never
	# use that service; the bed runs its own registry.
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		policy_rc_guard=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' >"$policy_rc_guard"
		chmod 755 "$policy_rc_guard"
	fi
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
	if [[ -n $policy_rc_guard ]]; then
		rm -f "$policy_rc_guard"
		policy_rc_guard=
	fi
}

# note_system_registry mentions a running Debian docker-registry service
# (sysvinit or systemd). It is left alone: the bed never talks to it.
note_system_registry() {
	local pid
	if [[ -s /var/run/docker-registry.pid ]]; then
		pid=$(</var/run/docker-registry.pid)
		if kill -0 "$pid" 2>/dev/null; then
			log "note: Debian's docker-registry service runs as pid $pid; the bed ignores it and runs its own"
		fi
	elif [[ -d /run/systemd/system ]] && systemctl is-active --quiet docker-registry 2>/dev/null; then
		log "note: Debian's docker-registry.service is active; the bed ignores it and runs its own"
	fi
}

ensure_buildkit_binaries() {
	local b stale=
	for b in "$BUILDKITD_BIN" "$BUILDCTL_BIN"; do
		if [[ ! -x $b || $ROOT/tools/go.mod -nt $b || $ROOT/tools/go.sum -nt $b ]]; then
			stale=1
		fi
	done
	[[ -n $stale ]] || return 0
	command -v go >/dev/null || die "go is not on PATH; it is needed to build bin/buildkitd and bin/buildctl"
	log "building bin/buildkitd and bin/buildctl from tools/go.mod"
	(cd "$ROOT/tools" && go build -o ../bin/ github.com/moby/buildkit/cmd/buildkitd github.com/moby/buildkit/cmd/buildctl)
	# go build may leave an identical binary untouched; the mtime is our stamp.
	touch "$BUILDKITD_BIN" "$BUILDCTL_BIN"
}

discover_mirrors() {
	MIRROR=${DARN_DEBIAN_MIRROR:-$(discover_mirror "$SUITE" /debian)}
	SECURITY_MIRROR=${DARN_DEBIAN_SECURITY_MIRROR:-$(discover_mirror "$SUITE-security" /debian-security)}
	[[ -n $MIRROR ]] || die "no Debian mirror for $SUITE in /etc/apt/sources.list.d or /etc/apt/sources.list (set DARN_DEBIAN_MIRROR)"
	[[ -n $SECURITY_MIRROR ]] || die "no Debian security mirror for $SUITE-security in the apt configuration (set DARN_DEBIAN_SECURITY_MIRROR)"
	MIRROR=${MIRROR%/}
	SECURITY_MIRROR=${SECURITY_MIRROR%/}
}

# render TEMPLATE OUT KEY=VALUE... replaces @KEY@ placeholders.
render() {
	local tmpl=$1 out=$2 kv args=()
	shift 2
	for kv in "$@"; do
		args+=(-e "s|@${kv%%=*}@|${kv#*=}|g")
	done
	sed "${args[@]}" "$tmpl" >"$out"
}

# start_daemon PIDFILE LOG CMD... starts CMD in its own session, detached from
# our terminal and from the lock descriptors.
start_daemon() {
	local pidfile=$1 logfile=$2
	shift 2
	printf '==== %s starting: %s\n' "$(date -u +%FT%TZ)" "$*" >>"$logfile"
	setsid "$@" </dev/null >>"$logfile" 2>&1 8>&- 9>&- &
	echo $! >"$pidfile"
}

ensure_registry() {
	local port prev attempt rc
	prev=$(cat "$REGISTRY_PORTFILE" 2>/dev/null || true)
	if [[ -n $prev ]] && pid_matches "$REGISTRY_PIDFILE" "$REGISTRY_BIN" "$REGISTRY_CONFIG" && registry_up "$prev"; then
		REGISTRY_PORT=$prev
		log "registry: reusing pid $(<"$REGISTRY_PIDFILE") on 127.0.0.1:$REGISTRY_PORT"
		return 0
	fi
	stop_pidfile registry "$REGISTRY_PIDFILE" "$REGISTRY_BIN" "$REGISTRY_CONFIG"
	mkdir -p "$CACHE/registry"
	for attempt in 1 2 3; do
		port=$(free_port "$prev")
		render "$TESTBED_DIR/registry.yml.in" "$REGISTRY_CONFIG" STORAGE="$CACHE/registry" PORT="$port"
		start_daemon "$REGISTRY_PIDFILE" "$REGISTRY_LOG" "$REGISTRY_BIN" serve "$REGISTRY_CONFIG"
		rc=0
		wait_until 20 "$REGISTRY_PIDFILE" registry_up "$port" || rc=$?
		if ((rc == 0)) && pid_matches "$REGISTRY_PIDFILE" "$REGISTRY_BIN" "$REGISTRY_CONFIG"; then
			REGISTRY_PORT=$port
			echo "$port" >"$REGISTRY_PORTFILE"
			log "registry: started pid $(<"$REGISTRY_PIDFILE") on 127.0.0.1:$port (storage $CACHE/registry)"
			return 0
		fi
		# Lost a race for the port, most likely: try another one.
		stop_pidfile registry "$REGISTRY_PIDFILE" "$REGISTRY_BIN" "$REGISTRY_CONFIG"
		log "registry: port $port did not work (attempt $attempt)"
		prev=
	done
	log_tail "$REGISTRY_LOG"
	die "registry: could not start (log: $REGISTRY_LOG)"
}

# binary_unchanged succeeds when bin/buildkitd is the binary the running
# daemon was started from: same stat, or same content after a rebuild that
# only touched it (then the stamp is refreshed).
binary_unchanged() {
	local stamp="$STATE/buildkitd.binstamp" st sum old_st old_sum
	[[ -s $stamp ]] || return 1
	read -r old_st old_sum <"$stamp"
	st=$(stat -c '%i:%s:%Y' "$BUILDKITD_BIN")
	[[ $st == "$old_st" ]] && return 0
	sum=$(sha256sum "$BUILDKITD_BIN" | cut -d' ' -f1)
	[[ $sum == "$old_sum" ]] || return 1
	echo "$st $sum" >"$stamp"
}

write_binary_stamp() {
	echo "$(stat -c '%i:%s:%Y' "$BUILDKITD_BIN") $(sha256sum "$BUILDKITD_BIN" | cut -d' ' -f1)" >"$STATE/buildkitd.binstamp"
}

ensure_buildkitd() {
	local newconf="$BUILDKITD_CONFIG.new" runc
	((${#BUILDKITD_SOCK} < 100)) || die "socket path $BUILDKITD_SOCK is too long for a unix socket; use a shorter checkout path"
	runc=$(command -v runc || true)
	[[ -n $runc ]] || runc=/usr/sbin/runc
	[[ -x $runc ]] || die "runc not found"
	mkdir -p "$BUILDKITD_ROOT"
	render "$TESTBED_DIR/buildkitd.toml.in" "$newconf" \
		BUILDKITD_ROOT="$BUILDKITD_ROOT" BUILDKIT_ADDR="$BUILDKIT_ADDR" RUNC="$runc" \
		SNAPSHOTTER="${DARN_TESTBED_SNAPSHOTTER:-auto}" REGISTRY="127.0.0.1:$REGISTRY_PORT"
	if pid_matches "$BUILDKITD_PIDFILE" "$BUILDKITD_BIN" "$BUILDKITD_SOCK"; then
		local why=
		if ! cmp -s "$newconf" "$BUILDKITD_CONFIG"; then
			why="config changed (registry port?)"
		elif ! binary_unchanged; then
			why="bin/buildkitd was rebuilt"
		elif ! wait_until 15 "$BUILDKITD_PIDFILE" buildkit_ready; then
			why="it does not answer on $BUILDKIT_ADDR"
		fi
		if [[ -z $why ]]; then
			rm -f "$newconf"
			log "buildkitd: reusing pid $(<"$BUILDKITD_PIDFILE") at $BUILDKIT_ADDR"
			return 0
		fi
		log "buildkitd: restarting: $why"
	fi
	stop_pidfile buildkitd "$BUILDKITD_PIDFILE" "$BUILDKITD_BIN" "$BUILDKITD_SOCK"
	unmount_stale_buildkit_mounts
	mv "$newconf" "$BUILDKITD_CONFIG"
	rm -f "$BUILDKITD_SOCK" "$STATE/buildkitd.exec-ok"
	write_binary_stamp
	# runc and its helpers live in sbin, which a non-login PATH may lack.
	PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" start_daemon "$BUILDKITD_PIDFILE" "$BUILDKITD_LOG" \
		"$BUILDKITD_BIN" --config "$BUILDKITD_CONFIG" --root "$BUILDKITD_ROOT" --addr "$BUILDKIT_ADDR"
	wait_for 60 "$BUILDKITD_PIDFILE" "$BUILDKITD_LOG" buildkitd buildkit_ready
	pid_matches "$BUILDKITD_PIDFILE" "$BUILDKITD_BIN" "$BUILDKITD_SOCK" || die "buildkitd: pidfile does not name the daemon"
	log "buildkitd: started pid $(<"$BUILDKITD_PIDFILE") at $BUILDKIT_ADDR ($(worker_summary))"
}

worker_summary() {
	"$BUILDCTL_BIN" --addr "$BUILDKIT_ADDR" debug workers --format \
		'{{range .}}{{index .Labels "org.mobyproject.buildkit.worker.executor"}} worker, {{index .Labels "org.mobyproject.buildkit.worker.snapshotter"}} snapshotter, {{index .Labels "org.mobyproject.buildkit.worker.network"}} network{{end}}' \
		2>/dev/null | tr -d '\n' || true
}

debian_sources() {
	cat <<-EOF
		Types: deb
		URIs: $MIRROR
		Suites: $SUITE $SUITE-updates
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

		Types: deb
		URIs: $SECURITY_MIRROR
		Suites: $SUITE-security
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
}

# ensure_rootfs sets ROOTFS_TARBALL to a cached debootstrap minbase rootfs.
ensure_rootfs() {
	local arch include=() suffix='' work
	arch=$(dpkg --print-architecture)
	# apt needs CA certificates to talk to https mirrors.
	if [[ $MIRROR$SECURITY_MIRROR == *https://* ]]; then
		include=(--include=ca-certificates)
		suffix=+ca
	fi
	ROOTFS_TARBALL="$CACHE/rootfs/debian-$SUITE-minbase$suffix-$arch.tar.gz"
	[[ -s $ROOTFS_TARBALL ]] && return 0
	mkdir -p "$CACHE/rootfs"
	work=$(mktemp -d "$CACHE/rootfs/.work.XXXXXX")
	cleanup_dirs+=("$work")
	log "debootstrap: $SUITE minbase ($arch) from $MIRROR (log: $STATE/debootstrap.log)"
	if ! debootstrap --variant=minbase --arch="$arch" "${include[@]}" "$SUITE" "$work/rootfs" "$MIRROR" >"$STATE/debootstrap.log" 2>&1; then
		log_tail "$STATE/debootstrap.log"
		die "debootstrap failed (log: $STATE/debootstrap.log)"
	fi
	# debootstrap copies the host's resolv.conf and hostname; the runtime
	# provides both.
	rm -f "$work/rootfs/etc/resolv.conf" "$work/rootfs/etc/hostname"
	tar -C "$work/rootfs" --numeric-owner --anchored \
		--exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
		--exclude='./var/cache/apt/archives/*.deb' --exclude='./var/lib/apt/lists/*' \
		-czf "$work/rootfs.tar.gz" .
	mv "$work/rootfs.tar.gz" "$ROOTFS_TARBALL"
	safe_rm_tree "$work"
	log "debootstrap: cached $ROOTFS_TARBALL ($(du -h "$ROOTFS_TARBALL" | cut -f1))"
}

# image_inputs_hash identifies everything the images are built from except
# the rootfs tarball itself (so a warm registry never needs the tarball).
image_inputs_hash() {
	{
		echo "layout 1 $SUITE minbase"
		cat "$TESTBED_DIR/image/Dockerfile" "$TESTBED_DIR/image/Dockerfile.plain"
		(cd "$TESTBED_DIR/image" && find app -type f -print0 | sort -z | xargs -0 sha256sum)
		debian_sources
	} | sha256sum | cut -d' ' -f1
}

build_image() {
	local ctx=$1 dockerfile=$2 ref=$3 logfile=$4
	if ! "$BUILDCTL_BIN" --addr "$BUILDKIT_ADDR" build --progress plain \
		--frontend dockerfile.v0 --opt filename="$dockerfile" \
		--local context="$ctx" --local dockerfile="$TESTBED_DIR/image" \
		--output "type=image,name=$ref,push=true,registry.insecure=true" >"$logfile" 2>&1; then
		log_tail "$logfile" 40
		die "building $ref failed (log: $logfile)"
	fi
}

ensure_images() {
	local reg="127.0.0.1:$REGISTRY_PORT" hash stamp="$CACHE/images.stamp" stage
	hash=$(image_inputs_hash)
	if [[ $(cat "$stamp" 2>/dev/null) == "$hash" ]] &&
		TEST_DIGEST=$(manifest_digest "$reg" "$TEST_REPO" "$TEST_TAG") &&
		DEMO_DIGEST=$(manifest_digest "$reg" "$TEST_REPO" "$DEMO_TAG"); then
		log "images: $TEST_REPO:$TEST_TAG and :$DEMO_TAG already in the registry"
		return 0
	fi
	ensure_rootfs
	log "images: building $TEST_REPO:$TEST_TAG and :$DEMO_TAG"
	stage="$STATE/image-build"
	safe_rm_tree "$stage"
	cleanup_dirs+=("$stage")
	mkdir -p "$stage/rootfs" "$stage/context"
	tar -C "$stage/rootfs" --numeric-owner -xpzf "$ROOTFS_TARBALL"
	# Point apt at this machine's mirrors, the way official Debian images do
	# (deb822), including -security: the packages stay at the release
	# versions, so the image carries real pending security fixes.
	rm -f "$stage/rootfs/etc/apt/sources.list"
	mkdir -p "$stage/rootfs/etc/apt/sources.list.d"
	debian_sources >"$stage/rootfs/etc/apt/sources.list.d/debian.sources"
	rm -rf "$stage/rootfs/var/lib/apt/lists/"* "$stage/rootfs/var/cache/apt/"*.bin
	tar -C "$stage/rootfs" --numeric-owner -cf "$stage/context/rootfs.tar" .
	safe_rm_tree "$stage/rootfs"
	cp -a "$TESTBED_DIR/image/app" "$stage/context/app"
	build_image "$stage/context" Dockerfile "$reg/$TEST_REPO:$TEST_TAG" "$STATE/build-test-image.log"
	build_image "$stage/context" Dockerfile.plain "$reg/$TEST_REPO:$DEMO_TAG" "$STATE/build-demo-image.log"
	safe_rm_tree "$stage"
	echo "$hash" >"$stamp"
	TEST_DIGEST=$(manifest_digest "$reg" "$TEST_REPO" "$TEST_TAG") || die "images: $TEST_IMAGE missing after push"
	DEMO_DIGEST=$(manifest_digest "$reg" "$TEST_REPO" "$DEMO_TAG") || die "images: $DEMO_IMAGE missing after push"
	log "images: pushed to $reg"
}

# check_exec runs one container per buildkitd process, proving runc works.
check_exec() {
	local pid dir="$STATE/exec-check" logfile="$STATE/exec-check.log"
	pid=$(<"$BUILDKITD_PIDFILE")
	[[ $(cat "$STATE/buildkitd.exec-ok" 2>/dev/null) == "$pid" ]] && return 0
	mkdir -p "$dir"
	# shellcheck disable=SC2016 # expanded by the container's shell
	printf 'FROM %s\nRUN echo "exec ok: debian $(cat /etc/debian_version), uid $(id -u)"\n' "$DEMO_IMAGE" >"$dir/Dockerfile"
	if ! "$BUILDCTL_BIN" --addr "$BUILDKIT_ADDR" build --progress plain --no-cache \
		--frontend dockerfile.v0 --local context="$dir" --local dockerfile="$dir" >"$logfile" 2>&1; then
		log_tail "$logfile" 40
		log_tail "$BUILDKITD_LOG" 20
		die "buildkitd cannot run a container (log: $logfile)"
	fi
	echo "$pid" >"$STATE/buildkitd.exec-ok"
	log "buildkitd: $(grep -m1 -Eo '^#[0-9]+ [0-9.]+ exec ok: .*' "$logfile" | cut -d' ' -f3-)"
}

write_env() {
	local tmp="$STATE/env.tmp" kv
	local vars=(
		"BUILDKIT_HOST=$BUILDKIT_ADDR"
		"DARN_REGISTRY=127.0.0.1:$REGISTRY_PORT"
		"DARN_TEST_IMAGE=$TEST_IMAGE"
		"DARN_TEST_IMAGE_DIGEST=$TEST_DIGEST"
		"DARN_DEMO_IMAGE=$DEMO_IMAGE"
		"DARN_DEMO_IMAGE_DIGEST=$DEMO_DIGEST"
		"DARN_TESTBED_DIR=$STATE"
		"DARN_TESTBED_CACHE=$CACHE"
		"DARN_BUILDCTL=$BUILDCTL_BIN"
		"DARN_DEBIAN_SUITE=$SUITE"
		"DARN_DEBIAN_MIRROR=$MIRROR"
		"DARN_DEBIAN_SECURITY_MIRROR=$SECURITY_MIRROR"
	)
	: >"$tmp"
	for kv in "${vars[@]}"; do
		[[ $kv =~ ^[A-Z_]+=[^[:space:]\"\'\$\`\;\&\|]+$ ]] || die "cannot write '$kv' to the env file unquoted"
		echo "$kv" >>"$tmp"
	done
	mv "$tmp" "$STATE/env"
}

main() {
	local t0 rc
	t0=$(now_ms)
	[[ $EUID -eq 0 ]] || die "run as root: debootstrap and the runc worker need it"
	mkdir -p "$STATE" "$CACHE"
	exec 9>"$STATE/lock"
	flock -w 600 9 || die "another up.sh/down.sh holds $STATE/lock"

	ensure_apt_packages
	note_system_registry
	ensure_buildkit_binaries
	discover_mirrors
	ensure_registry
	ensure_buildkitd

	TEST_IMAGE="127.0.0.1:$REGISTRY_PORT/$TEST_REPO:$TEST_TAG"
	DEMO_IMAGE="127.0.0.1:$REGISTRY_PORT/$TEST_REPO:$DEMO_TAG"
	# The cache is shared by every clone on the machine.
	exec 8>"$CACHE/lock"
	flock -w 1800 8 || die "timed out waiting for $CACHE/lock"
	ensure_images
	exec 8>&-
	check_exec
	write_env
	rc=$(($(now_ms) - t0))
	log "ready in $((rc / 1000)).$(printf '%03d' $((rc % 1000)) | cut -c1)s; source $STATE/env"
}

main "$@"
