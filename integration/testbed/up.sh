#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# up.sh brings up darn's integration test bed and writes .testbed/env:
#   - a loopback-only registry (Debian's docker-registry) on a free port,
#   - a buildkitd (oci/runc worker) on a unix socket, trusting that registry,
#   - the test images darn-test/debian:bookworm and :bookworm-plain, built
#     from a cached debootstrap rootfs whose apt sources point at this
#     machine's Debian mirrors and which is deliberately not upgraded,
#   - bin/buildx (tools/go.mod) installed as the docker-buildx CLI plugin, and
#     a buildx builder "darn-testbed" (remote driver) on that buildkitd,
#   - a Docker Engine of its own (Debian's docker.io, 20.10 on bookworm) on a
#     unix socket, with its own data/exec roots and its own containerd,
#   - variants built from the same rootfs: darn-test/debian:bookworm-slim (a
#     slim tooling image with apt, dpkg and gpgv), darn-test/debian:
#     bookworm-offline (the test image's rootfs, apt sources on hosts that
#     never resolve) and darn-test/distroless:bookworm (a distroless-shaped
#     image: a few packages' files, status.d database, no shell/apt/dpkg),
#   - a partial copy of the Debian archive (signed InRelease files, indices,
#     the .debs of the test image's pending upgrades) and a tampered copy of
#     it, served on 127.0.0.1 by Python's http.server (see mirror.sh),
#   - qemu-user-static's qemu-aarch64 in binfmt_misc (fix-binary), so that
#     buildkitd runs arm64 containers, and darn-test/debian:bookworm-multi, an
#     OCI index with linux/amd64 and linux/arm64 images of the test image
#     built in one build, each from its architecture's debootstrap rootfs (the
#     arm64 one debootstrapped in two stages, the second under qemu; see
#     multiarch.sh),
#   - an RPM world (see rpm.sh): signed test packages (x86_64, aarch64 and
#     noarch) in a signed yum/dnf/zypper repository (and a tampered copy)
#     served below the mirror at /rpm/, and darn-test/rpm:{dnf,offline,rpmdb,
#     manifest,zypper,tooling} with rpm databases (or Azure Linux's rpm
#     manifests) of those packages, the offline one's repository file on a
#     host that never resolves, and darn-test/rpm:dnf-multi, an OCI index of
#     the dnf image for linux/amd64 and linux/arm64 (rpm-multi.sh),
#   - an apk world (see apk.sh): signed apk packages (x86_64, aarch64) in
#     signed repositories (and tampered copies) below the mirror at /apk/,
#     and darn-test/apk:{alpine,wolfi}, their apk databases listing those
#     packages (wolfi an OCI index for linux/amd64 and linux/arm64).
# It is idempotent: a rerun reuses live daemons and images already pushed.
#
# Per-clone state lives in $ROOT/.testbed; caches that a fresh clone on the
# same machine can reuse (rootfs tarball, registry storage) in
# ${DARN_TESTBED_CACHE:-$HOME/.cache/darn-testbed}.
#
# Environment knobs: DARN_TESTBED_CACHE, DARN_TESTBED_SUITE (bookworm),
# DARN_TESTBED_SNAPSHOTTER (auto), DARN_DEBIAN_MIRROR and
# DARN_DEBIAN_SECURITY_MIRROR (default: read from /etc/apt/sources.list.d),
# DARN_BUILDX_BUILDER (darn-testbed), DARN_TESTBED_DOCKERD (1; 0 = no
# docker.io and no dockerd), DARN_TESTBED_MULTIARCH (1; 0 = no qemu, no
# arm64 rootfs and no multi-platform image), DARN_TESTBED_RPM (1; 0 = no
# RPM packages, repository or images), DARN_TESTBED_APK (1; 0 = no apk
# packages, repositories or images), DOCKER_CONFIG (where the buildx
# plugin and builder go; default ~/.docker), DARN_TESTBED_PROFILE (full;
# demo = only what `make demo` needs: buildkitd and buildctl, the registry
# and the test and demo images, no buildx, variants or mirror, and with
# the knobs above at 0; its env file then holds only those).
set -euo pipefail

PROFILE="${DARN_TESTBED_PROFILE:-full}"
if [[ $PROFILE == demo ]]; then
	export DARN_TESTBED_DOCKERD=0 DARN_TESTBED_MULTIARCH=0 DARN_TESTBED_RPM=0 DARN_TESTBED_APK=0
elif [[ $PROFILE != full ]]; then
	echo "up.sh: DARN_TESTBED_PROFILE=$PROFILE: want full or demo" >&2
	exit 2
fi

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=mirror.sh
source "$TESTBED_DIR/mirror.sh"
# shellcheck source=multiarch.sh
source "$TESTBED_DIR/multiarch.sh"
# shellcheck source=rpm.sh
source "$TESTBED_DIR/rpm.sh"
# shellcheck source=apk.sh
source "$TESTBED_DIR/apk.sh"

APT_PACKAGES=(
	runc debootstrap debian-archive-keyring docker-registry skopeo jq
	ca-certificates curl iproute2 util-linux tar gzip xz-utils gpgv python3
	busybox-static shellcheck
)
# docker.io brings dockerd, containerd and tini; runc is already listed. Its
# /usr/bin/docker (a 20.10 client) comes after /usr/local/bin on the usual
# PATH, so a newer CLI installed there keeps winning.
[[ $DOCKERD_ENABLED == 0 ]] || APT_PACKAGES+=(docker.io)
# qemu-user-static's static emulators and update-binfmts (multiarch.sh).
[[ $MULTIARCH_ENABLED == 0 ]] || APT_PACKAGES+=(qemu-user-static binfmt-support)
# rpmbuild, rpmsign, createrepo_c and gpg for the RPM world (rpm.sh); dnf
# and zypper run only inside its images.
[[ $RPM_ENABLED == 0 ]] || APT_PACKAGES+=(rpm createrepo-c gpg gpg-agent)
TEST_REPO=darn-test/debian
TEST_TAG=$SUITE
DEMO_TAG=$SUITE-plain
ARCHIVE_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

