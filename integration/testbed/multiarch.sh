# shellcheck shell=bash disable=SC2153 # SUITE, ARCH etc. come from up.sh/lib.sh
# Multi-platform part of the test bed, sourced by up.sh. Nothing here runs on
# its own; up.sh calls:
#   - ensure_binfmt before ensure_buildkitd: mounts binfmt_misc and registers
#     qemu-user-static's emulator for each foreign architecture of
#     MULTI_ARCHES (qemu-aarch64 on an amd64 host), enabled and with the F
#     (fix-binary) flag, so containers need no emulator inside them.
#     buildkitd detects emulators when it starts (and adds new ones when its
#     workers are listed, at most every 20s): ensure_buildkitd restarts a
#     daemon whose worker still lacks missing_worker_platforms.
#   - ensure_multi_image: darn-test/debian:SUITE-multi, an OCI index with one
#     image per MULTI_ARCHES, each from its architecture's debootstrap rootfs
#     (ensure_rootfs ARCH; a foreign one's second stage runs under qemu),
#     built in one BuildKit build from image/Dockerfile.multi.
#   - check_foreign_exec: runs the index's foreign images under buildkitd.
# The registrations stay when the bed goes down (like the apt packages).
# DARN_TESTBED_MULTIARCH=0 skips all of it (no qemu, no DARN_MULTI_* in env).
# It uses up.sh's ensure_rootfs, unpack_rootfs, build_image, TEST_REPO,
# REGISTRY_PORT and cleanup_dirs.

MULTIARCH_ENABLED="${DARN_TESTBED_MULTIARCH:-1}"
MULTI_ARCHES=(amd64 arm64)
MULTI_TAG=$SUITE-multi
MULTI_PLATFORMS=$(printf 'linux/%s\n' "${MULTI_ARCHES[@]}" | paste -sd,)
# binfmt_misc entry (and qemu-user-static format file) per Debian
# architecture, and what `uname -m` says there.
declare -A QEMU_BINFMT=([amd64]=qemu-x86_64 [arm64]=qemu-aarch64)
declare -A UNAME_MACHINE=([amd64]=x86_64 [arm64]=aarch64)
BINFMT_DIR=/proc/sys/fs/binfmt_misc

# foreign_arches prints the architectures of MULTI_ARCHES other than the
# host's, one a line; nothing when multiarch is off.
foreign_arches() {
	[[ $MULTIARCH_ENABLED == 0 ]] && return 0
	local a
	for a in "${MULTI_ARCHES[@]}"; do
		[[ $a == "$ARCH" ]] || echo "$a"
	done
}

# binfmt_enabled NAME succeeds when the binfmt_misc entry NAME is enabled and
# has the F flag (the kernel opened the interpreter when it was registered).
binfmt_enabled() {
	local entry="$BINFMT_DIR/$1"
	[[ -r $entry ]] || return 1
	[[ $(head -n1 "$entry") == enabled ]] && grep -Eq '^flags: [A-Z]*F' "$entry"
}

# binfmt_summary NAME prints the entry's interpreter and flags.
binfmt_summary() {
	awk '$1 == "interpreter" { i = $2 } $1 == "flags:" { f = $2 } END { printf "%s, flags %s", i, f }' "$BINFMT_DIR/$1"
}

# ensure_binfmt mounts binfmt_misc and makes qemu-user-static's emulator for
# each foreign architecture an enabled entry with the F flag. An entry without
# F (its interpreter would have to exist inside every container) is replaced.
ensure_binfmt() {
	local a name entry
	[[ -n $(foreign_arches) ]] || return 0
	if [[ ! -e $BINFMT_DIR/register ]]; then
		mount -t binfmt_misc binfmt_misc "$BINFMT_DIR" ||
			die "binfmt: cannot mount binfmt_misc on $BINFMT_DIR (set DARN_TESTBED_MULTIARCH=0 to run the bed without arm64)"
		log "binfmt: mounted binfmt_misc on $BINFMT_DIR"
	fi
	if [[ $(<"$BINFMT_DIR/status") != enabled ]]; then
		echo 1 >"$BINFMT_DIR/status"
		log "binfmt: enabled binfmt_misc"
	fi
	for a in $(foreign_arches); do
		name=${QEMU_BINFMT[$a]}
		entry="$BINFMT_DIR/$name"
		binfmt_enabled "$name" && continue
		if [[ -e $entry ]] && ! grep -Eq '^flags: [A-Z]*F' "$entry"; then
			log "binfmt: $name ($(binfmt_summary "$name")) lacks the F flag; replacing it with qemu-user-static's"
			echo -1 >"$entry"
		fi
		if [[ -e $entry ]]; then
			echo 1 >"$entry"
		else
			# qemu-user-static's postinst imports its formats, but not in a
			# container, and binfmt-support's service may never have run.
			[[ -e /var/lib/binfmts/$name ]] || update-binfmts --import "$name" >&2 ||
				die "binfmt: update-binfmts --import $name failed"
			[[ -e $entry ]] || update-binfmts --enable "$name" >&2 ||
				die "binfmt: update-binfmts --enable $name failed"
		fi
		binfmt_enabled "$name" ||
			die "binfmt: $name is not enabled with the F flag: $(tr '\n' ' ' <"$entry" 2>/dev/null || echo 'no entry')"
		log "binfmt: registered $name ($(binfmt_summary "$name"))"
	done
}

