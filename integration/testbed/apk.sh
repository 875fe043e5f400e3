# shellcheck shell=bash disable=SC2153 # CACHE, STATE, ARCH etc. come from up.sh/lib.sh
# The test bed's apk world (Alpine, Wolfi, Chainguard), sourced by up.sh
# (after multiarch.sh). No Alpine mirror or registry is reachable from the
# bed, so it makes its own with bin/darn-apkrepo (integration/cmd/
# darn-apkrepo, built from the main module), each step cached and redone
# only when its inputs change:
#   - a test signing key (RSA 4096, as abuild-keygen makes) in
#     $CACHE/apk/keys: darn-test-<8hex>.rsa and its public half
#     darn-test-<8hex>.rsa.pub, the name apk knows it by,
#   - the packages of integration/testdata/apk/packages.tsv as real apk v2
#     packages (signature, control and data segments, as abuild makes
#     them) for x86_64 and aarch64, and a signed APKINDEX.tar.gz per
#     architecture, below MIRROR_DIR/apk (served as $DARN_MIRROR_URL/apk/):
#       darn/main/<arch>/                 the repository
#       darn-tampered-pkg/main/<arch>/    the same, except that the first
#                                         "fix" row's package has one byte
#                                         of a file changed (signature,
#                                         control segment, index and size
#                                         unchanged; datahash and the
#                                         file's checksum no longer match)
#       darn-tampered-index/main/<arch>/  the same, except that the index's
#                                         content names the first "repo"
#                                         row's version with its release
#                                         bumped, its signature kept
#     each a symlink into a generation directory .g-<hash>/, swapped when
#     the packages change (the previous generation is kept), all checked
#     by darn-apkrepo with go-apk (Chainguard's apk implementation) before
#     they are published,
#   - darn-test/apk:alpine (Alpine 3.20.3's identity, the "installed" rows
#     in lib/apk/db/installed as apk leaves them, a static busybox as
#     /bin/sh and a few applets, no apk) and darn-test/apk:wolfi (Wolfi's
#     identity, merged /usr, the database in usr/lib/apk/db, no shell, no
#     apk; an OCI index of linux/amd64 and linux/arm64 with each
#     architecture's packages, unless DARN_TESTBED_MULTIARCH=0), both with
#     the key in etc/apk/keys, etc/apk/repositories naming the bed's
#     repository URL (a new mirror port rebuilds them) and a modified
#     etc/darn/libfoo.conf, built from image/apk/Dockerfile and pushed to
#     the bed's registry, then checked from the registry's bytes,
# and proves once per mirror port and image that the alpine image's
# busybox runs and fetches the repository's index through its
# etc/apk/repositories. DARN_TESTBED_APK=0 skips all of it (no DARN_APK_*
# in .testbed/env). It uses up.sh's and lib.sh's helpers (log, die,
# elapsed, now_ms, build_image, manifest_digest, safe_rm_tree,
# cleanup_dirs), multiarch.sh's MULTIARCH_ENABLED, MULTI_ARCHES and
# UNAME_MACHINE, and MIRROR_DIR, MIRROR_PORT, REGISTRY_PORT, BUILDKIT_ADDR.

# shellcheck disable=SC2034 # read by up.sh
APK_ENABLED="${DARN_TESTBED_APK:-1}"
APK_LAYOUT=1
APK_DIR="$CACHE/apk"
APK_KEY_DIR="$APK_DIR/keys"
APK_TOOL="$ROOT/bin/darn-apkrepo"
APK_TOOL_SRC="$ROOT/integration/cmd/darn-apkrepo"
APK_TABLE="$ROOT/integration/testdata/apk/packages.tsv"
APK_IMAGE_DIR="$TESTBED_DIR/image/apk"
APK_REPO_ROOT="$MIRROR_DIR/apk"
APK_REPOS=(darn darn-tampered-pkg darn-tampered-index)
# Every package is built for both, whatever DARN_TESTBED_MULTIARCH says
# (it costs a second), so the repository stays the same when it changes.
APK_ARCHES=(x86_64 aarch64)
APK_IMAGE_REPO=darn-test/apk
APK_IMAGES=(alpine wolfi)
declare -A APK_IMAGE_DIGEST=()
# The packages' build time (2026-01-01), so that a rebuild with the same
# key gives the same bytes.
APK_SOURCE_DATE_EPOCH=1767225600
BUSYBOX_BIN=/bin/busybox
# Applets the alpine image links to /bin/busybox, as Alpine's busybox does.
APK_APPLETS=(sh ash cat cp echo env grep head id ln ls mkdir mv rm sed sha256sum sort tail tar test true false uname wc wget zcat)

