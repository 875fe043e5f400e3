# shellcheck shell=bash disable=SC2153 # CACHE, STATE, ARCH etc. come from up.sh/lib.sh
# The test bed's RPM world, sourced by up.sh: it uses up.sh's helpers (log,
# die, elapsed, build_image, ensure_rootfs, debian_sources, manifest_digest,
# cleanup_dirs) and MIRROR_DIR, MIRROR_PORT, REGISTRY_PORT, BUILDKIT_ADDR.
# up.sh calls ensure_rpm once the mirror server runs; it builds, each step
# cached and redone only when its inputs change:
#   - a test signing key (RSA 3072, no passphrase) in a private GNUPGHOME,
#     $CACHE/rpm/gnupg, and its public half $CACHE/rpm/RPM-GPG-KEY-darn-test,
#   - the test packages of integration/testdata/rpm/packages.tsv, built with
#     rpmbuild from image/rpm/darn-test.spec and signed with rpmsign, in
#     $CACHE/rpm/packages (checked with rpm -K against the key),
#   - below MIRROR_DIR/rpm (served as $DARN_MIRROR_URL/rpm/):
#       darn/            Packages/*.rpm, repodata/ (createrepo_c), its
#                        repomd.xml signed (repomd.xml.asc) and the key as
#                        repodata/repomd.xml.key (where zypper looks for it)
#                        and RPM-GPG-KEY-darn-test
#       darn-tampered/   the same, except that darn-libfoo 1.0-2's file has
#                        one byte changed (size and metadata unchanged)
#     both symlinks into a generation directory .g-<hash>/, swapped when the
#     packages change (the previous generation is kept for a bed serving it),
#   - the images darn-test/rpm:{tooling,dnf,rpmdb,manifest,zypper}
#     (image/rpm/Dockerfile, see there), pushed to the bed's registry; their
#     repository files name this bed's loopback URL, so a new mirror port
#     rebuilds them,
# and checks, once per port and set of images, that dnf and zypper in the
# images refresh from the repository and install the fixes (and that the
# tooling image patches the rpmdb-only image with dnf --installroot), and
# that dnf refuses the tampered copy (image/rpm/check.sh).
# DARN_TESTBED_RPM=0 skips all of it (no DARN_RPM_* in .testbed/env).

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
RPM_IMAGES=(tooling dnf rpmdb manifest zypper)
declare -A RPM_IMAGE_DIGEST=()
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

# rpm_table prints the rows of RPM_TABLE (tab-separated name, evr, arch,
# role, requires, flags), without comments.
rpm_table() {
	[[ -s $RPM_TABLE ]] || die "rpm: $RPM_TABLE is missing"
	awk -F'\t' '/^#/ || NF == 0 { next } NF != 6 { printf "rpm: %s:%d: expected 6 tab-separated fields\n", FILENAME, FNR > "/dev/stderr"; exit 1 } { print }' "$RPM_TABLE" ||
		die "rpm: cannot parse $RPM_TABLE"
}

