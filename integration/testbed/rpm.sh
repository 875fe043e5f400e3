# shellcheck shell=bash disable=SC2153 # CACHE, STATE, ARCH etc. come from up.sh/lib.sh
# shellcheck source-path=SCRIPTDIR
# The test bed's RPM world, sourced by up.sh (after multiarch.sh): it uses
# up.sh's helpers (log, die, elapsed, build_image, ensure_rootfs,
# rootfs_paths, debian_sources, manifest_digest, cleanup_dirs), multiarch.sh's
# MULTIARCH_ENABLED, MULTI_ARCHES, UNAME_MACHINE and foreign_arches, and
# MIRROR_DIR, MIRROR_PORT, REGISTRY_PORT, BUILDKIT_ADDR. The packages and the
# repository are rpm-repo.sh's, the multi-platform image rpm-multi.sh's.
# up.sh calls ensure_rpm once the mirror server runs; it builds, each step
# cached and redone only when its inputs change:
#   - a test signing key (RSA 3072, no passphrase) in a private GNUPGHOME,
#     $CACHE/rpm/gnupg, and its public half $CACHE/rpm/RPM-GPG-KEY-darn-test,
#   - the test packages of integration/testdata/rpm/packages.tsv, built with
#     rpmbuild from image/rpm/darn-test.spec and signed with rpmsign, in
#     $CACHE/rpm/packages (checked with rpm -K against the key); the "arch"
#     rows once per rpm architecture of MULTI_ARCHES (x86_64, aarch64),
#   - below MIRROR_DIR/rpm (served as $DARN_MIRROR_URL/rpm/):
#       darn/            Packages/*.rpm, repodata/ (createrepo_c), its
#                        repomd.xml signed (repomd.xml.asc) and the key as
#                        repodata/repomd.xml.key (where zypper looks for it)
#                        and RPM-GPG-KEY-darn-test
#       darn-tampered/   the same, except that darn-libfoo 1.0-2's files
#                        (x86_64 and aarch64) have one byte changed (size
#                        and metadata unchanged)
#     both symlinks into a generation directory .g-<hash>/, swapped when the
#     packages change (the previous generation is kept for a bed serving it),
#   - the images darn-test/rpm:{tooling,dnf,offline,rpmdb,manifest,zypper}
#     (image/rpm/Dockerfile, see there), pushed to the bed's registry; their
#     repository files name this bed's loopback URL, so a new mirror port
#     rebuilds them; but offline's: it is the dnf target built with a
#     repository file naming RPM_OFFLINE_URL, a host that never resolves,
#   - darn-test/rpm:dnf-multi, an OCI index of the dnf image and the same
#     for each foreign platform of MULTI_ARCHES (rpm-multi.sh),
# and checks, once per port and set of images, that dnf and zypper in the
# images refresh from the repository and install the fixes (dnf also in the
# index's foreign images, under qemu), that the tooling image patches the
# rpmdb-only image with dnf --installroot, that dnf refuses the tampered
# copy, and that dnf in the offline image cannot reach its repository but
# installs the fixes with its URL rewritten (image/rpm/check.sh).
# DARN_TESTBED_RPM=0 skips all of it (no DARN_RPM_* in .testbed/env);
# DARN_TESTBED_MULTIARCH=0 the multi-platform image (no DARN_RPM_MULTI_*).