apk_image_ref() {
	echo "127.0.0.1:$REGISTRY_PORT/$APK_IMAGE_REPO:$1"
}

# apk_url REPO prints the repository line of REPO (darn, darn-tampered-…).
apk_url() {
	echo "http://127.0.0.1:$MIRROR_PORT/apk/$1/main"
}

# apk_load_table checks APK_TABLE and sets APK_INSTALLED and APK_FIXES
# ("name=version,..."), APK_TAMPER_PKG (the first "fix" row) and
# APK_TAMPER_INDEX (the first "repo" row) as name=version.
apk_load_table() {
	local out
	[[ -s $APK_TABLE ]] || die "apk: $APK_TABLE is missing"
	out=$(awk -F'\t' '
		/^#/ || NF == 0 { next }
		NF != 6 { printf "apk: %s:%d: expected 6 tab-separated fields\n", FILENAME, FNR > "/dev/stderr"; bad = 1; exit 1 }
		$3 == "installed" { inst = inst sep1 $1 "=" $2; sep1 = "," }
		$3 == "fix" { fix = fix sep2 $1 "=" $2; sep2 = ","; if (tp == "") tp = $1 "=" $2 }
		$3 == "repo" && ti == "" { ti = $1 "=" $2 }
		END { if (!bad) print inst, fix, tp, ti }' "$APK_TABLE") || die "apk: cannot parse $APK_TABLE"
	read -r APK_INSTALLED APK_FIXES APK_TAMPER_PKG APK_TAMPER_INDEX <<<"$out"
	[[ -n $APK_INSTALLED && -n $APK_FIXES && -n $APK_TAMPER_PKG && -n $APK_TAMPER_INDEX ]] ||
		die "apk: $APK_TABLE needs installed, fix and repo rows"
}

# apk_tool_sum prints a hash of darn-apkrepo's sources: what the packages,
# repository and image roots are made by (not the binary, which go.mod
# changes elsewhere rebuild to the same effect).
apk_tool_sum() {
	find "$APK_TOOL_SRC" -name '*.go' ! -name '*_test.go' -print0 | LC_ALL=C sort -z | xargs -0 cat | sha256sum | cut -c1-16
}

# ensure_apk_tool builds bin/darn-apkrepo when it is missing or older than
# its sources or the main module's go.mod/go.sum.
ensure_apk_tool() {
	local t0
	if [[ -x $APK_TOOL && $APK_TOOL -nt $ROOT/go.mod && $APK_TOOL -nt $ROOT/go.sum &&
		-z $(find "$APK_TOOL_SRC" -name '*.go' -newer "$APK_TOOL" -print -quit) ]]; then
		return 0
	fi
	command -v go >/dev/null || die "go is not on PATH; it is needed to build bin/darn-apkrepo"
	t0=$(now_ms)
	(cd "$ROOT" && go build -o "$APK_TOOL" ./integration/cmd/darn-apkrepo) || die "apk: go build of darn-apkrepo failed"
	# go build may leave an identical binary untouched; the mtime is our stamp.
	touch "$APK_TOOL"
	log "apk: built bin/darn-apkrepo in $(elapsed "$t0")"
}

# ensure_apk_key sets APK_KEY_NAME (darn-test-<8hex>.rsa.pub) and
# APK_KEY_PUB, the public key's file, creating the key pair once: it is
# kept, and everything signed is rebuilt when it changes.
ensure_apk_key() {
	APK_KEY_NAME=$("$APK_TOOL" key -dir "$APK_KEY_DIR") || die "apk: no signing key in $APK_KEY_DIR"
	[[ $APK_KEY_NAME =~ ^darn-test-[0-9a-f]{8}\.rsa\.pub$ ]] || die "apk: unexpected key name '$APK_KEY_NAME'"
	APK_KEY_PUB="$APK_KEY_DIR/$APK_KEY_NAME"
}

# apk_repo_generation prints the name of the repository generation for the
# current table, key, tool and tampering.
apk_repo_generation() {
	{
		echo "apk repo layout $APK_LAYOUT ${APK_ARCHES[*]} $APK_SOURCE_DATE_EPOCH $APK_TAMPER_PKG $APK_TAMPER_INDEX $APK_KEY_NAME"
		cat "$APK_KEY_PUB" "$APK_TABLE"
		apk_tool_sum
		declare -f ensure_apk_repo
	} | sha256sum | cut -c1-16
}

# ensure_apk_repo publishes the repositories below APK_REPO_ROOT unless the
# current generation is there, and sets APK_GENERATION.
ensure_apk_repo() {
	local g t0 old x work ok=1
	APK_GENERATION=$(apk_repo_generation)
	g=".g-$APK_GENERATION"
	for x in "${APK_REPOS[@]}"; do
		[[ $(readlink "$APK_REPO_ROOT/$x" 2>/dev/null) == "$g/$x" && -s $APK_REPO_ROOT/$g/$x/main/x86_64/APKINDEX.tar.gz ]] || ok=
	done
	[[ -z $ok ]] || return 0
	t0=$(now_ms)
	mkdir -p "$APK_REPO_ROOT"
	old=$(readlink "$APK_REPO_ROOT/darn" 2>/dev/null || true)
	old=${old%/darn}
	work=$(mktemp -d "$APK_REPO_ROOT/.work.XXXXXX")
	cleanup_dirs+=("$work")
	"$APK_TOOL" repo -table "$APK_TABLE" -key "${APK_KEY_PUB%.pub}" -arch "$(IFS=,; echo "${APK_ARCHES[*]}")" \
		-epoch "$APK_SOURCE_DATE_EPOCH" -tamper-pkg "$APK_TAMPER_PKG" -tamper-index "$APK_TAMPER_INDEX" \
		-out "$work/out" || die "apk: darn-apkrepo could not make the repositories"
	find "$work/out" -type d -exec chmod 755 {} + -o -type f -exec chmod 644 {} +
	safe_rm_tree "$APK_REPO_ROOT/$g"
	mv "$work/out" "$APK_REPO_ROOT/$g"
	for x in "${APK_REPOS[@]}"; do
		ln -sfn "$g/$x" "$APK_REPO_ROOT/.$x.new"
		mv -fT "$APK_REPO_ROOT/.$x.new" "$APK_REPO_ROOT/$x"
	done
	# Keep the previous generation for a bed still serving it; drop older
	# ones and work directories a killed up.sh left.
	for x in "$APK_REPO_ROOT"/.g-* "$APK_REPO_ROOT"/.work.*; do
		[[ -e $x ]] || continue
		[[ ${x##*/} == "$g" || ${x##*/} == "$old" ]] || safe_rm_tree "$x"
	done
	log "apk: published $APK_REPO_ROOT/{$(IFS=,; echo "${APK_REPOS[*]}")} (${APK_ARCHES[*]}; checked with go-apk) in $(elapsed "$t0")"
}

# apk_platforms NAME prints the Debian architectures the image NAME is
# built for: the host's for alpine; for wolfi MULTI_ARCHES too.
apk_platforms() {
	if [[ $1 == wolfi && $MULTIARCH_ENABLED != 0 ]]; then
		printf '%s\n' "${MULTI_ARCHES[@]}"
	else
		echo "$ARCH"
	fi
}

# apk_image_key NAME identifies what the image NAME is built from.
apk_image_key() {
	{
		echo "apk image $1 layout $APK_LAYOUT $APK_GENERATION $(apk_url darn) $APK_INSTALLED $(apk_platforms "$1" | paste -sd,)"
		cat "$APK_IMAGE_DIR/Dockerfile"
		(cd "$APK_IMAGE_DIR" && find "root/$1" \( -type f -o -type l \) -printf '%p %m %l\n' | LC_ALL=C sort)
		find "$APK_IMAGE_DIR/root/$1" -type f -print0 | LC_ALL=C sort -z | xargs -0 cat
		[[ $1 != alpine ]] || sha256sum <"$BUSYBOX_BIN"
		declare -f apk_rootfs apk_alpine_rootfs verify_apk_image verify_apk_layer
	} | sha256sum | cut -d' ' -f1
}

# apk_rootfs NAME ARCH DIR writes the root of the image NAME for the Debian
# architecture ARCH into DIR: the installed packages (darn-apkrepo
# install, NAME's layout), image/apk/root/NAME, the key, the repositories
# file, and a change to libfoo's conf file, as a user makes.
apk_rootfs() {
	local name=$1 a=$2 dir=$3
	mkdir -p "$dir"
	"$APK_TOOL" install -repo "$APK_REPO_ROOT/darn/main" -key "$APK_KEY_PUB" -arch "${UNAME_MACHINE[$a]}" \
		-layout "$name" -packages "$APK_INSTALLED" -root "$dir" || die "apk: cannot install the $name image's packages"
	cp -a "$APK_IMAGE_DIR/root/$name/." "$dir/"
	install -m 644 "$APK_KEY_PUB" "$dir/etc/apk/keys/$APK_KEY_NAME"
	apk_url darn >"$dir/etc/apk/repositories"
	printf '# changed in the image\nlocal=1\n' >>"$dir/etc/darn/libfoo.conf"
	[[ $name != alpine ]] || apk_alpine_rootfs "$dir"
}

# apk_alpine_rootfs DIR adds what an Alpine base image has beside apk's
# state: busybox with its applets, /tmp, /root and the test user's home.
apk_alpine_rootfs() {
	local dir=$1 a
	install -d -m 755 "$dir/bin" "$dir/home/darn"
	install -d -m 700 "$dir/root"
	install -d -m 1777 "$dir/tmp"
	install -m 755 "$BUSYBOX_BIN" "$dir/bin/busybox"
	for a in "${APK_APPLETS[@]}"; do
		ln -s /bin/busybox "$dir/bin/$a"
	done
}

# ensure_apk_images builds and pushes the images whose stamp or tag is
# missing, from one build context, and sets APK_IMAGE_DIGEST.
ensure_apk_images() {
	local reg="127.0.0.1:$REGISTRY_PORT" name key digest todo=() stage t0 a plats
	for name in "${APK_IMAGES[@]}"; do
		key=$(apk_image_key "$name")
		if [[ $(cat "$CACHE/images-apk-$name.stamp" 2>/dev/null) == "$key" ]] &&
			digest=$(manifest_digest "$reg" "$APK_IMAGE_REPO" "$name"); then
			APK_IMAGE_DIGEST[$name]=$digest
		else
			todo+=("$name")
		fi
	done
	if ((${#todo[@]} == 0)); then
		log "apk: images $APK_IMAGE_REPO:{$(IFS=,; echo "${APK_IMAGES[*]}")} already in the registry"
		return 0
	fi
	[[ -x $BUSYBOX_BIN ]] || die "apk: $BUSYBOX_BIN is missing (apt package busybox-static)"
	t0=$(now_ms)
	stage="$STATE/apk-build"
	safe_rm_tree "$stage"
	cleanup_dirs+=("$stage")
	for name in "${todo[@]}"; do
		plats=
		for a in $(apk_platforms "$name"); do
			apk_rootfs "$name" "$a" "$stage/context/rootfs-$name-$a"
			plats+="${plats:+,}linux/$a"
		done
		build_image "$stage/context" apk/Dockerfile "$(apk_image_ref "$name")" "$STATE/build-apk-$name-image.log" \
			--opt target="$name" --opt platform="$plats"
		APK_IMAGE_DIGEST[$name]=$(manifest_digest "$reg" "$APK_IMAGE_REPO" "$name") || die "apk: $(apk_image_ref "$name") missing after push"
		verify_apk_image "$name" "$stage/verify-$name"
		apk_image_key "$name" >"$CACHE/images-apk-$name.stamp"
	done
	safe_rm_tree "$stage"
	log "apk: pushed ${todo[*]} in $(elapsed "$t0")"
}

# apk_fetch PATH ACCEPT prints the registry's bytes at /v2/APK_IMAGE_REPO/PATH.
apk_fetch() {
	curl -fsS --max-time 30 -H "Accept: $2" "http://127.0.0.1:$REGISTRY_PORT/v2/$APK_IMAGE_REPO/$1"
}

# verify_apk_image NAME DIR reads the pushed image NAME back from the
# registry: an index of exactly its platforms (wolfi, multiarch) or one
# manifest, each platform's single layer checked by verify_apk_layer.
verify_apk_image() {
	local name=$1 dir=$2 top mt got want m p summary=()
	local oci_index=application/vnd.oci.image.index.v1+json oci_manifest=application/vnd.oci.image.manifest.v1+json
	mkdir -p "$dir"
	top=$(apk_fetch "manifests/${APK_IMAGE_DIGEST[$name]}" "$oci_index, $oci_manifest") || die "apk: cannot fetch $(apk_image_ref "$name")"
	mt=$(jq -r .mediaType <<<"$top")
	want=$(apk_platforms "$name" | sed 's|^|linux/|' | paste -sd,)
	if [[ $mt == "$oci_index" ]]; then
		got=$(jq -r '[.manifests[].platform | "\(.os)/\(.architecture)"] | join(",")' <<<"$top")
		[[ $got == "$want" ]] || die "apk: $(apk_image_ref "$name") lists $got, not $want"
		while read -r m p; do
			verify_apk_layer "$name" "$m" "${p#linux/}" "$dir/${p#linux/}"
			summary+=("$p: $APK_LAYER_SUMMARY")
		done < <(jq -r '.manifests[] | "\(.digest) \(.platform.os)/\(.platform.architecture)"' <<<"$top")
	else
		[[ $want != *,* ]] || die "apk: $(apk_image_ref "$name") is a $mt, not an index of $want"
		verify_apk_layer "$name" "${APK_IMAGE_DIGEST[$name]}" "$ARCH" "$dir/$ARCH"
		summary+=("$want: $APK_LAYER_SUMMARY")
	fi
	log "apk: $APK_IMAGE_REPO:$name checked: $(printf '%s; ' "${summary[@]}")"
	safe_rm_tree "$dir"
}

# verify_apk_layer NAME MANIFEST ARCH DIR unpacks the single layer of the
# manifest into DIR and checks it against the image NAME's shape for ARCH:
# identity, key, repositories file, what it must not hold, and that its
# installed database lists exactly APK_INSTALLED, built for ARCH.
verify_apk_layer() {
	local name=$1 m=$2 a=$3 dir=$4 manifest cfg layers db p need=() missing=() extra=() got want
	manifest=$(apk_fetch "manifests/$m" application/vnd.oci.image.manifest.v1+json) || die "apk: cannot fetch the manifest $m"
	cfg=$(apk_fetch "blobs/$(jq -r .config.digest <<<"$manifest")" '*/*' | jq -r '"\(.os)/\(.architecture)"')
	[[ $cfg == "linux/$a" ]] || die "apk: the $name manifest $m has a $cfg config, not linux/$a"
	mapfile -t layers < <(jq -r '.layers[].digest' <<<"$manifest")
	((${#layers[@]} == 1)) || die "apk: expected one layer in the $name manifest $m, got ${#layers[@]}"
	mkdir -p "$dir"
	apk_fetch "blobs/${layers[0]}" '*/*' | tar -C "$dir" -xzf - || die "apk: cannot unpack the layer of the $name manifest $m"
	case $name in
	alpine)
		db=lib/apk/db/installed
		need=(bin/busybox etc/alpine-release)
		extra=(usr/lib/apk sbin/apk)
		;;
	wolfi)
		db=usr/lib/apk/db/installed
		extra=(bin/sh usr/bin/sh bin/busybox sbin/apk etc/alpine-release)
		;;
	esac
	for p in "${need[@]}" etc/os-release "etc/apk/keys/$APK_KEY_NAME" etc/apk/world etc/darn/libfoo.conf "$db"; do
		[[ -s $dir/$p ]] || missing+=("$p")
	done
	((${#missing[@]} == 0)) || die "apk: the $name image for $a lacks ${missing[*]}"
	for p in "${extra[@]}"; do
		[[ ! -e $dir/$p && ! -L $dir/$p ]] || die "apk: the $name image for $a should not contain $p"
	done
	[[ $name != wolfi || $(readlink "$dir/lib") == usr/lib ]] || die "apk: lib is not a link to usr/lib in the wolfi image for $a"
	[[ $name != alpine || $(readlink "$dir/bin/sh") == /bin/busybox ]] || die "apk: bin/sh is not a link to /bin/busybox in the alpine image"
	[[ $(<"$dir/etc/apk/repositories") == "$(apk_url darn)" ]] || die "apk: the $name image's etc/apk/repositories does not name $(apk_url darn)"
	grep -qx "ID=$name" "$dir/etc/os-release" || die "apk: the $name image's os-release does not say ID=$name"
	got=$(awk -F: '$1 == "P" { n = $2 } $1 == "V" { v = $2 } $1 == "A" { printf "%s=%s %s\n", n, v, $2 }' "$dir/$db" | LC_ALL=C sort)
	want=$(tr ',' '\n' <<<"$APK_INSTALLED" | sed "s/\$/ ${UNAME_MACHINE[$a]}/" | LC_ALL=C sort)
	[[ $got == "$want" ]] || die "apk: the $name image's $db for $a lists $(paste -sd, <<<"$got"), expected $(paste -sd, <<<"$want")"
	APK_LAYER_SUMMARY="$db lists $(cut -d' ' -f1 <<<"$got" | paste -sd' ') (${UNAME_MACHINE[$a]})"
}

# check_apk proves, once per mirror port, repository generation and alpine
# image, that the alpine image's shell runs (busybox) and that its
# etc/apk/repositories leads to the repository: wget fetches the index the
# bed serves, byte for byte.
check_apk() {
	local dir="$STATE/apk-check" logfile="$STATE/apk-check.log" key t0 sum arch uid n
	key="$MIRROR_PORT $APK_GENERATION ${APK_IMAGE_DIGEST[alpine]}"
	[[ $(cat "$STATE/apk.check-ok" 2>/dev/null) == "$key" ]] && return 0
	t0=$(now_ms)
	arch=${UNAME_MACHINE[$ARCH]}
	sum=$(sha256sum <"$APK_REPO_ROOT/darn/main/$arch/APKINDEX.tar.gz" | cut -d' ' -f1)
	safe_rm_tree "$dir"
	mkdir -p "$dir"
	# shellcheck disable=SC2016 # expanded by the image's shell
	printf 'FROM %s@%s\nRUN ["/bin/sh", "-c", "%s", "check", "%s"]\n' "$(apk_image_ref alpine)" "${APK_IMAGE_DIGEST[alpine]}" \
		'set -e; url=$(cat /etc/apk/repositories); wget -q -O /tmp/index \"$url/$(cat /etc/apk/arch)/APKINDEX.tar.gz\"; echo \"$1  /tmp/index\" | sha256sum -c -; echo \"apk check ok: $(id -u) $(grep -c ^P: /lib/apk/db/installed)\"' \
		"$sum" >"$dir/Dockerfile"
	if ! "$BUILDCTL_BIN" --addr "$BUILDKIT_ADDR" build --progress plain --no-cache \
		--frontend dockerfile.v0 --local context="$dir" --local dockerfile="$dir" >"$logfile" 2>&1; then
		log_tail "$logfile" 40
		die "apk: the alpine image cannot fetch its repository's index (log: $logfile)"
	fi
	echo "$key" >"$STATE/apk.check-ok"
	safe_rm_tree "$dir"
	read -r uid n < <(grep -m1 -Eo 'apk check ok: [0-9]+ [0-9]+' "$logfile" | cut -d' ' -f4-)
	log "apk: alpine image: busybox sh runs as uid $uid, reads $n packages, wget of \$(cat /etc/apk/repositories)/$arch/APKINDEX.tar.gz matches the bed's, in $(elapsed "$t0")"
}

# apk_env prints the DARN_APK_* lines of .testbed/env (up.sh's write_env).
apk_env() {
	local name
	printf '%s\n' "DARN_APK_REPO_URL=$(apk_url darn)" "DARN_APK_TAMPERED_PKG_URL=$(apk_url darn-tampered-pkg)" \
		"DARN_APK_TAMPERED_INDEX_URL=$(apk_url darn-tampered-index)" "DARN_APK_KEY_NAME=$APK_KEY_NAME" \
		"DARN_APK_KEY=$APK_KEY_PUB" "DARN_APK_PACKAGES=$APK_TABLE" \
		"DARN_APK_INSTALLED=$APK_INSTALLED" "DARN_APK_FIXES=$APK_FIXES"
	for name in "${APK_IMAGES[@]}"; do
		printf 'DARN_APK_%s_IMAGE=%s\nDARN_APK_%s_IMAGE_DIGEST=%s\n' "${name^^}" "$(apk_image_ref "$name")" \
			"${name^^}" "${APK_IMAGE_DIGEST[$name]}"
	done
}

# ensure_apk gives the bed its apk world (see the top of this file). It
# takes the cache lock itself: up.sh calls it after the mirror server is
# up, whose port the images' repositories files name.
ensure_apk() {
	exec 8>"$CACHE/lock"
	flock -w 1800 8 || die "timed out waiting for $CACHE/lock"
	apk_load_table
	ensure_apk_tool
	ensure_apk_key
	ensure_apk_repo
	ensure_apk_images
	exec 8>&-
	check_apk
}