# rpm_load_table sets RPM_ARCH (the build machine's rpm architecture) and,
# from RPM_TABLE, RPM_FILES (row's package file name, in table order),
# RPM_INSTALLED_FILES, and RPM_INSTALLED and RPM_FIXES ("name=evr,...").
rpm_load_table() {
	local name evr arch role requires flags vr file
	RPM_ARCH=$(rpm --eval '%{_arch}')
	[[ $RPM_ARCH =~ ^[a-z0-9_]+$ ]] || die "rpm: cannot tell the rpm architecture (rpm --eval %{_arch} says '$RPM_ARCH')"
	# Once in this shell: a bad table dies here, not in a subshell below.
	rpm_table >/dev/null
	RPM_FILES=()
	RPM_INSTALLED_FILES=()
	RPM_INSTALLED=
	RPM_FIXES=
	while IFS=$'\t' read -r name evr arch role requires flags; do
		vr=${evr#*:}
		[[ $arch == noarch || $arch == arch ]] || die "rpm: $RPM_TABLE: arch of $name $evr is '$arch', not noarch or arch"
		[[ $arch == noarch ]] || arch=$RPM_ARCH
		file="$name-$vr.$arch.rpm"
		RPM_FILES+=("$file")
		case $role in
		installed)
			RPM_INSTALLED_FILES+=("$file")
			RPM_INSTALLED+="${RPM_INSTALLED:+,}$name=$evr"
			;;
		fix) RPM_FIXES+="${RPM_FIXES:+,}$name=$evr" ;;
		newer | dep | repo) ;;
		*) die "rpm: $RPM_TABLE: unknown role '$role' for $name $evr" ;;
		esac
	done < <(rpm_table)
	[[ -n $RPM_INSTALLED && -n $RPM_FIXES ]] || die "rpm: $RPM_TABLE names no installed or no fixed packages"
}

# rpm_gpg ARGS... runs gpg on the test key's private home, quietly.
rpm_gpg() {
	GNUPGHOME=$RPM_GNUPGHOME gpg --batch --quiet --no-tty "$@"
}

# rpm_stop_agent stops the gpg-agent that gpg started for RPM_GNUPGHOME
# (it would otherwise outlive up.sh), if one runs. Only signing and key
# generation start one: checks of a warm cache do not need it.
rpm_stop_agent() {
	local sock
	[[ -d $RPM_GNUPGHOME ]] || return 0
	sock=$(GNUPGHOME=$RPM_GNUPGHOME gpgconf --list-dirs agent-socket 2>/dev/null) || return 0
	[[ -S $sock ]] || return 0
	GNUPGHOME=$RPM_GNUPGHOME gpgconf --kill gpg-agent 2>/dev/null || true
}

# rpm_key_ok succeeds when RPM_KEY_FPR names a key of RPM_GNUPGHOME whose
# secret part is there (looked up without the agent).
rpm_key_ok() {
	local grip
	[[ $RPM_KEY_FPR =~ ^[0-9A-F]{40}$ ]] || return 1
	grip=$(rpm_gpg --with-colons --with-keygrip --list-keys "$RPM_KEY_FPR" 2>/dev/null | awk -F: '$1 == "grp" { print $10; exit }')
	[[ -n $grip && -s $RPM_GNUPGHOME/private-keys-v1.d/$grip.key ]]
}

# ensure_rpm_key sets RPM_KEY_FPR to the test key's fingerprint, creating
# the key once (it is kept: everything signed is rebuilt when it changes),
# and exports its public half to RPM_KEY.
ensure_rpm_key() {
	local t0 fpr_file="$RPM_DIR/key.fpr" tmp
	RPM_KEY_FPR=$(cat "$fpr_file" 2>/dev/null || true)
	if ! rpm_key_ok; then
		t0=$(now_ms)
		safe_rm_tree "$RPM_GNUPGHOME"
		mkdir -p "$RPM_DIR"
		install -d -m 700 "$RPM_GNUPGHOME"
		rpm_gpg --gen-key <<-EOF || die "rpm: gpg could not create the test key in $RPM_GNUPGHOME"
			%no-protection
			Key-Type: RSA
			Key-Length: 3072
			Key-Usage: sign
			Name-Real: darn test
			Name-Comment: RPM signing key of darn's integration test bed
			Name-Email: rpm-test@darn.invalid
			Expire-Date: 0
			%commit
		EOF
		RPM_KEY_FPR=$(rpm_gpg --with-colons --list-secret-keys | awk -F: '$1 == "fpr" { print $10; exit }')
		rpm_key_ok || die "rpm: no usable new test key in $RPM_GNUPGHOME"
		echo "$RPM_KEY_FPR" >"$fpr_file"
		rm -f "$RPM_KEY"
		log "rpm: created the test key $RPM_KEY_FPR in $(elapsed "$t0")"
	fi
	if [[ ! -s $RPM_KEY ]]; then
		tmp="$RPM_KEY.tmp"
		rpm_gpg --armor --export "$RPM_KEY_FPR" >"$tmp"
		grep -q -- '-----BEGIN PGP PUBLIC KEY BLOCK-----' "$tmp" || die "rpm: gpg exported no public key for $RPM_KEY_FPR"
		chmod 644 "$tmp"
		mv -f "$tmp" "$RPM_KEY"
	fi
}

