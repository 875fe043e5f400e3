# shellcheck shell=bash disable=SC2153 # RPM_*, CACHE, STATE etc. come from rpm.sh/up.sh/lib.sh
# The RPM world's multi-platform image, sourced by rpm.sh: ensure_rpm calls
# ensure_rpm_multi_image (unless DARN_TESTBED_MULTIARCH=0) after the other
# RPM images. darn-test/rpm:dnf-multi is an OCI index of
#   - the dnf image itself (the host's platform: the same manifest, nothing
#     rebuilt), and
#   - for each foreign platform of MULTI_ARCHES (linux/arm64 on an amd64
#     host), image/rpm/Dockerfile's dnf target built for that platform from
#     its own debootstrap rootfs (ensure_rootfs ARCH, as multiarch.sh's index
#     uses), with that architecture's builds of the installed packages. Its
#     apt steps run under qemu; they share the dnf image's cache mounts (the
#     apt lists and the Architecture: all .debs), and BuildKit keeps their
#     result for every later rebuild of the dnf step. It is pushed by digest
#     only: the index is what names it.
# The index is put together here rather than built in one multi-platform
# build so that the host's entry is the dnf image (tests patch both) and the
# Dockerfile keeps one rootfs per context. check_rpm runs dnf in the foreign
# images; verify_rpm_multi_image checks the index and each platform's rpm
# database from the registry's bytes.

RPM_MULTI_TAG=dnf-multi
RPM_MULTI_DIGEST=
declare -A RPM_MULTI_PART=()

# rpm_multi_key identifies what the index is made of: the dnf image (its
# digest) and what each foreign image is built from (apart from the rootfs
# tarballs, like rpm_image_key).
rpm_multi_key() {
	local a
	{
		echo "rpm multi layout $RPM_LAYOUT $RPM_MULTI_TAG $MULTI_PLATFORMS ${RPM_IMAGE_DIGEST[dnf]}"
		for a in $(foreign_arches); do
			echo "$a $(rpm_image_key dnf "$a")"
		done
		declare -f rpm_multi_build rpm_multi_descriptor ensure_rpm_multi_image verify_rpm_multi_image
	} | sha256sum | cut -d' ' -f1
}

# rpm_multi_build ARCH STAGE builds the dnf target for linux/ARCH, pushes it
# by digest to RPM_IMAGE_REPO and sets RPM_MULTI_PART[ARCH] to its digest.
rpm_multi_build() {
	local a=$1 ctx="$2/context-$1" meta="$2/metadata-$1.json" logfile="$STATE/build-rpm-dnf-$1-image.log" digest
	ensure_rootfs "$a"
	rootfs_paths # back to the host's rootfs
	rpm_image_context "$ctx" "$a" "$RPM_REPO_URL"
	if ! "$BUILDCTL_BIN" --addr "$BUILDKIT_ADDR" build --progress plain \
		--frontend dockerfile.v0 --opt filename=rpm/Dockerfile --opt target=dnf --opt platform="linux/$a" \
		--local context="$ctx" --local dockerfile="$TESTBED_DIR/image" --metadata-file "$meta" \
		--output "type=image,name=127.0.0.1:$REGISTRY_PORT/$RPM_IMAGE_REPO,push=true,push-by-digest=true,registry.insecure=true" \
		>"$logfile" 2>&1; then
		log_tail "$logfile" 40
		die "rpm: building the linux/$a dnf image failed (log: $logfile)"
	fi
	digest=$(jq -r '."containerimage.digest" // empty' "$meta")
	[[ $digest =~ ^sha256:[0-9a-f]{64}$ ]] || die "rpm: buildctl gave no digest for the linux/$a dnf image ($meta)"
	RPM_MULTI_PART[$a]=$digest
	safe_rm_tree "$ctx"
}

# rpm_multi_descriptor DIGEST DIR prints the index entry of the manifest
# DIGEST of RPM_IMAGE_REPO: its media type, size and its config's platform.
# It leaves the manifest and config in DIR/DIGEST.{manifest,config}.json.
rpm_multi_descriptor() {
	local d=$1 base="http://127.0.0.1:$REGISTRY_PORT/v2/$RPM_IMAGE_REPO" m="$2/$1.manifest.json" c="$2/$1.config.json"
	curl -fsS --max-time 10 -o "$m" -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "$base/manifests/$d" ||
		die "rpm: cannot fetch the manifest $d of $RPM_IMAGE_REPO"
	[[ sha256:$(sha256sum <"$m" | cut -d' ' -f1) == "$d" ]] || die "rpm: the registry's manifest $d has another digest"
	curl -fsS --max-time 10 -o "$c" "$base/blobs/$(jq -r .config.digest "$m")" ||
		die "rpm: cannot fetch the config of the manifest $d"
	jq -c --arg d "$d" --argjson size "$(stat -c %s "$m")" --arg mt "$(jq -r .mediaType "$m")" \
		'{mediaType: $mt, digest: $d, size: $size, platform: ({architecture, os} + if .variant then {variant} else {} end)}' "$c"
}