# shellcheck disable=SC2034 # read by up.sh
RPM_ENABLED="${DARN_TESTBED_RPM:-1}"
RPM_LAYOUT=1
RPM_DIR="$CACHE/rpm"
RPM_GNUPGHOME="$RPM_DIR/gnupg"
RPM_KEY_NAME=RPM-GPG-KEY-darn-test
RPM_KEY="$RPM_DIR/$RPM_KEY_NAME"
RPM_PACKAGES_DIR="$RPM_DIR/packages"
RPM_TABLE="$ROOT/integration/testdata/rpm/packages.tsv"
RPM_IMAGE_DIR="$TESTBED_DIR/image/rpm"
RPM_REPO_ROOT="$MIRROR_DIR/rpm"
# The package the tampered repository alters: the fix a patch installs.
RPM_TAMPERED_PACKAGE=darn-libfoo-1.0-2
RPM_IMAGE_REPO=darn-test/rpm
# Build order: tooling first, the dnf image is built on it.
RPM_IMAGES=(tooling dnf offline rpmdb manifest zypper)
# Dockerfile targets of images not named after theirs: offline is the dnf
# target with another repository file in its build context.
declare -A RPM_IMAGE_TARGET=([offline]=dnf)
declare -A RPM_IMAGE_DIGEST=()
# The offline image's repository: the .invalid TLD never resolves, so dnf
# there needs the repository's URL rewritten (a mirror) to install anything.
RPM_OFFLINE_URL=http://rpm.darn-unreachable.invalid/darn
# The packages' Vendor. Trivy (v0.74) takes an rpm database's packages for
# the distribution's own only when their Vendor starts with an OS vendor's
# name ("Rocky", "openSUSE", "Red Hat"...); the others count as third-party
# and are left out of vulnerability detection (Azure Linux's manifests carry
# no such test). So the test packages claim to come from Rocky, and say who
# really made them.
RPM_VENDOR="Rocky (darn test)"
# SOURCE_DATE_EPOCH of the packages (2026-01-01): their build times and file
# times, so that a rebuild differs only in its signatures.
RPM_SOURCE_DATE_EPOCH=1767225600

# shellcheck source=rpm-repo.sh
source "$TESTBED_DIR/rpm-repo.sh"
# shellcheck source=rpm-multi.sh
source "$TESTBED_DIR/rpm-multi.sh"

rpm_image_ref() {
	echo "127.0.0.1:$REGISTRY_PORT/$RPM_IMAGE_REPO:$1"
}

# rpm_tree_hash DIR... prints a line per file and symlink below the DIRs
# (relative to TESTBED_DIR/image): path, mode and content or target.
rpm_tree_hash() {
	(cd "$TESTBED_DIR/image" && find "$@" \( -type f -o -type l \) -printf '%p %m %l\n' | LC_ALL=C sort |
		while read -r p m l; do echo "$p $m $l $([[ -L $p ]] || sha256sum <"$p" | cut -c1-64)"; done)
}

# rpm_image_url NAME prints the repository URL the image NAME's repository
# files name.
rpm_image_url() {
	if [[ $1 == offline ]]; then echo "$RPM_OFFLINE_URL"; else echo "$RPM_REPO_URL"; fi
}

# rpm_image_key NAME [ARCH] identifies what the image NAME for the Debian
# architecture ARCH (default: the host's) is built from, apart from the
# rootfs tarball (like up.sh's variant_inputs_hash). The tooling image does
# not depend on the packages or the repository's URL.
rpm_image_key() {
	{
		echo "rpm image $1 layout $RPM_LAYOUT $SUITE minbase ${2:-$ARCH}"
		cat "$RPM_IMAGE_DIR/Dockerfile" "$RPM_IMAGE_DIR/install.sh"
		rpm_tree_hash rpm/root/tools
		debian_sources
		declare -f rpm_image_context rpm_installed_files
		if [[ $1 != tooling ]]; then
			echo "$RPM_PACKAGES_SUM $(rpm_image_url "$1") ${RPM_IMAGE_TARGET[$1]:-$1}"
			cat "$RPM_IMAGE_DIR"/darn-test*.repo.in
			rpm_tree_hash rpm/root distroless
		fi
	} | sha256sum | cut -d' ' -f1
}