# rpm_packages_key identifies what the packages are built from.
rpm_packages_key() {
	{
		echo "rpm packages layout $RPM_LAYOUT $RPM_ARCH $RPM_KEY_FPR $RPM_SOURCE_DATE_EPOCH $RPM_VENDOR"
		rpmbuild --version
		cat "$RPM_IMAGE_DIR/darn-test.spec"
		rpm_table
		declare -f rpm_build_package rpm_build_packages rpm_verify_packages
	} | sha256sum | cut -d' ' -f1
}

# rpm_build_package TOP NAME EVR ARCH REQUIRES FLAGS runs rpmbuild on the
# spec for one row of the table (TOP is rpmbuild's _topdir).
rpm_build_package() {
	local top=$1 name=$2 evr=$3 arch=$4 requires=$5 flags=$6 vr defs=()
	vr=${evr#*:}
	defs=(--define "_topdir $top" --define "_buildhost darn-testbed"
		--define "use_source_date_epoch_as_buildtime 1" --define "clamp_mtime_to_source_date_epoch 1"
		--define "_binary_payload w9.gzdio" --define "_build_id_links none"
		--define "darn_vendor $RPM_VENDOR" --define "darn_name $name" --define "darn_version ${vr%-*}" --define "darn_release ${vr##*-}"
		--define "darn_noarch $([[ $arch == noarch ]] && echo 1 || echo 0)"
		--define "darn_conf $([[ ,$flags, == *,conf,* ]] && echo 1 || echo 0)")
	[[ $evr != *:* ]] || defs+=(--define "darn_epoch ${evr%%:*}")
	[[ $requires == - ]] || defs+=(--define "darn_requires $requires")
	SOURCE_DATE_EPOCH=$RPM_SOURCE_DATE_EPOCH rpmbuild -bb --quiet --target "$RPM_ARCH" "${defs[@]}" \
		"$RPM_IMAGE_DIR/darn-test.spec"
}

# rpm_build_packages WORK builds every package of the table into WORK/out and
# signs them with the test key.
rpm_build_packages() {
	local work=$1 name evr arch role requires flags files=() f path
	mkdir -p "$work/top" "$work/out"
	while IFS=$'\t' read -r name evr arch role requires flags; do
		rpm_build_package "$work/top" "$name" "$evr" "$arch" "$requires" "$flags" >>"$work/rpmbuild.log" 2>&1 || {
			log_tail "$work/rpmbuild.log"
			die "rpm: rpmbuild failed for $name $evr (log above)"
		}
	done < <(rpm_table)
	for f in "${RPM_FILES[@]}"; do
		path=$(find "$work/top/RPMS" -name "$f" -print -quit)
		[[ -n $path ]] || die "rpm: rpmbuild made no $f (log: $work/rpmbuild.log)"
		mv "$path" "$work/out/$f"
		files+=("$work/out/$f")
	done
	# rpmsign runs %__gpg (gpg2 on Debian, which has only gpg) with
	# %_gpg_path as its home; GPG_TTY silences its warning about stdin.
	if ! GPG_TTY=/dev/null rpmsign --addsign --define "_gpg_name $RPM_KEY_FPR" --define "_gpg_path $RPM_GNUPGHOME" \
		--define "__gpg $(command -v gpg)" "${files[@]}" </dev/null >"$work/rpmsign.log" 2>&1; then
		log_tail "$work/rpmsign.log"
		die "rpm: rpmsign failed (log above)"
	fi
}

# rpm_verify_packages DIR checks each package in DIR with rpm -K against a
# scratch rpm database holding only the test key (so "signatures OK" means
# signed by it), and that it is the row's name, epoch, version and arch.
rpm_verify_packages() {
	local dir=$1 db="$1/.rpmdb" name evr arch role requires flags i=0 f out want got
	rm -rf "$db"
	{ rpm --dbpath "$db" --initdb && rpm --dbpath "$db" --import "$RPM_KEY"; } || die "rpm: cannot import $RPM_KEY into a scratch rpm database"
	while IFS=$'\t' read -r name evr arch role requires flags; do
		f="$dir/${RPM_FILES[i]}"
		i=$((i + 1))
		out=$(rpm --dbpath "$db" -K "$f" 2>&1) || die "rpm: rpm -K ${f##*/}: $out"
		[[ $out == *": digests signatures OK" ]] || die "rpm: ${f##*/} is not signed by the test key: $out"
		[[ $arch == noarch ]] || arch=$RPM_ARCH
		[[ $evr == *:* ]] || evr="0:$evr"
		want="$name $evr $arch Vendor=$RPM_VENDOR"
		got=$(rpm -qp --nosignature --qf '%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE} %{ARCH} Vendor=%{VENDOR}' "$f")
		[[ $got == "$want" ]] || die "rpm: ${f##*/} is '$got', expected '$want'"
	done < <(rpm_table)
	rm -rf "$db"
}

# rpm_packages_sum prints a hash of the built packages' bytes: what the
# repository and the images hold (a rebuild signs anew).
rpm_packages_sum() {
	(cd "$RPM_PACKAGES_DIR" && sha256sum -- "${RPM_FILES[@]}") | sha256sum | cut -d' ' -f1
}

# ensure_rpm_packages builds and signs the packages into RPM_PACKAGES_DIR
# unless they were built from the same inputs, and sets RPM_PACKAGES_SUM.
ensure_rpm_packages() {
	local stamp="$RPM_DIR/packages.stamp" key work t0 f ok=1
	key=$(rpm_packages_key)
	if [[ $(cat "$stamp" 2>/dev/null) == "$key" ]]; then
		for f in "${RPM_FILES[@]}"; do
			[[ -s $RPM_PACKAGES_DIR/$f ]] || ok=
		done
		if [[ -n $ok ]]; then
			RPM_PACKAGES_SUM=$(rpm_packages_sum)
			return 0
		fi
	fi
	t0=$(now_ms)
	# Under the cache lock, any work directory is one a killed up.sh left.
	for work in "$RPM_DIR"/.work.*; do
		[[ ! -e $work ]] || safe_rm_tree "$work"
	done
	work=$(mktemp -d "$RPM_DIR/.work.XXXXXX")
	cleanup_dirs+=("$work")
	rpm_build_packages "$work"
	rpm_verify_packages "$work/out"
	chmod 644 "$work"/out/*.rpm
	rm -f "$stamp"
	safe_rm_tree "$RPM_PACKAGES_DIR"
	mv "$work/out" "$RPM_PACKAGES_DIR"
	echo "$key" >"$stamp"
	safe_rm_tree "$work"
	RPM_PACKAGES_SUM=$(rpm_packages_sum)
	log "rpm: built and signed ${#RPM_FILES[@]} packages (rpm -K: signatures OK) in $(elapsed "$t0")"
}

# rpm_repo_generation prints the name of the repository generation for the
# current packages and tools.
rpm_repo_generation() {
	{
		echo "rpm repo layout $RPM_LAYOUT $RPM_PACKAGES_SUM $RPM_TAMPERED_PACKAGE"
		createrepo_c --version
		declare -f rpm_make_repo rpm_make_tampered
	} | sha256sum | cut -c1-16
}

# rpm_make_repo DIR makes DIR a signed yum/dnf/zypper repository of the
# packages: Packages/, repodata/ with repomd.xml.asc and repomd.xml.key, and
# the key as RPM-GPG-KEY-darn-test.
rpm_make_repo() {
	local dir=$1 f
	mkdir -p "$dir/Packages"
	for f in "${RPM_FILES[@]}"; do
		ln "$RPM_PACKAGES_DIR/$f" "$dir/Packages/$f" 2>/dev/null || cp "$RPM_PACKAGES_DIR/$f" "$dir/Packages/$f"
	done
	# gz metadata and no sqlite databases: what every dnf and zypper reads.
	createrepo_c --quiet --no-database --general-compress-type=gz "$dir" >"$dir.log" 2>&1 || {
		log_tail "$dir.log"
		die "rpm: createrepo_c failed (log above)"
	}
	rm -f "$dir.log"
	rpm_gpg --armor --detach-sign --local-user "$RPM_KEY_FPR" -o "$dir/repodata/repomd.xml.asc" "$dir/repodata/repomd.xml" ||
		die "rpm: gpg cannot sign $dir/repodata/repomd.xml"
	cp "$RPM_KEY" "$dir/repodata/repomd.xml.key"
	cp "$RPM_KEY" "$dir/$RPM_KEY_NAME"
	gpg --batch --quiet --dearmor <"$RPM_KEY" >"$dir.keyring"
	gpgv --quiet --keyring "$dir.keyring" "$dir/repodata/repomd.xml.asc" "$dir/repodata/repomd.xml" >"$dir.gpgv" 2>&1 || {
		log_tail "$dir.gpgv"
		die "rpm: the signature of $dir/repodata/repomd.xml does not verify"
	}
	rm -f "$dir.keyring" "$dir.gpgv"
	find "$dir" -type d -exec chmod 755 {} + -o -type f -exec chmod 644 {} +
}

# rpm_make_tampered SRC DST makes DST a copy of the repository SRC (hard
# links) in which RPM_TAMPERED_PACKAGE's file has its last byte changed: same
# size, same (signed) metadata, another SHA-256.
rpm_make_tampered() {
	local src=$1 dst=$2 f last
	cp -al "$src" "$dst"
	f=$(find "$dst/Packages" -name "$RPM_TAMPERED_PACKAGE.*.rpm" -print -quit)
	[[ -n $f ]] || die "rpm: no $RPM_TAMPERED_PACKAGE in the repository to tamper with"
	cp "$f" "$f.new"
	last=$(tail -c1 "$f" | od -An -tu1 | tr -d ' ')
	printf '%b' "\\$(printf '%03o' $(((last + 1) % 256)))" | dd of="$f.new" bs=1 seek=$(($(stat -c %s "$f") - 1)) conv=notrunc status=none
	cmp -s "$f" "$f.new" && die "rpm: tampering with ${f##*/} changed nothing"
	chmod 644 "$f.new"
	mv -f "$f.new" "$f"
}