# ensure_rpm_multi_image builds the foreign images and puts the index when
# its stamp or tag is missing, and sets RPM_MULTI_DIGEST.
ensure_rpm_multi_image() {
	local reg="127.0.0.1:$REGISTRY_PORT" key stamp="$CACHE/images-rpm-$RPM_MULTI_TAG.stamp" stage a t0 headers
	key=$(rpm_multi_key)
	if [[ $(cat "$stamp" 2>/dev/null) == "$key" ]] &&
		RPM_MULTI_DIGEST=$(manifest_digest "$reg" "$RPM_IMAGE_REPO" "$RPM_MULTI_TAG"); then
		log "rpm: image $RPM_IMAGE_REPO:$RPM_MULTI_TAG ($MULTI_PLATFORMS) already in the registry"
		return 0
	fi
	t0=$(now_ms)
	log "rpm: building $RPM_IMAGE_REPO:$RPM_MULTI_TAG ($MULTI_PLATFORMS; $(foreign_arches | paste -sd,) under qemu)"
	stage="$STATE/rpm-multi-build"
	safe_rm_tree "$stage"
	cleanup_dirs+=("$stage")
	mkdir -p "$stage"
	for a in $(foreign_arches); do
		rpm_multi_build "$a" "$stage"
	done
	RPM_MULTI_PART[$ARCH]=${RPM_IMAGE_DIGEST[dnf]}
	for a in "${MULTI_ARCHES[@]}"; do
		rpm_multi_descriptor "${RPM_MULTI_PART[$a]}" "$stage"
	done | jq -cs '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: .}' >"$stage/index.json"
	headers=$(curl -fsS --max-time 30 -X PUT -D - -o /dev/null -H 'Content-Type: application/vnd.oci.image.index.v1+json' \
		--data-binary "@$stage/index.json" "http://$reg/v2/$RPM_IMAGE_REPO/manifests/$RPM_MULTI_TAG") ||
		die "rpm: the registry refused the index $RPM_IMAGE_REPO:$RPM_MULTI_TAG"
	RPM_MULTI_DIGEST=sha256:$(sha256sum <"$stage/index.json" | cut -d' ' -f1)
	tr -d '\r' <<<"$headers" | grep -qix "docker-content-digest: $RPM_MULTI_DIGEST" ||
		die "rpm: the registry stored $RPM_IMAGE_REPO:$RPM_MULTI_TAG under another digest than $RPM_MULTI_DIGEST"
	verify_rpm_multi_image "$stage"
	echo "$key" >"$stamp"
	safe_rm_tree "$stage"
	log "rpm: pushed $RPM_IMAGE_REPO:$RPM_MULTI_TAG ($RPM_MULTI_DIGEST) in $(elapsed "$t0")"
}

# verify_rpm_multi_image STAGE reads the index back by its tag and checks,
# for each platform, that its entry names the platform its config says, that
# the host's is the dnf image, that it runs as the dnf image does, and that
# its rpm database (in its last layer, the dnf step's) lists exactly the
# installed packages built for its architecture.
verify_rpm_multi_image() {
	local base="http://127.0.0.1:$REGISTRY_PORT/v2/$RPM_IMAGE_REPO" dir="$1/verify" index got want m p a layer summary=()
	mkdir -p "$dir"
	index=$(curl -fsS --max-time 10 -H 'Accept: application/vnd.oci.image.index.v1+json' "$base/manifests/$RPM_MULTI_TAG") ||
		die "rpm: cannot fetch $RPM_IMAGE_REPO:$RPM_MULTI_TAG"
	got=$(jq -r '[.manifests[].platform | "\(.os)/\(.architecture)"] | join(",")' <<<"$index")
	[[ $got == "$MULTI_PLATFORMS" ]] || die "rpm: $RPM_IMAGE_REPO:$RPM_MULTI_TAG lists $got, not $MULTI_PLATFORMS"
	[[ $(jq -r --arg p "linux/$ARCH" '.manifests[] | select("\(.platform.os)/\(.platform.architecture)" == $p) | .digest' <<<"$index") == "${RPM_IMAGE_DIGEST[dnf]}" ]] ||
		die "rpm: the linux/$ARCH entry of $RPM_IMAGE_REPO:$RPM_MULTI_TAG is not the dnf image ${RPM_IMAGE_DIGEST[dnf]}"
	while read -r m p; do
		a=${p#linux/}
		rpm_multi_descriptor "$m" "$dir" >/dev/null
		[[ $(jq -r '"\(.os)/\(.architecture) \(.config.User)"' "$dir/$m.config.json") == "$p 1000:1000" ]] ||
			die "rpm: the $p image $m of $RPM_IMAGE_REPO:$RPM_MULTI_TAG has a $(jq -r '"\(.os)/\(.architecture), user \(.config.User)"' "$dir/$m.config.json") config"
		layer=$(jq -r '.layers[-1].digest' "$dir/$m.manifest.json")
		mkdir -p "$dir/$a"
		curl -fsS --max-time 30 "$base/blobs/$layer" | tar -C "$dir/$a" -xzf - --wildcards 'var/lib/rpm/*' ||
			die "rpm: the last layer of the $p image $m holds no rpm database"
		got=$(rpm --dbpath "$dir/$a/var/lib/rpm" -qa --qf '%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}.rpm\n' | grep -v '^gpg-pubkey-' | LC_ALL=C sort)
		want=$(rpm_installed_files "$(rpm_arch_of "$a")" | LC_ALL=C sort)
		[[ $got == "$want" ]] || die "rpm: the rpm database of the $p image $m lists $(paste -sd' ' <<<"$got"), expected $(paste -sd' ' <<<"$want")"
		summary+=("$p: $(paste -sd' ' <<<"$got")")
	done < <(jq -r '.manifests[] | "\(.digest) \(.platform.os)/\(.platform.architecture)"' <<<"$index")
	log "rpm: $RPM_IMAGE_REPO:$RPM_MULTI_TAG checked: $(printf '%s; ' "${summary[@]}")linux/$ARCH is the dnf image"
}