# Variants of the test image, built from the same rootfs (see
# ensure_variant_images): repository and tag per name.
declare -A VARIANT_REPO=([tooling]=darn-test/debian [offline]=darn-test/debian [distroless]=darn-test/distroless)
declare -A VARIANT_TAG=([tooling]=$SUITE-slim [offline]=$SUITE-offline [distroless]=$SUITE)
declare -A VARIANT_DIGEST=()
# The offline image's apt sources: the .invalid TLD never resolves.
OFFLINE_MIRROR=http://deb.darn-unreachable.invalid/debian
OFFLINE_SECURITY_MIRROR=http://security.darn-unreachable.invalid/debian-security
# The distroless image keeps these packages' files: what distroless base has
# (base-files, libc6, tzdata) and libraries with pending security fixes in
# the rootfs (on 2026-11-29: liblzma5, libpcre2-8-0, libzstd1, tzdata).
DISTROLESS_PACKAGES=(base-files libc6 liblzma5 libpcre2-8-0 libzstd1 tzdata)

cleanup_dirs=()
policy_rc_guard=
on_exit() {
	local d
	for d in "${cleanup_dirs[@]}"; do safe_rm_tree "$d" || true; done
	if [[ -n $policy_rc_guard ]]; then rm -f "$policy_rc_guard"; fi
}
trap on_exit EXIT

ensure_apt_packages() {
	local p installed missing=() t0
	# One dpkg-query for all (it is slow to start); unknown names are absent.
	installed=" $(dpkg-query -W -f='${Package}=${db:Status-Status} ' "${APT_PACKAGES[@]}" 2>/dev/null || true)"
	for p in "${APT_PACKAGES[@]}"; do
		[[ $installed == *" $p=installed "* ]] || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	if [[ " ${missing[*]} " == *" docker.io "* ]]; then
		# apt would remove Docker's own packages to make room for docker.io.
		installed=$(dpkg-query -W -f='${Package}=${db:Status-Status}\n' docker-ce docker-ce-cli containerd.io moby-engine 2>/dev/null |
			awk -F= '$2 == "installed" { printf "%s ", $1 }' || true)
		[[ -z $installed ]] || die "docker.io conflicts with the installed ${installed% }; set DARN_TESTBED_DOCKERD=0 to run the bed without its dockerd"
	fi
	log "installing apt packages: ${missing[*]}"
	t0=$(now_ms)
	# Keep maintainer scripts from starting services (docker-registry's init
	# script would start a registry with htpasswd auth on *:5000, docker.io's
	# and containerd's the system dockerd and containerd, binfmt-support's
	# would enable every imported format). We never use those services; the
	# bed runs its own daemons and registers qemu-aarch64 itself.
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
	log "installed apt packages in $(elapsed "$t0")"
}