# ensure_rpm_repo publishes the repository and its tampered copy below
# RPM_REPO_ROOT unless the current generation is there.
ensure_rpm_repo() {
	local gen g t0 old x work
	gen=$(rpm_repo_generation)
	g=".g-$gen"
	if [[ $(readlink "$RPM_REPO_ROOT/darn" 2>/dev/null) == "$g/darn" &&
		$(readlink "$RPM_REPO_ROOT/darn-tampered" 2>/dev/null) == "$g/darn-tampered" &&
		-s $RPM_REPO_ROOT/$g/darn/repodata/repomd.xml.asc && -s $RPM_REPO_ROOT/$g/darn-tampered/repodata/repomd.xml ]]; then
		return 0
	fi
	t0=$(now_ms)
	mkdir -p "$RPM_REPO_ROOT"
	old=$(readlink "$RPM_REPO_ROOT/darn" 2>/dev/null || true)
	old=${old%/darn}
	work=$(mktemp -d "$RPM_REPO_ROOT/.work.XXXXXX")
	cleanup_dirs+=("$work")
	rpm_make_repo "$work/darn"
	rpm_make_tampered "$work/darn" "$work/darn-tampered"
	chmod 755 "$work"
	safe_rm_tree "$RPM_REPO_ROOT/$g"
	mv "$work" "$RPM_REPO_ROOT/$g"
	for x in darn darn-tampered; do
		ln -sfn "$g/$x" "$RPM_REPO_ROOT/.$x.new"
		mv -fT "$RPM_REPO_ROOT/.$x.new" "$RPM_REPO_ROOT/$x"
	done
	# Keep the previous generation for a bed still serving it; drop older
	# ones and work directories a killed up.sh left.
	for x in "$RPM_REPO_ROOT"/.g-* "$RPM_REPO_ROOT"/.work.*; do
		[[ -e $x ]] || continue
		[[ ${x##*/} == "$g" || ${x##*/} == "$old" ]] || safe_rm_tree "$x"
	done
	log "rpm: published the repository $RPM_REPO_ROOT/darn (and darn-tampered) in $(elapsed "$t0")"
}

rpm_image_ref() {
	echo "127.0.0.1:$REGISTRY_PORT/$RPM_IMAGE_REPO:$1"
}

# rpm_tree_hash DIR... prints a line per file and symlink below the DIRs
# (relative to TESTBED_DIR/image): path, mode and content or target.
rpm_tree_hash() {
	(cd "$TESTBED_DIR/image" && find "$@" \( -type f -o -type l \) -printf '%p %m %l\n' | LC_ALL=C sort |
		while read -r p m l; do echo "$p $m $l $([[ -L $p ]] || sha256sum <"$p" | cut -c1-64)"; done)
}

# rpm_image_key NAME identifies what the image NAME is built from, apart from
# the rootfs tarball (like up.sh's variant_inputs_hash). The tooling image
# does not depend on the packages or the repository's URL.
rpm_image_key() {
	{
		echo "rpm image $1 layout $RPM_LAYOUT $SUITE minbase $ARCH"
		cat "$RPM_IMAGE_DIR/Dockerfile" "$RPM_IMAGE_DIR/install.sh"
		rpm_tree_hash rpm/root/tools
		debian_sources
		declare -f rpm_image_context
		if [[ $1 != tooling ]]; then
			echo "$RPM_PACKAGES_SUM $RPM_REPO_URL"
			cat "$RPM_IMAGE_DIR"/darn-test*.repo.in
			rpm_tree_hash rpm/root distroless
		fi
	} | sha256sum | cut -d' ' -f1
}

# rpm_image_context DIR fills the build context (see image/rpm/Dockerfile).
rpm_image_context() {
	local ctx=$1 f
	mkdir -p "$ctx/rpms" "$ctx/key" "$ctx/repo"
	ln "$ROOTFS_TARBALL" "$ctx/rootfs.tar.gz" 2>/dev/null || cp "$ROOTFS_TARBALL" "$ctx/rootfs.tar.gz"
	debian_sources >"$ctx/debian.sources"
	cp "$RPM_IMAGE_DIR/install.sh" "$ctx/"
	for f in "${RPM_INSTALLED_FILES[@]}"; do
		cp "$RPM_PACKAGES_DIR/$f" "$ctx/rpms/"
	done
	cp "$RPM_KEY" "$ctx/key/"
	render "$RPM_IMAGE_DIR/darn-test.repo.in" "$ctx/repo/darn-test.repo" URL="$RPM_REPO_URL"
	render "$RPM_IMAGE_DIR/darn-test.zypp.repo.in" "$ctx/repo/darn-test.zypp.repo" URL="$RPM_REPO_URL"
	cp -a "$RPM_IMAGE_DIR/root" "$ctx/root"
	cp -a "$TESTBED_DIR/image/distroless" "$ctx/distroless"
}

# ensure_rpm_images builds and pushes the RPM images whose stamp or tag is
# missing, from one build context, and sets RPM_IMAGE_DIGEST.
ensure_rpm_images() {
	local reg="127.0.0.1:$REGISTRY_PORT" name key digest todo=() stage t0
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
	rpm_image_context "$stage/context"
	for name in "${todo[@]}"; do
		build_image "$stage/context" rpm/Dockerfile "$(rpm_image_ref "$name")" "$STATE/build-rpm-$name-image.log" \
			--opt target="$name"
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
# (image/rpm/check.sh, in build steps, all at once) and that dnf refuses the
# tampered copy.
check_rpm() {
	local dir="$STATE/rpm-check" logfile="$STATE/rpm-check.log" key t0 name img=() tampered
	key="$MIRROR_PORT $(readlink "$RPM_REPO_ROOT/darn")"
	for name in "${RPM_IMAGES[@]}"; do key+=" ${RPM_IMAGE_DIGEST[$name]}"; done
	key+=" $(sha256sum <"$RPM_IMAGE_DIR/check.sh" | cut -c1-16)"
	[[ $(cat "$STATE/rpm.check-ok" 2>/dev/null) == "$key" ]] && return 0
	t0=$(now_ms)
	for name in "${RPM_IMAGES[@]}"; do img[${#img[@]}]="$(rpm_image_ref "$name")@${RPM_IMAGE_DIGEST[$name]}"; done
	tampered="${RPM_REPO_URL%/darn}/darn-tampered"
	safe_rm_tree "$dir"
	mkdir -p "$dir"
	cp "$RPM_IMAGE_DIR/check.sh" "$dir/"
	# img: tooling dnf rpmdb manifest zypper (RPM_IMAGES' order)
	cat >"$dir/Dockerfile" <<-EOF
		FROM ${img[1]} AS dnf
		USER root
		COPY check.sh /tmp/
		RUN ["/bin/sh", "/tmp/check.sh", "dnf", "$RPM_REPO_URL", "$tampered", "$RPM_INSTALLED", "$RPM_FIXES"]
		RUN touch /tmp/ok

		FROM ${img[4]} AS zypper
		USER root
		COPY check.sh /tmp/
		RUN ["/bin/sh", "/tmp/check.sh", "zypper", "$RPM_REPO_URL", "$RPM_INSTALLED", "$RPM_FIXES"]
		RUN touch /tmp/ok

		FROM ${img[0]} AS installroot
		COPY --from=${img[2]} / /target/
		COPY check.sh /tmp/
		RUN ["/bin/sh", "/tmp/check.sh", "installroot", "/target", "$RPM_INSTALLED", "$RPM_FIXES"]
		RUN touch /tmp/ok

		FROM scratch
		COPY --from=dnf /tmp/ok /dnf
		COPY --from=zypper /tmp/ok /zypper
		COPY --from=installroot /tmp/ok /installroot
	EOF
	if ! "$BUILDCTL_BIN" --addr "$BUILDKIT_ADDR" build --progress plain --no-cache \
		--frontend dockerfile.v0 --local context="$dir" --local dockerfile="$dir" >"$logfile" 2>&1; then
		log_tail "$logfile" 60
		die "rpm: dnf/zypper in the RPM images did not behave as expected (log: $logfile)"
	fi
	echo "$key" >"$STATE/rpm.check-ok"
	safe_rm_tree "$dir"
	log "rpm: dnf image: tampered repository refused, makecache + install of $RPM_FIXES OK; zypper image: refresh + install OK; tooling image: dnf --installroot on the rpmdb image OK; in $(elapsed "$t0")"
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
	exec 8>&-
	check_rpm
}