# worker_platforms prints the platforms our buildkitd's worker lists, one a
# line (linux/amd64, linux/amd64/v2, linux/arm64, ...).
worker_platforms() {
	"$BUILDCTL_BIN" --addr "$BUILDKIT_ADDR" debug workers --format \
		'{{range .}}{{range .Platforms}}{{.OS}}/{{.Architecture}}{{with .Variant}}/{{.}}{{end}}{{"\n"}}{{end}}{{end}}' 2>/dev/null |
		awk NF
}

# missing_worker_platforms prints the foreign platforms of the multi-platform
# image (linux/arm64) that our buildkitd's worker does not list, if any.
missing_worker_platforms() {
	local a listed
	listed=" $(worker_platforms | tr '\n' ' ')"
	for a in $(foreign_arches); do
		[[ $listed == *" linux/$a "* || $listed == *" linux/$a/"* ]] || printf 'linux/%s ' "$a"
	done
}

# multi_inputs_hash identifies what the multi-platform image is built from,
# apart from the rootfs tarballs (like image_inputs_hash).
multi_inputs_hash() {
	{
		echo "multi layout 1 $SUITE minbase $MULTI_PLATFORMS"
		cat "$TESTBED_DIR/image/Dockerfile.multi"
		(cd "$TESTBED_DIR/image" && find app -type f -print0 | sort -z | xargs -0 sha256sum)
		debian_sources
	} | sha256sum | cut -d' ' -f1
}

# ensure_multi_image builds and pushes MULTI_IMAGE when its stamp or registry
# tag is missing, and sets MULTI_DIGEST (the index's digest). Each
# architecture's rootfs is unpacked like the test image's (apt sources on this
# machine's mirrors, not upgraded); one build makes the whole index.
ensure_multi_image() {
	local reg="127.0.0.1:$REGISTRY_PORT" hash stamp="$CACHE/images-multi.stamp" stage a t0
	hash=$(multi_inputs_hash)
	if [[ $(cat "$stamp" 2>/dev/null) == "$hash" ]] &&
		MULTI_DIGEST=$(manifest_digest "$reg" "$TEST_REPO" "$MULTI_TAG"); then
		log "images: $TEST_REPO:$MULTI_TAG ($MULTI_PLATFORMS) already in the registry"
		return 0
	fi
	for a in "${MULTI_ARCHES[@]}"; do
		ensure_rootfs "$a"
	done
	t0=$(now_ms)
	log "images: building $TEST_REPO:$MULTI_TAG ($MULTI_PLATFORMS)"
	stage="$STATE/multi-build"
	safe_rm_tree "$stage"
	cleanup_dirs+=("$stage")
	mkdir -p "$stage/context"
	for a in "${MULTI_ARCHES[@]}"; do
		mkdir "$stage/rootfs"
		unpack_rootfs "$stage/rootfs" "$a"
		tar -C "$stage/rootfs" --numeric-owner -cf "$stage/context/rootfs-$a.tar" .
		safe_rm_tree "$stage/rootfs"
	done
	cp -a "$TESTBED_DIR/image/app" "$stage/context/app"
	build_image "$stage/context" Dockerfile.multi "$MULTI_IMAGE" "$STATE/build-multi-image.log" \
		--opt platform="$MULTI_PLATFORMS"
	safe_rm_tree "$stage"
	rootfs_paths # back to the host's rootfs
	MULTI_DIGEST=$(manifest_digest "$reg" "$TEST_REPO" "$MULTI_TAG") || die "images: $MULTI_IMAGE missing after push"
	verify_multi_image
	echo "$hash" >"$stamp"
	log "images: pushed $TEST_REPO:$MULTI_TAG ($MULTI_DIGEST) in $(elapsed "$t0")"
}