# rpm_image_context DIR ARCH URL fills the build context (see
# image/rpm/Dockerfile) for the Debian architecture ARCH, its repository
# files naming URL. ARCH's rootfs must be cached (ensure_rootfs ARCH).
rpm_image_context() {
	local ctx=$1 arch=$2 url=$3 f
	mkdir -p "$ctx/rpms" "$ctx/key" "$ctx/repo"
	rootfs_paths "$arch"
	[[ -s $ROOTFS_TARBALL ]] || die "rpm: no $arch rootfs at $ROOTFS_TARBALL"
	ln "$ROOTFS_TARBALL" "$ctx/rootfs.tar.gz" 2>/dev/null || cp "$ROOTFS_TARBALL" "$ctx/rootfs.tar.gz"
	rootfs_paths # back to the host's rootfs
	debian_sources >"$ctx/debian.sources"
	cp "$RPM_IMAGE_DIR/install.sh" "$ctx/"
	while read -r f; do
		cp "$RPM_PACKAGES_DIR/$f" "$ctx/rpms/"
	done < <(rpm_installed_files "$(rpm_arch_of "$arch")")
	cp "$RPM_KEY" "$ctx/key/"
	render "$RPM_IMAGE_DIR/darn-test.repo.in" "$ctx/repo/darn-test.repo" URL="$url"
	render "$RPM_IMAGE_DIR/darn-test.zypp.repo.in" "$ctx/repo/darn-test.zypp.repo" URL="$url"
	cp -a "$RPM_IMAGE_DIR/root" "$ctx/root"
	cp -a "$TESTBED_DIR/image/distroless" "$ctx/distroless"
}