# elapsed T0 prints the time since T0 (from now_ms) as seconds, e.g. 1.2s.
elapsed() {
	local ms=$(($(now_ms) - $1))
	printf '%d.%ds' $((ms / 1000)) $((ms % 1000 / 100))
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

# ensure_tool_binaries builds bin/buildkitd, bin/buildctl and bin/buildx
# from tools/go.mod when one is missing or older than tools/go.{mod,sum}.
ensure_tool_binaries() {
	local b stale='' t0
	local bins=("$BUILDKITD_BIN" "$BUILDCTL_BIN" "$BUILDX_BIN") pkgs=(github.com/moby/buildkit/cmd/buildkitd github.com/moby/buildkit/cmd/buildctl github.com/docker/buildx/cmd/buildx)
	if [[ $PROFILE == demo ]]; then
		# The demo needs no buildx: building it is a third of a cold start.
		bins=("${bins[@]:0:2}") pkgs=("${pkgs[@]:0:2}")
	fi
	for b in "${bins[@]}"; do
		if [[ ! -x $b || $ROOT/tools/go.mod -nt $b || $ROOT/tools/go.sum -nt $b ]]; then
			stale=1
		fi
	done
	[[ -n $stale ]] || return 0
	command -v go >/dev/null || die "go is not on PATH; it is needed to build bin/buildkitd, bin/buildctl and bin/buildx"
	log "building ${bins[*]#"$ROOT/"} from tools/go.mod"
	t0=$(now_ms)
	# The versions `make tools` stamps, so that the daemons say which they are.
	(cd "$ROOT/tools" && go build -o ../bin/ -ldflags "-X github.com/moby/buildkit/version.Version=$(go list -m -f '{{.Version}}' github.com/moby/buildkit) \
		-X github.com/docker/buildx/version.Version=$(go list -m -f '{{.Version}}' github.com/docker/buildx)" "${pkgs[@]}")
	# go build may leave an identical binary untouched; the mtime is our stamp.
	touch "${bins[@]}"
	log "built the tools in $(elapsed "$t0")"
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
	local newconf="$BUILDKITD_CONFIG.new" runc missing
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
		elif missing=$(missing_worker_platforms) && [[ -n $missing ]]; then
			# It looks for emulators when it starts (and when its workers are
			# listed, at most every 20s).
			why="its worker lacks ${missing% } (it started before qemu was registered)"
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
	missing=$(missing_worker_platforms)
	[[ -z $missing ]] || die "buildkitd: its worker lists $(worker_platforms | paste -sd,) but not ${missing% } although qemu is registered in $BINFMT_DIR (log: $BUILDKITD_LOG)"
	log "buildkitd: started pid $(<"$BUILDKITD_PIDFILE") at $BUILDKIT_ADDR ($(worker_summary))"
}

worker_summary() {
	"$BUILDCTL_BIN" --addr "$BUILDKIT_ADDR" debug workers --format \
		'{{range .}}{{index .Labels "org.mobyproject.buildkit.worker.executor"}} worker, {{index .Labels "org.mobyproject.buildkit.worker.snapshotter"}} snapshotter, {{index .Labels "org.mobyproject.buildkit.worker.network"}} network{{end}}' \
		2>/dev/null | tr -d '\n' || true
	printf ', platforms %s' "$(worker_platforms | paste -sd,)"
}

# debian_sources [MAIN_URI SECURITY_URI] prints deb822 apt sources for the
# suite, its -updates and -security (default: this machine's mirrors).
debian_sources() {
	local main=${1:-$MIRROR} security=${2:-$SECURITY_MIRROR}
	cat <<-EOF
		Types: deb
		URIs: $main
		Suites: $SUITE $SUITE-updates
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

		Types: deb
		URIs: $security
		Suites: $SUITE-security
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
}

offline_sources() {
	debian_sources "$OFFLINE_MIRROR" "$OFFLINE_SECURITY_MIRROR"
}

# rootfs_paths [ARCH] sets ROOTFS_TARBALL (a cached debootstrap minbase
# rootfs for ARCH, default the host's), ROOTFS_STATUS (its dpkg status,
# extracted) and ROOTFS_INCLUDE.
rootfs_paths() {
	local arch=${1:-$ARCH} suffix=''
	ROOTFS_INCLUDE=()
	# apt needs CA certificates to talk to https mirrors.
	if [[ $MIRROR$SECURITY_MIRROR == *https://* ]]; then
		ROOTFS_INCLUDE=(--include=ca-certificates)
		suffix=+ca
	fi
	ROOTFS_TARBALL="$CACHE/rootfs/debian-$SUITE-minbase$suffix-$arch.tar.gz"
	ROOTFS_STATUS="$CACHE/rootfs/debian-$SUITE-minbase$suffix-$arch.status"
}

# rootfs_status makes sure ROOTFS_STATUS is the tarball's dpkg status (the
# tarball itself is not needed while the extract is there).
rootfs_status() {
	rootfs_paths
	if [[ -s $ROOTFS_STATUS ]] && ! [[ $ROOTFS_TARBALL -nt $ROOTFS_STATUS ]]; then
		return 0
	fi
	ensure_rootfs
	tar -xzf "$ROOTFS_TARBALL" -O ./var/lib/dpkg/status >"$ROOTFS_STATUS.tmp"
	mv -f "$ROOTFS_STATUS.tmp" "$ROOTFS_STATUS"
}

# ensure_rootfs [ARCH] sets ROOTFS_TARBALL to a cached debootstrap minbase
# rootfs for ARCH (default: the host's). A foreign ARCH is debootstrapped in
# two stages: --foreign downloads and unpacks, then the second stage runs in
# a chroot through qemu (ensure_binfmt registered it with the F flag, so the
# rootfs needs no emulator inside).
ensure_rootfs() {
	local arch=${1:-$ARCH} work logfile t0 dpkg_arch
	rootfs_paths "$arch"
	[[ -s $ROOTFS_TARBALL ]] && return 0
	mkdir -p "$CACHE/rootfs"
	work=$(mktemp -d "$CACHE/rootfs/.work.XXXXXX")
	cleanup_dirs+=("$work")
	logfile="$STATE/debootstrap-$arch.log"
	t0=$(now_ms)
	log "debootstrap: $SUITE minbase ($arch) from $MIRROR (log: $logfile)"
	if [[ $arch == "$ARCH" ]]; then
		if ! debootstrap --variant=minbase --arch="$arch" "${ROOTFS_INCLUDE[@]}" "$SUITE" "$work/rootfs" "$MIRROR" >"$logfile" 2>&1; then
			log_tail "$logfile"
			die "debootstrap failed (log: $logfile)"
		fi
	else
		binfmt_enabled "${QEMU_BINFMT[$arch]:-none}" || die "debootstrap: cannot run $arch binaries: no qemu in $BINFMT_DIR (ensure_binfmt)"
		if ! {
			debootstrap --foreign --variant=minbase --arch="$arch" "${ROOTFS_INCLUDE[@]}" "$SUITE" "$work/rootfs" "$MIRROR" &&
				chroot "$work/rootfs" /debootstrap/debootstrap --second-stage
		} >"$logfile" 2>&1; then
			log_tail "$logfile"
			die "debootstrap ($arch, second stage under qemu) failed (log: $logfile)"
		fi
		dpkg_arch=$(chroot "$work/rootfs" dpkg --print-architecture 2>&1) || true
		[[ $dpkg_arch == "$arch" ]] || die "debootstrap: the $arch rootfs's dpkg says '$dpkg_arch'"
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
	log "debootstrap: cached $ROOTFS_TARBALL ($(du -h "$ROOTFS_TARBALL" | cut -f1)) in $(elapsed "$t0")"
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

# unpack_rootfs DIR [ARCH] extracts ARCH's rootfs tarball (default: the
# host's) into DIR and points apt at this machine's mirrors, the way official
# Debian images do (deb822), including -security: the packages stay at the
# release versions, so the images carry real pending security fixes.
unpack_rootfs() {
	local root=$1
	rootfs_paths "${2:-$ARCH}"
	tar -C "$root" --numeric-owner -xpzf "$ROOTFS_TARBALL"
	rm -f "$root/etc/apt/sources.list"
	mkdir -p "$root/etc/apt/sources.list.d"
	debian_sources >"$root/etc/apt/sources.list.d/debian.sources"
	rm -rf "$root/var/lib/apt/lists/"* "$root/var/cache/apt/"*.bin
}

# build_image CONTEXT DOCKERFILE REF LOG [BUILDCTL-BUILD-ARG...] builds
# image/DOCKERFILE with CONTEXT and pushes it as REF.
build_image() {
	local ctx=$1 dockerfile=$2 ref=$3 logfile=$4
	shift 4
	if ! "$BUILDCTL_BIN" --addr "$BUILDKIT_ADDR" build --progress plain \
		--frontend dockerfile.v0 --opt filename="$dockerfile" "$@" \
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
	unpack_rootfs "$stage/rootfs"
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

# variant_inputs_hash NAME identifies what the variant image NAME is built
# from, apart from the rootfs tarball (like image_inputs_hash), including the
# shell functions that shape it.
variant_inputs_hash() {
	local name=$1
	{
		echo "variant $name layout 1 $SUITE minbase $ARCH"
		case $name in
		tooling)
			cat "$TESTBED_DIR/image/Dockerfile.plain"
			(cd "$TESTBED_DIR/image" && find slim -type f -print0 | sort -z | xargs -0 sha256sum)
			declare -f slim_rootfs
			debian_sources
			;;
		offline)
			cat "$TESTBED_DIR/image/Dockerfile.plain"
			offline_sources
			;;
		distroless)
			cat "$TESTBED_DIR/image/Dockerfile.distroless"
			(cd "$TESTBED_DIR/image" && find distroless -type f -print0 | sort -z | xargs -0 sha256sum)
			declare -f make_distroless_rootfs distroless_stanza dpkg_info_name
			echo "${DISTROLESS_PACKAGES[*]}"
			;;
		esac
	} | sha256sum | cut -d' ' -f1
}

variant_ref() {
	echo "127.0.0.1:$REGISTRY_PORT/${VARIANT_REPO[$1]}:${VARIANT_TAG[$1]}"
}

# ensure_variant_images builds and pushes the variant images whose stamp or
# registry tag is missing, from one extraction of the rootfs, and sets
# VARIANT_DIGEST.
ensure_variant_images() {
	local reg="127.0.0.1:$REGISTRY_PORT" name hash todo=() stage digest t0
	for name in tooling offline distroless; do
		hash=$(variant_inputs_hash "$name")
		if [[ $(cat "$CACHE/images-$name.stamp" 2>/dev/null) == "$hash" ]] &&
			digest=$(manifest_digest "$reg" "${VARIANT_REPO[$name]}" "${VARIANT_TAG[$name]}"); then
			VARIANT_DIGEST[$name]=$digest
		else
			todo+=("$name")
		fi
	done
	if ((${#todo[@]} == 0)); then
		log "images: variants :${VARIANT_TAG[tooling]}, :${VARIANT_TAG[offline]} and ${VARIANT_REPO[distroless]}:${VARIANT_TAG[distroless]} already in the registry"
		return 0
	fi
	ensure_rootfs
	t0=$(now_ms)
	log "images: building ${todo[*]}"
	stage="$STATE/variant-build"
	safe_rm_tree "$stage"
	cleanup_dirs+=("$stage")
	mkdir -p "$stage/rootfs"
	unpack_rootfs "$stage/rootfs"
	# In this order: the tooling image slims the shared rootfs down.
	for name in offline distroless tooling; do
		[[ " ${todo[*]} " == *" $name "* ]] || continue
		mkdir -p "$stage/ctx-$name"
		"build_${name}_rootfs" "$stage/rootfs" "$stage/ctx-$name/rootfs.tar" "$stage"
		build_image "$stage/ctx-$name" "$([[ $name == distroless ]] && echo Dockerfile.distroless || echo Dockerfile.plain)" \
			"$(variant_ref "$name")" "$STATE/build-$name-image.log"
		rm -f "$stage/ctx-$name/rootfs.tar"
		VARIANT_DIGEST[$name]=$(manifest_digest "$reg" "${VARIANT_REPO[$name]}" "${VARIANT_TAG[$name]}") ||
			die "images: $(variant_ref "$name") missing after push"
		[[ $name != distroless ]] || verify_distroless_image "$(variant_ref "$name")" "$stage"
		variant_inputs_hash "$name" >"$CACHE/images-$name.stamp"
	done
	safe_rm_tree "$stage"
	log "images: pushed ${todo[*]} in $(elapsed "$t0")"
}

# build_offline_rootfs ROOT TAR: the test image's rootfs, its apt sources on
# hosts that never resolve.
build_offline_rootfs() {
	local root=$1 sources="$1/etc/apt/sources.list.d/debian.sources"
	offline_sources >"$sources"
	tar -C "$root" --numeric-owner -cf "$2" .
	debian_sources >"$sources"
}

# build_tooling_rootfs ROOT TAR: a slim rootfs (modifies ROOT).
build_tooling_rootfs() {
	slim_rootfs "$1"
	tar -C "$1" --numeric-owner -cf "$2" .
}

# slim_rootfs ROOT does what Docker's debian:*-slim images do: drops docs
# (but copyright files), manual pages, info pages and translations, and adds
# their dpkg excludes and apt settings (image/slim).
slim_rootfs() {
	local root=$1 d f
	find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
	find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
	for d in groff info linda lintian/overrides locale man; do
		[[ ! -d $root/usr/share/$d ]] || find "$root/usr/share/$d" -mindepth 1 -delete
	done
	while read -r f; do
		install -D -m 644 -o 0 -g 0 "$TESTBED_DIR/image/slim/$f" "$root/$f"
	done < <(cd "$TESTBED_DIR/image/slim" && find . -type f -printf '%P\n')
	for f in usr/bin/apt-get usr/bin/dpkg usr/bin/dpkg-deb usr/bin/gpgv usr/share/keyrings/debian-archive-keyring.gpg; do
		[[ -e $root/$f ]] || die "tooling image: $f is missing from the rootfs"
	done
}

# build_distroless_rootfs ROOT TAR STAGE
build_distroless_rootfs() {
	local dst="$3/distroless"
	make_distroless_rootfs "$1" "$dst" "${DISTROLESS_PACKAGES[@]}"
	tar -C "$dst" --numeric-owner -cf "$2" .
	safe_rm_tree "$dst"
}

# dpkg_info_name ROOT PKG prints the name PKG's files in var/lib/dpkg/info
# have: PKG, or PKG:ARCH for Multi-Arch: same packages.
dpkg_info_name() {
	local p
	for p in "$2" "$2:$ARCH"; do
		[[ -f $1/var/lib/dpkg/info/$p.list ]] && { echo "$p"; return 0; }
	done
	return 1
}

# distroless_stanza STATUS PKG prints PKG's paragraph of a dpkg status file
# as a control file: without the database's own fields (Status, Conffiles,
# Config-Version), like distroless's status.d files.
distroless_stanza() {
	awk -v p="$2" 'BEGIN { RS = ""; FS = "\n" }
		$1 == "Package: " p && $0 ~ /\nStatus: install ok installed(\n|$)/ {
			for (i = 1; i <= NF; i++) {
				if ($i !~ /^[ \t]/) skip = ($i ~ /^(Status|Conffiles|Config-Version):/)
				if (!skip) print $i
			}
			found = 1
			exit
		}
		END { exit !found }' "$1"
}

# make_distroless_rootfs SRC DST PKG... builds a distroless-shaped tree in DST
# from the rootfs in SRC: the files of PKG... (merged-/usr paths resolved, so
# lib/x86_64-linux-gnu/libc.so.6 lands in usr/lib/..., while the bin, lib,
# lib64 and sbin symlinks stay), without docs (but copyright files), manual
# pages, info pages, lintian overrides and translations; their database as
# var/lib/dpkg/status.d/PKG and PKG.md5sums, and no var/lib/dpkg/status;
# image/distroless/etc (passwd, group with root and nonroot 65532,
# nsswitch.conf); /home/nonroot, /tmp. No shell, no apt, no dpkg.
make_distroless_rootfs() {
	local src=$1 dst=$2 w="$2.work" p info f
	shift 2
	safe_rm_tree "$dst"
	safe_rm_tree "$w"
	mkdir -p "$dst" "$w"
	: >"$w/lists"
	for p in "$@"; do
		info=$(dpkg_info_name "$src" "$p") || die "distroless: package $p is not installed in the rootfs"
		cat "$src/var/lib/dpkg/info/$info.list" >>"$w/lists"
	done
	sed -e 's|^/||' "$w/lists" | grep -vx -e '' -e '\.' | LC_ALL=C sort -u >"$w/paths"
	# Resolve each parent directory inside SRC (realpath -e --relative-base
	# prints an absolute path for anything that resolves outside it).
	awk '{ d = $0; if (!sub(/\/[^\/]+$/, "", d)) d = "."; print d }' "$w/paths" | LC_ALL=C sort -u >"$w/dirs"
	(cd "$src" && xargs -d '\n' -a "$w/dirs" realpath -e --relative-base="$src" --) >"$w/resolved" ||
		die "distroless: cannot resolve the packages' directories in $src"
	[[ $(wc -l <"$w/dirs") == "$(wc -l <"$w/resolved")" ]] || die "distroless: realpath output does not match its input"
	! grep -q '^/' "$w/resolved" || die "distroless: a package directory resolves outside the rootfs: $(grep -m1 '^/' "$w/resolved")"
	paste -d '\t' "$w/dirs" "$w/resolved" >"$w/dirmap"
	awk -F'\t' 'NR == FNR { m[$1] = $2; next }
		{
			d = $0; b = $0
			if (sub(/\/[^\/]+$/, "", d)) sub(/^.*\//, "", b); else d = "."
			r = m[d]; p = (r == "." ? b : r "/" b)
			if (p ~ /^usr\/share\/(groff|info|linda|lintian|locale|man)(\/|$)/) next
			if (p ~ /^usr\/share\/doc\/[^\/]+\// && p !~ /^usr\/share\/doc\/[^\/]+\/copyright$/) next
			# the path and its parents
			print p; while (sub(/\/[^\/]+$/, "", p)) print p
		}' "$w/dirmap" "$w/paths" | LC_ALL=C sort -u >"$w/keep"
	while read -r f; do
		[[ -e $src/$f || -L $src/$f ]] || die "distroless: $f is listed by a package but missing from the rootfs"
	done <"$w/keep"
	tar -C "$src" --numeric-owner --no-recursion --verbatim-files-from --no-unquote -cf - -T "$w/keep" |
		tar -C "$dst" --numeric-owner -xpf -
	mkdir -p "$dst/var/lib/dpkg/status.d"
	for p in "$@"; do
		info=$(dpkg_info_name "$src" "$p")
		distroless_stanza "$src/var/lib/dpkg/status" "$p" >"$dst/var/lib/dpkg/status.d/$p" ||
			die "distroless: no installed $p in the rootfs' dpkg status"
		[[ ! -f $src/var/lib/dpkg/info/$info.md5sums ]] ||
			cp "$src/var/lib/dpkg/info/$info.md5sums" "$dst/var/lib/dpkg/status.d/$p.md5sums"
	done
	chmod 644 "$dst"/var/lib/dpkg/status.d/*
	while read -r f; do
		install -D -m 644 -o 0 -g 0 "$TESTBED_DIR/image/distroless/$f" "$dst/$f"
	done < <(cd "$TESTBED_DIR/image/distroless" && find . -type f -printf '%P\n')
	install -d -m 700 -o 65532 -g 65532 "$dst/home/nonroot"
	[[ -d $dst/tmp ]] || install -d -m 1777 "$dst/tmp"
	[[ -d $dst/root ]] || install -d -m 700 "$dst/root"
	for f in usr/bin/sh usr/bin/bash usr/bin/dash usr/bin/apt usr/bin/apt-get usr/bin/dpkg usr/bin/dpkg-deb \
		var/lib/dpkg/status var/lib/dpkg/info; do
		[[ ! -e $dst/$f && ! -L $dst/$f ]] || die "distroless: $f should not be in the image"
	done
	for f in etc/os-release usr/lib/os-release etc/debian_version etc/passwd etc/group; do
		[[ -e $dst/$f ]] || die "distroless: $f is missing"
	done
	safe_rm_tree "$w"
}

# verify_distroless_image REF STAGE lists the pushed image's layer and checks
# the distroless layout (what a patch tool sees), and its config.
verify_distroless_image() {
	local ref=$1 dir="$2/distroless-check" layers user p missing=() extra
	safe_rm_tree "$dir"
	skopeo copy -q --src-tls-verify=false "docker://$ref" "dir:$dir" >/dev/null || die "distroless: skopeo cannot copy $ref"
	mapfile -t layers < <(jq -r '.layers[].digest' "$dir/manifest.json")
	((${#layers[@]} == 1)) || die "distroless: expected one layer in $ref, got ${#layers[@]}"
	tar -tzf "$dir/${layers[0]#sha256:}" | sed -e 's|^\./||' -e 's|/$||' | LC_ALL=C sort >"$dir/listing"
	for p in "${DISTROLESS_PACKAGES[@]}"; do
		missing+=("var/lib/dpkg/status.d/$p" "var/lib/dpkg/status.d/$p.md5sums")
	done
	missing+=(etc/os-release usr/lib/os-release etc/debian_version etc/passwd etc/group tmp home/nonroot
		usr/share/zoneinfo/Etc/UTC bin lib64)
	mapfile -t missing < <(printf '%s\n' "${missing[@]}" | LC_ALL=C sort | comm -23 - "$dir/listing")
	grep -q '^usr/lib/[^/]*/libc\.so\.6$' "$dir/listing" || missing+=(usr/lib/TRIPLET/libc.so.6)
	((${#missing[@]} == 0)) || die "distroless: $ref lacks ${missing[*]}"
	extra=$(awk '/^usr\/bin\/(sh|bash|dash|apt|apt-get|dpkg|dpkg-deb)$/ || /^var\/lib\/dpkg\/(status|info)$/ ||
		/^usr\/share\/(man|info|locale)\/./ || (/^usr\/share\/doc\/[^\/]+\/./ && !/\/copyright$/) { print; if (++n == 5) exit }' "$dir/listing")
	[[ -z $extra ]] || die "distroless: $ref should not contain: $(echo "$extra" | tr '\n' ' ')"
	user=$(skopeo inspect --config --tls-verify=false "docker://$ref" | jq -r '.config.User')
	[[ $user == 65532 ]] || die "distroless: $ref runs as '$user', not 65532"
	log "images: distroless layer checked: $(wc -l <"$dir/listing") entries, status.d for ${DISTROLESS_PACKAGES[*]}, no shell/apt/dpkg/docs, user $user"
	safe_rm_tree "$dir"
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

# ensure_docker_cli sets DOCKER_CLI to the docker client on PATH, and warns
# when docker.io's /usr/bin/docker (20.10) shadows a newer /usr/local/bin one.
ensure_docker_cli() {
	DOCKER_CLI=$(type -P docker || true)
	[[ -n $DOCKER_CLI ]] || die "no docker CLI on PATH (it runs the buildx plugin; docker.io provides one)"
	if [[ -x /usr/local/bin/docker && $DOCKER_CLI != /usr/local/bin/docker ]]; then
		log "warning: $DOCKER_CLI shadows /usr/local/bin/docker; put /usr/local/bin first in PATH"
	fi
}

# ensure_buildx_plugin installs bin/buildx as the docker-buildx CLI plugin
# when the installed one differs, and checks the CLI runs it.
ensure_buildx_plugin() {
	local tmp out key
	if ! cmp -s "$BUILDX_BIN" "$BUILDX_PLUGIN"; then
		mkdir -p "$(dirname "$BUILDX_PLUGIN")"
		# A dot name is never taken for a plugin; rename is atomic.
		tmp=$(mktemp "$(dirname "$BUILDX_PLUGIN")/.docker-buildx.XXXXXX")
		cp "$BUILDX_BIN" "$tmp"
		chmod 755 "$tmp"
		mv -f "$tmp" "$BUILDX_PLUGIN"
		log "buildx: installed bin/buildx as $BUILDX_PLUGIN"
	fi
	key="$(stat -L -c '%n:%i:%s:%Y' "$DOCKER_CLI" "$BUILDX_PLUGIN" | tr '\n' ' ')"
	[[ $(cat "$STATE/buildx.ok" 2>/dev/null) == "$key" ]] && return 0
	out=$("$DOCKER_CLI" buildx version 2>&1) || die "buildx: '$DOCKER_CLI buildx version' failed: $out"
	echo "$key" >"$STATE/buildx.ok"
	log "buildx: $DOCKER_CLI buildx version: $out"
}

# ensure_buildx_builder makes BUILDX_BUILDER a remote-driver builder on our
# buildkitd, recreating it if it points elsewhere. It never selects it (no
# --use): tests name it explicitly.
ensure_buildx_builder() {
	local info driver endpoint
	info=$("$DOCKER_CLI" buildx inspect "$BUILDX_BUILDER" 2>/dev/null || true)
	driver=$(awk '$1 == "Driver:" { print $2; exit }' <<<"$info")
	endpoint=$(awk '$1 == "Endpoint:" { print $2; exit }' <<<"$info")
	[[ $driver == remote && $endpoint == "$BUILDKIT_ADDR" ]] && return 0
	if [[ -n $info ]]; then
		log "buildx: builder $BUILDX_BUILDER is ${driver:-?} at ${endpoint:-?}; recreating it"
		"$DOCKER_CLI" buildx rm "$BUILDX_BUILDER" >&2 || die "buildx: cannot remove builder $BUILDX_BUILDER"
	fi
	"$DOCKER_CLI" buildx create --name "$BUILDX_BUILDER" --driver remote "$BUILDKIT_ADDR" >/dev/null ||
		die "buildx: cannot create builder $BUILDX_BUILDER"
	rm -f "$STATE/buildx-builder.ok"
	log "buildx: created builder $BUILDX_BUILDER (remote driver, $BUILDKIT_ADDR)"
}

# check_buildx_builder bootstraps the builder and builds through it once per
# buildkitd process.
check_buildx_builder() {
	local key dir="$STATE/buildx-check" logfile="$STATE/buildx-check.log" ver
	key="$(<"$BUILDKITD_PIDFILE") $BUILDX_BUILDER $BUILDKIT_ADDR $TEST_IMAGE"
	[[ $(cat "$STATE/buildx-builder.ok" 2>/dev/null) == "$key" ]] && return 0
	mkdir -p "$dir"
	printf 'FROM %s\nRUN true\n' "$TEST_IMAGE" >"$dir/Dockerfile"
	if ! {
		"$DOCKER_CLI" buildx inspect --bootstrap "$BUILDX_BUILDER" &&
			"$DOCKER_CLI" buildx build --builder "$BUILDX_BUILDER" --progress plain --no-cache \
				--output type=cacheonly "$dir"
	} >"$logfile" 2>&1; then
		log_tail "$logfile" 40
		die "buildx: builder $BUILDX_BUILDER does not build (log: $logfile)"
	fi
	ver=$(awk '$1 == "BuildKit" && $2 == "version:" { print $3; exit }' "$logfile")
	echo "$key" >"$STATE/buildx-builder.ok"
	log "buildx: builder $BUILDX_BUILDER bootstrapped (BuildKit ${ver:-?}) and built FROM $TEST_IMAGE"
}

# dockerd_binstamp identifies the dockerd and containerd binaries a daemon
# runs, so an upgraded docker.io or containerd package restarts it.
dockerd_binstamp() {
	stat -L -c '%n:%i:%s:%Y' "$DOCKERD_BIN" "$(type -P containerd || echo /usr/bin/containerd)" 2>/dev/null | tr '\n' ' '
}

dockerd_summary() {
	curl -sS --max-time 5 --unix-socket "$DOCKERD_SOCK" http://docker/info 2>/dev/null |
		jq -r '"Docker \(.ServerVersion), \(.Driver) storage, cgroup v\(.CgroupVersion) \(.CgroupDriver)"' 2>/dev/null || true
}

# ensure_dockerd runs our own dockerd from docker.io. Without --containerd it
# spawns a containerd whose socket, state and pidfile live in
# DOCKERD_EXEC/containerd and whose content lives in DOCKERD_ROOT/containerd.
# --bridge=none and --iptables=false keep it off the host's network config:
# containers and build steps need --network none or host.
ensure_dockerd() {
	local newconf="$DOCKERD_CONFIG.new" stamp="$STATE/dockerd.binstamp" binstamp why='' t0 tini=()
	# containerd's sockets (…/containerd.sock.ttrpc) must fit in sun_path.
	((${#CONTAINERD_SOCK} < 100)) || die "socket path $CONTAINERD_SOCK.ttrpc is too long for a unix socket; use a shorter checkout path"
	[[ -x $DOCKERD_BIN ]] || die "$DOCKERD_BIN not found (apt package docker.io)"
	mkdir -p "$DOCKERD_ROOT" "$DOCKERD_EXEC"
	render "$TESTBED_DIR/dockerd.json.in" "$newconf" DATA_ROOT="$DOCKERD_ROOT" EXEC_ROOT="$DOCKERD_EXEC" \
		DOCKER_ADDR="$DOCKER_ADDR" REGISTRY="127.0.0.1:$REGISTRY_PORT"
	binstamp=$(dockerd_binstamp)
	if pid_matches "$DOCKERD_PIDFILE" "$DOCKERD_BIN" "$DOCKERD_CONFIG"; then
		if ! cmp -s "$newconf" "$DOCKERD_CONFIG"; then
			why="config changed (registry port?)"
		elif [[ $(cat "$stamp" 2>/dev/null) != "$binstamp" ]]; then
			why="dockerd or containerd was upgraded"
		elif ! wait_until 15 "$DOCKERD_PIDFILE" dockerd_ready; then
			why="it does not answer on $DOCKER_ADDR"
		fi
		if [[ -z $why ]]; then
			rm -f "$newconf"
			log "dockerd: reusing pid $(<"$DOCKERD_PIDFILE") at $DOCKER_ADDR"
			return 0
		fi
		log "dockerd: restarting: $why"
	fi
	stop_dockerd
	mv "$newconf" "$DOCKERD_CONFIG"
	echo "$binstamp" >"$stamp"
	t0=$(now_ms)
	if [[ -x $TINI_BIN ]]; then
		tini=("$TINI_BIN" -s --)
	else
		log "dockerd: $TINI_BIN not found; exited containers will leave zombie shims"
	fi
	# runc, containerd and docker-init are looked up on PATH.
	PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" start_daemon "$DOCKERD_PIDFILE" "$DOCKERD_LOG" \
		"${tini[@]}" "$DOCKERD_BIN" --config-file "$DOCKERD_CONFIG"
	wait_for 60 "$DOCKERD_PIDFILE" "$DOCKERD_LOG" dockerd dockerd_ready
	pid_matches "$DOCKERD_PIDFILE" "$DOCKERD_BIN" "$DOCKERD_CONFIG" || die "dockerd: pidfile does not name the daemon"
	log "dockerd: started pid $(<"$DOCKERD_PIDFILE") at $DOCKER_ADDR in $(elapsed "$t0") ($(dockerd_summary))"
}

# dockerd_checks DOCKER... pulls the test image with the docker command
# DOCKER..., runs it and builds FROM it. The image's entrypoint is /bin/sh -c.
# `docker build` runs buildx's default (docker driver) builder on -H's daemon;
# a build step's default network would be the bridge we disabled.
dockerd_checks() {
	local rc=0
	"$@" pull "$TEST_IMAGE" || return
	"$@" run --rm --network none "$TEST_IMAGE" /bin/true || return
	# shellcheck disable=SC2016 # expanded by the container's shell
	"$@" run --rm --network none "$TEST_IMAGE" 'echo "exec ok: debian $(cat /etc/debian_version)"; exit 7' || rc=$?
	((rc == 7)) || { echo "expected exit status 7 from the container, got $rc"; return 1; }
	env -u BUILDX_BUILDER DOCKER_BUILDKIT=1 "$@" build --network host --no-cache \
		--progress plain -t darn-testbed/dockerd-check "$STATE/dockerd-check"
}

# check_dockerd proves once per dockerd process that it pulls from the bed's
# registry, runs a container and builds with its built-in BuildKit.
check_dockerd() {
	local pid dir="$STATE/dockerd-check" logfile="$STATE/dockerd-check.log" upgrade bk t0 ok
	local docker=("$DOCKER_CLI" -H "$DOCKER_ADDR")
	pid=$(<"$DOCKERD_PIDFILE")
	[[ $(cat "$STATE/dockerd.check-ok" 2>/dev/null) == "$pid $TEST_IMAGE" ]] && return 0
	t0=$(now_ms)
	mkdir -p "$dir"
	printf 'FROM %s\nRUN true\n' "$TEST_IMAGE" >"$dir/Dockerfile"
	if ! dockerd_checks "${docker[@]}" >"$logfile" 2>&1; then
		log_tail "$logfile" 40
		log_tail "$DOCKERD_LOG" 20
		die "dockerd: pull/run/build check failed (log: $logfile)"
	fi
	# BuildKit's gRPC API is behind POST /grpc, upgraded to h2c.
	upgrade=$(curl -sS -i --max-time 1 --unix-socket "$DOCKERD_SOCK" -X POST \
		-H 'Connection: Upgrade' -H 'Upgrade: h2c' http://docker/grpc 2>/dev/null | head -n1 | tr -d '\r' || true)
	[[ $upgrade == *" 101 "* ]] || die "dockerd: POST /grpc was not upgraded to h2c (got: ${upgrade:-nothing})"
	ok=$(grep -m1 -Eo '^exec ok: .*' "$logfile" || true)
	bk=$(env -u BUILDX_BUILDER "${docker[@]}" buildx inspect default 2>/dev/null |
		awk '$1 == "BuildKit" && $2 == "version:" { print $3; exit }' || true)
	echo "$pid $TEST_IMAGE" >"$STATE/dockerd.check-ok"
	log "dockerd: pulled, ran ($ok) and built FROM $TEST_IMAGE in $(elapsed "$t0"); its BuildKit ${bk:-?} answers on /grpc"
}

# note_distroless_upgrades warns when the distroless image no longer carries
# pending security fixes (a rootfs debootstrapped after a point release).
note_distroless_upgrades() {
	local n
	n=$(awk -v pkgs=" ${DISTROLESS_PACKAGES[*]} " '$2 != "-" && index(pkgs, " " $1 " ") { n++ } END { print n + 0 }' "$MIRROR_DIR/upgrades")
	((n >= 3)) || log "warning: only $n of the distroless image's packages (${DISTROLESS_PACKAGES[*]}) have pending upgrades"
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
		"DARN_BUILDX=$BUILDX_BIN"
		"DARN_BUILDX_BUILDER=$BUILDX_BUILDER"
		"DARN_BUILDX_CONFIG=$BUILDX_STATE_DIR"
		"DARN_DEBIAN_SUITE=$SUITE"
		"DARN_DEBIAN_MIRROR=$MIRROR"
		"DARN_DEBIAN_SECURITY_MIRROR=$SECURITY_MIRROR"
	)
	# The demo profile has no variants and no mirror.
	[[ $PROFILE == demo ]] || vars+=(
		"DARN_TOOLING_IMAGE=$(variant_ref tooling)"
		"DARN_TOOLING_IMAGE_DIGEST=${VARIANT_DIGEST[tooling]}"
		"DARN_OFFLINE_IMAGE=$(variant_ref offline)"
		"DARN_OFFLINE_IMAGE_DIGEST=${VARIANT_DIGEST[offline]}"
		"DARN_DISTROLESS_IMAGE=$(variant_ref distroless)"
		"DARN_DISTROLESS_IMAGE_DIGEST=${VARIANT_DIGEST[distroless]}"
		"DARN_DISTROLESS_PACKAGES=$(IFS=,; echo "${DISTROLESS_PACKAGES[*]}")"
		"DARN_MIRROR_URL=http://127.0.0.1:$MIRROR_PORT"
		"DARN_TAMPERED_MIRROR_URL=http://127.0.0.1:$MIRROR_PORT/tampered"
	)
	# pkg=version,... of the test image's pending upgrades, all on the mirror.
	[[ -z ${MIRROR_UPGRADES:-} ]] || vars+=("DARN_MIRROR_UPGRADES=$MIRROR_UPGRADES")
	[[ $DOCKERD_ENABLED == 0 ]] || vars+=("DARN_DOCKER_HOST=$DOCKER_ADDR")
	# An OCI index of the test image for linux/amd64 and linux/arm64.
	[[ $MULTIARCH_ENABLED == 0 ]] || vars+=(
		"DARN_MULTI_IMAGE=$MULTI_IMAGE"
		"DARN_MULTI_IMAGE_DIGEST=$MULTI_DIGEST"
		"DARN_MULTI_PLATFORMS=$MULTI_PLATFORMS"
	)
	# The RPM world (rpm.sh): repository URLs, the key, the images, and the
	# installed and fixed versions (name=[epoch:]version-release,...).
	[[ $RPM_ENABLED == 0 ]] || vars+=(
		"DARN_RPM_REPO_URL=$RPM_REPO_URL"
		"DARN_RPM_TAMPERED_REPO_URL=${RPM_REPO_URL%/darn}/darn-tampered"
		"DARN_RPM_KEY=$RPM_KEY"
		"DARN_RPM_KEY_FINGERPRINT=$RPM_KEY_FPR"
		"DARN_RPM_DNF_IMAGE=$(rpm_image_ref dnf)"
		"DARN_RPM_DNF_IMAGE_DIGEST=${RPM_IMAGE_DIGEST[dnf]}"
		"DARN_RPM_RPMDB_IMAGE=$(rpm_image_ref rpmdb)"
		"DARN_RPM_RPMDB_IMAGE_DIGEST=${RPM_IMAGE_DIGEST[rpmdb]}"
		"DARN_RPM_MANIFEST_IMAGE=$(rpm_image_ref manifest)"
		"DARN_RPM_MANIFEST_IMAGE_DIGEST=${RPM_IMAGE_DIGEST[manifest]}"
		"DARN_RPM_ZYPPER_IMAGE=$(rpm_image_ref zypper)"
		"DARN_RPM_ZYPPER_IMAGE_DIGEST=${RPM_IMAGE_DIGEST[zypper]}"
		"DARN_RPM_TOOLING_IMAGE=$(rpm_image_ref tooling)"
		"DARN_RPM_TOOLING_IMAGE_DIGEST=${RPM_IMAGE_DIGEST[tooling]}"
		"DARN_RPM_OFFLINE_IMAGE=$(rpm_image_ref offline)"
		"DARN_RPM_OFFLINE_IMAGE_DIGEST=${RPM_IMAGE_DIGEST[offline]}"
		"DARN_RPM_OFFLINE_URL=$RPM_OFFLINE_URL"
		"DARN_RPM_PACKAGES=$RPM_TABLE"
		"DARN_RPM_INSTALLED=$RPM_INSTALLED"
		"DARN_RPM_FIXES=$RPM_FIXES"
	)
	# The dnf image as an OCI index for DARN_MULTI_PLATFORMS.
	[[ $RPM_ENABLED == 0 || $MULTIARCH_ENABLED == 0 ]] || vars+=(
		"DARN_RPM_MULTI_IMAGE=$(rpm_image_ref "$RPM_MULTI_TAG")"
		"DARN_RPM_MULTI_IMAGE_DIGEST=$RPM_MULTI_DIGEST"
	)
	# The apk world (apk.sh): repository URLs, the key, the images, and the
	# installed and fixed versions (name=version,...).
	[[ $APK_ENABLED == 0 ]] || mapfile -t -O "${#vars[@]}" vars < <(apk_env)
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
	ARCH=$(dpkg --print-architecture)
	exec 9>"$STATE/lock"
	flock -w 600 9 || die "another up.sh/down.sh holds $STATE/lock"

	ensure_apt_packages
	note_system_registry
	ensure_tool_binaries
	ensure_docker_cli
	[[ $PROFILE == demo ]] || ensure_buildx_plugin
	discover_mirrors
	ensure_registry
	# buildkitd looks for emulators when it starts.
	ensure_binfmt
	ensure_buildkitd
	[[ $PROFILE == demo ]] || ensure_buildx_builder
	if [[ $DOCKERD_ENABLED == 0 ]]; then
		stop_dockerd
	else
		ensure_dockerd
	fi

	TEST_IMAGE="127.0.0.1:$REGISTRY_PORT/$TEST_REPO:$TEST_TAG"
	DEMO_IMAGE="127.0.0.1:$REGISTRY_PORT/$TEST_REPO:$DEMO_TAG"
	MULTI_IMAGE="127.0.0.1:$REGISTRY_PORT/$TEST_REPO:$MULTI_TAG"
	# The cache is shared by every clone on the machine.
	exec 8>"$CACHE/lock"
	flock -w 1800 8 || die "timed out waiting for $CACHE/lock"
	ensure_images
	if [[ $PROFILE == demo ]]; then
		exec 8>&-
		check_exec
		write_env
		log "ready (demo profile) in $(elapsed "$t0"); source $STATE/env"
		return 0
	fi
	ensure_mirror
	ensure_variant_images
	[[ $MULTIARCH_ENABLED == 0 ]] || ensure_multi_image
	exec 8>&-
	OFFLINE_IMAGE=$(variant_ref offline)
	note_distroless_upgrades
	check_exec
	[[ $MULTIARCH_ENABLED == 0 ]] || check_foreign_exec
	check_buildx_builder
	[[ $DOCKERD_ENABLED == 0 ]] || check_dockerd
	ensure_mirror_server
	check_mirror
	# After the mirror server: the RPM images name its port.
	[[ $RPM_ENABLED == 0 ]] || ensure_rpm
	[[ $APK_ENABLED == 0 ]] || ensure_apk
	write_env
	rc=$(($(now_ms) - t0))
	log "ready in $((rc / 1000)).$(printf '%03d' $((rc % 1000)) | cut -c1)s; source $STATE/env"
}

main "$@"