# verify_multi_image checks with the registry API that MULTI_DIGEST is an
# index of exactly MULTI_PLATFORMS, each manifest's config naming its own
# os/architecture.
verify_multi_image() {
	local base="http://127.0.0.1:$REGISTRY_PORT/v2/$TEST_REPO" index got want m p cfg conf
	index=$(curl -fsS --max-time 10 -H 'Accept: application/vnd.oci.image.index.v1+json' \
		-H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' "$base/manifests/$MULTI_DIGEST") ||
		die "images: cannot fetch $MULTI_IMAGE's index"
	got=$(jq -r '[.manifests[].platform | "\(.os)/\(.architecture)"] | sort | join(",")' <<<"$index")
	want=$(tr , '\n' <<<"$MULTI_PLATFORMS" | LC_ALL=C sort | paste -sd,)
	[[ $got == "$want" ]] || die "images: $MULTI_IMAGE's index ($(jq -r .mediaType <<<"$index")) lists $got, not $want"
	while read -r m p; do
		cfg=$(curl -fsS --max-time 10 -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
			-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "$base/manifests/$m" | jq -r .config.digest) ||
			die "images: cannot fetch $MULTI_IMAGE's $p manifest $m"
		conf=$(curl -fsS --max-time 10 "$base/blobs/$cfg" | jq -r '"\(.os)/\(.architecture) \(.config.User)"') ||
			die "images: cannot fetch $MULTI_IMAGE's $p config $cfg"
		[[ $conf == "$p 1000:1000" ]] || die "images: $MULTI_IMAGE's $p manifest has a $conf config"
	done < <(jq -r '.manifests[] | "\(.digest) \(.platform.os)/\(.platform.architecture)"' <<<"$index")
}

# check_foreign_exec proves, once per buildkitd process and multi-platform
# image, that buildkitd runs the image's foreign containers: `uname -m` and
# dpkg's architecture there must be the image's.
check_foreign_exec() {
	local a pid key dir="$STATE/foreign-exec-check" logfile out
	pid=$(<"$BUILDKITD_PIDFILE")
	key="$pid $MULTI_IMAGE@$MULTI_DIGEST"
	[[ $(cat "$STATE/buildkitd.foreign-exec-ok" 2>/dev/null) == "$key" ]] && return 0
	mkdir -p "$dir"
	# shellcheck disable=SC2016 # expanded by the container's shell
	printf 'FROM %s@%s\nRUN echo "exec ok: $(uname -m) $(dpkg --print-architecture)"\n' \
		"$MULTI_IMAGE" "$MULTI_DIGEST" >"$dir/Dockerfile"
	for a in $(foreign_arches); do
		logfile="$STATE/foreign-exec-check-$a.log"
		if ! "$BUILDCTL_BIN" --addr "$BUILDKIT_ADDR" build --progress plain --no-cache \
			--frontend dockerfile.v0 --opt platform="linux/$a" \
			--local context="$dir" --local dockerfile="$dir" >"$logfile" 2>&1; then
			log_tail "$logfile" 40
			die "buildkitd cannot run a linux/$a container (binfmt_misc ${QEMU_BINFMT[$a]}: $(binfmt_summary "${QEMU_BINFMT[$a]}" 2>/dev/null || echo none); worker platforms: $(worker_platforms | paste -sd' '); log: $logfile)"
		fi
		out=$(grep -m1 -Eo '^#[0-9]+ [0-9.]+ exec ok: .*' "$logfile" | cut -d' ' -f5-)
		[[ $out == "${UNAME_MACHINE[$a]} $a" ]] ||
			die "a linux/$a container of $MULTI_IMAGE says '${out:-nothing}' for uname -m and dpkg's architecture, not '${UNAME_MACHINE[$a]} $a' (log: $logfile)"
		log "buildkitd: linux/$a container runs: uname -m $(cut -d' ' -f1 <<<"$out"), dpkg architecture $a"
	done
	echo "$key" >"$STATE/buildkitd.foreign-exec-ok"
}