# ensure_rpm_images builds and pushes the RPM images whose stamp or tag is
# missing, from one build context (and one more per other repository URL:
# the offline image's), and sets RPM_IMAGE_DIGEST.
ensure_rpm_images() {
	local reg="127.0.0.1:$REGISTRY_PORT" name key digest todo=() stage t0 ctx url
	for name in "${RPM_IMAGES[@]}"; do
		key=$(rpm_image_key "$name")
		if [[ $(cat "$CACHE/images-rpm-$name.stamp" 2>/dev/null) == "$key" ]] &&
			digest=$(manifest_digest "$reg" "$RPM_IMAGE_REPO" "$name"); then
			RPM_IMAGE_DIGEST[$name]=$digest
		else
			todo+=("$name")
		fi
	done
	if ((${#todo[@]} == 0)); then
		log "rpm: images $RPM_IMAGE_REPO:{$(IFS=,; echo "${RPM_IMAGES[*]}")} already in the registry"
		return 0
	fi
	ensure_rootfs
	t0=$(now_ms)
	log "rpm: building $RPM_IMAGE_REPO:{$(IFS=,; echo "${todo[*]}")}"
	stage="$STATE/rpm-build"
	safe_rm_tree "$stage"
	cleanup_dirs+=("$stage")
	rpm_image_context "$stage/context" "$ARCH" "$RPM_REPO_URL"
	for name in "${todo[@]}"; do
		ctx="$stage/context"
		url=$(rpm_image_url "$name")
		if [[ $url != "$RPM_REPO_URL" ]]; then
			ctx="$stage/context-$name"
			rpm_image_context "$ctx" "$ARCH" "$url"
		fi
		build_image "$ctx" rpm/Dockerfile "$(rpm_image_ref "$name")" "$STATE/build-rpm-$name-image.log" \
			--opt target="${RPM_IMAGE_TARGET[$name]:-$name}"
		RPM_IMAGE_DIGEST[$name]=$(manifest_digest "$reg" "$RPM_IMAGE_REPO" "$name") ||
			die "rpm: $(rpm_image_ref "$name") missing after push"
		case $name in
		rpmdb | manifest) verify_rpm_distroless_image "$name" "$stage" ;;
		esac
		rpm_image_key "$name" >"$CACHE/images-rpm-$name.stamp"
	done
	safe_rm_tree "$stage"
	log "rpm: pushed ${todo[*]} in $(elapsed "$t0")"
}

# verify_rpm_distroless_image NAME STAGE checks the pushed rpmdb or manifest
# image (one layer) the way a patch tool sees it: what it must and must not
# hold, and its package list (rpm -qa on its database; the manifests).
verify_rpm_distroless_image() {
	local name=$1 dir="$2/$1-check" ref layers p missing=() extra want got
	ref="127.0.0.1:$REGISTRY_PORT/$RPM_IMAGE_REPO@${RPM_IMAGE_DIGEST[$name]}"
	safe_rm_tree "$dir"
	skopeo copy -q --src-tls-verify=false "docker://$ref" "dir:$dir" >/dev/null || die "rpm: skopeo cannot copy $ref"
	mapfile -t layers < <(jq -r '.layers[].digest' "$dir/manifest.json")
	((${#layers[@]} == 1)) || die "rpm: expected one layer in $ref, got ${#layers[@]}"
	mkdir "$dir/root"
	tar -C "$dir/root" -xzf "$dir/${layers[0]#sha256:}"
	for p in etc/os-release usr/lib/os-release etc/passwd etc/group etc/yum.repos.d/darn-test.repo \
		"etc/pki/rpm-gpg/$RPM_KEY_NAME" etc/darn/darn.conf; do
		[[ -e $dir/root/$p ]] || missing+=("$p")
	done
	case $name in
	rpmdb) p=var/lib/rpm/rpmdb.sqlite ;;
	manifest) p=var/lib/rpmmanifest/container-manifest-2 ;;
	esac
	[[ -s $dir/root/$p ]] || missing+=("$p")
	((${#missing[@]} == 0)) || die "rpm: $ref lacks ${missing[*]}"
	extra=$(cd "$dir/root" && for q in bin/sh usr/bin/sh usr/bin/bash usr/bin/rpm usr/bin/dnf usr/bin/zypper var/lib/dpkg; do
		[[ ! -e $q && ! -L $q ]] || echo "$q"
	done)
	[[ $name == rpmdb || ! -e $dir/root/var/lib/rpm ]] || extra+=" var/lib/rpm"
	[[ -z ${extra// /} ]] || die "rpm: $ref should not contain: $(echo "$extra" | tr '\n' ' ')"
	want=$(tr ',' '\n' <<<"$RPM_INSTALLED" | sed '/=[0-9]*:/!s/=/=0:/' | LC_ALL=C sort)
	case $name in
	rpmdb)
		got=$(rpm --dbpath "$dir/root/var/lib/rpm" -qa --qf '%{NAME}=%{EPOCHNUM}:%{VERSION}-%{RELEASE}\n' | grep -v '^gpg-pubkey=' | LC_ALL=C sort)
		[[ -n $(rpm --dbpath "$dir/root/var/lib/rpm" -q gpg-pubkey 2>/dev/null) ]] || die "rpm: $ref's rpm database lacks the test key"
		;;
	manifest)
		got=$(awk -F'\t' '{ print $1 "=" $9 ":" $2 }' "$dir/root/var/lib/rpmmanifest/container-manifest-2" | LC_ALL=C sort)
		[[ $(wc -l <"$dir/root/var/lib/rpmmanifest/container-manifest-1") == "$(wc -l <<<"$want")" ]] ||
			die "rpm: $ref's container-manifest-1 does not list $(wc -l <<<"$want") packages"
		;;
	esac
	[[ $got == "$want" ]] || die "rpm: $ref lists $(echo "$got" | paste -sd,), expected $(echo "$want" | paste -sd,)"
	log "rpm: $name image checked: $(find "$dir/root" | wc -l) entries, no shell/rpm/dnf, $p lists $(echo "$got" | paste -sd,)"
	safe_rm_tree "$dir"
}

# check_rpm proves, once per mirror port, repository generation and set of
# images, that the images' package managers work against the repository
# (image/rpm/check.sh, in build steps, all at once): dnf in the dnf image and
# in the multi-platform image's foreign ones (under qemu), zypper, dnf
# --installroot from the tooling image, the tampered copy refused, and the
# offline image's repository out of reach but for a rewritten URL.
check_rpm() {
	local dir="$STATE/rpm-check" logfile="$STATE/rpm-check.log" key t0 name a tampered foreign=() twins=
	local -A img=()
	[[ -z $RPM_MULTI_DIGEST ]] || mapfile -t foreign < <(foreign_arches)
	key="$MIRROR_PORT $(readlink "$RPM_REPO_ROOT/darn")"
	for name in "${RPM_IMAGES[@]}"; do key+=" ${RPM_IMAGE_DIGEST[$name]}"; done
	key+=" $RPM_MULTI_DIGEST $(sha256sum <"$RPM_IMAGE_DIR/check.sh" | cut -c1-16)"
	[[ $(cat "$STATE/rpm.check-ok" 2>/dev/null) == "$key" ]] && return 0
	t0=$(now_ms)
	for name in "${RPM_IMAGES[@]}"; do img[$name]="$(rpm_image_ref "$name")@${RPM_IMAGE_DIGEST[$name]}"; done
	tampered="${RPM_REPO_URL%/darn}/darn-tampered"
	safe_rm_tree "$dir"
	mkdir -p "$dir"
	cp "$RPM_IMAGE_DIR/check.sh" "$dir/"
	cat >"$dir/Dockerfile" <<-EOF
		FROM ${img[dnf]} AS dnf
		USER root
		COPY check.sh /tmp/
		RUN ["/bin/sh", "/tmp/check.sh", "dnf", "$RPM_REPO_URL", "$tampered", "$RPM_INSTALLED", "$RPM_FIXES"]
		RUN touch /tmp/ok

		FROM ${img[offline]} AS offline
		USER root
		COPY check.sh /tmp/
		RUN ["/bin/sh", "/tmp/check.sh", "offline", "$RPM_OFFLINE_URL", "$RPM_REPO_URL", "$RPM_INSTALLED", "$RPM_FIXES"]
		RUN touch /tmp/ok

		FROM ${img[zypper]} AS zypper
		USER root
		COPY check.sh /tmp/
		RUN ["/bin/sh", "/tmp/check.sh", "zypper", "$RPM_REPO_URL", "$RPM_INSTALLED", "$RPM_FIXES"]
		RUN touch /tmp/ok

		FROM ${img[tooling]} AS installroot
		COPY --from=${img[rpmdb]} / /target/
		COPY check.sh /tmp/
		RUN ["/bin/sh", "/tmp/check.sh", "installroot", "/target", "$RPM_INSTALLED", "$RPM_FIXES"]
		RUN touch /tmp/ok
	EOF
	# The same dnf check in each foreign image of the index, run by qemu.
	for a in "${foreign[@]}"; do
		cat >>"$dir/Dockerfile" <<-EOF

			FROM --platform=linux/$a $(rpm_image_ref "$RPM_MULTI_TAG")@$RPM_MULTI_DIGEST AS dnf-$a
			USER root
			COPY check.sh /tmp/
			RUN ["/bin/sh", "/tmp/check.sh", "dnf", "$RPM_REPO_URL", "$tampered", "$RPM_INSTALLED", "$RPM_FIXES"]
			RUN touch /tmp/ok
		EOF
	done
	{
		printf '\nFROM scratch\n'
		for name in dnf offline zypper installroot "${foreign[@]/#/dnf-}"; do
			printf 'COPY --from=%s /tmp/ok /%s\n' "$name" "$name"
		done
	} >>"$dir/Dockerfile"
	if ! "$BUILDCTL_BIN" --addr "$BUILDKIT_ADDR" build --progress plain --no-cache \
		--frontend dockerfile.v0 --local context="$dir" --local dockerfile="$dir" >"$logfile" 2>&1; then
		log_tail "$logfile" 60
		die "rpm: dnf/zypper in the RPM images did not behave as expected (log: $logfile)"
	fi
	echo "$key" >"$STATE/rpm.check-ok"
	safe_rm_tree "$dir"
	for a in "${foreign[@]}"; do twins+=" and its linux/$a twin"; done
	log "rpm: dnf image$twins: tampered repository refused, makecache + install of $RPM_FIXES OK; offline image: repository unreachable, install through the rewritten URL OK; zypper image: refresh + install OK; tooling image: dnf --installroot on the rpmdb image OK; in $(elapsed "$t0")"
}

# ensure_rpm gives the bed its RPM world (see the top of this file). It takes
# the cache lock itself: up.sh calls it after the mirror server is up, whose
# port the images' repository files name.
ensure_rpm() {
	RPM_REPO_URL="http://127.0.0.1:$MIRROR_PORT/rpm/darn"
	exec 8>"$CACHE/lock"
	flock -w 1800 8 || die "timed out waiting for $CACHE/lock"
	rpm_load_table
	# gpg starts an agent to sign; stop it however we leave.
	trap 'rpm_stop_agent; on_exit' EXIT
	ensure_rpm_key
	ensure_rpm_packages
	ensure_rpm_repo
	rpm_stop_agent
	trap on_exit EXIT
	ensure_rpm_images
	[[ $MULTIARCH_ENABLED == 0 ]] || ensure_rpm_multi_image
	exec 8>&-
	check_rpm
}
