# shellcheck shell=bash disable=SC2153 # RPM_*, CACHE, STATE etc. come from rpm.sh/up.sh/lib.sh
# The packages and repository of the bed's RPM world, sourced by rpm.sh (see
# there for what it builds and where): the package table, the test signing
# key, the signed test packages and the signed repository with its tampered
# copy. It uses rpm.sh's RPM_* settings, multiarch.sh's MULTI_ARCHES and
# UNAME_MACHINE, and up.sh's helpers.

# rpm_table prints the rows of RPM_TABLE (tab-separated name, evr, arch,
# role, requires, flags), without comments.
rpm_table() {
	[[ -s $RPM_TABLE ]] || die "rpm: $RPM_TABLE is missing"
	awk -F'\t' '/^#/ || NF == 0 { next } NF != 6 { printf "rpm: %s:%d: expected 6 tab-separated fields\n", FILENAME, FNR > "/dev/stderr"; exit 1 } { print }' "$RPM_TABLE" ||
		die "rpm: cannot parse $RPM_TABLE"
}

# rpm_load_table sets RPM_ARCH (the build machine's rpm architecture),
# RPM_ARCHES (it, then the rpm architecture of each other platform of
# MULTI_ARCHES: x86_64 and aarch64 on amd64) and, from RPM_TABLE:
#   RPM_FILES        every package file to build: each row for RPM_ARCH, in
#                    table order, then each "arch" row for the other arches
#   RPM_BUILDS       what RPM_FILES[i] is built from: its row's name, evr,
#                    arch (resolved: noarch, x86_64, aarch64...), requires and
#                    flags, tab-separated
#   RPM_INSTALLED_FILES  the RPM_ARCH files of role "installed"
#   RPM_INSTALLED, RPM_FIXES  "name=evr,..."
# The other arches' packages are built whatever DARN_TESTBED_MULTIARCH says:
# they cost seconds, and the repository (and every image naming its
# packages' hash) stays the same when the knob changes.
rpm_load_table() {
	local name evr arch role requires flags vr a r
	RPM_ARCH=$(rpm --eval '%{_arch}')
	[[ $RPM_ARCH =~ ^[a-z0-9_]+$ ]] || die "rpm: cannot tell the rpm architecture (rpm --eval %{_arch} says '$RPM_ARCH')"
	RPM_ARCHES=("$RPM_ARCH")
	for a in "${MULTI_ARCHES[@]}"; do
		r=$(rpm_arch_of "$a")
		[[ " ${RPM_ARCHES[*]} " == *" $r "* ]] || RPM_ARCHES+=("$r")
	done
	# Once in this shell: a bad table dies here, not in a subshell below.
	rpm_table >/dev/null
	RPM_FILES=()
	RPM_BUILDS=()
	RPM_INSTALLED_FILES=()
	RPM_INSTALLED=
	RPM_FIXES=
	for a in "${RPM_ARCHES[@]}"; do
		while IFS=$'\t' read -r name evr arch role requires flags; do
			vr=${evr#*:}
			[[ $arch == noarch || $arch == arch ]] || die "rpm: $RPM_TABLE: arch of $name $evr is '$arch', not noarch or arch"
			[[ $arch == noarch ]] || arch=$a
			# A noarch package is built once, with the first arch.
			[[ $a == "$RPM_ARCH" || $arch != noarch ]] || continue
			RPM_FILES+=("$name-$vr.$arch.rpm")
			RPM_BUILDS+=("$name"$'\t'"$evr"$'\t'"$arch"$'\t'"$requires"$'\t'"$flags")
			[[ $a == "$RPM_ARCH" ]] || continue
			case $role in
			installed)
				RPM_INSTALLED_FILES+=("$name-$vr.$arch.rpm")
				RPM_INSTALLED+="${RPM_INSTALLED:+,}$name=$evr"
				;;
			fix) RPM_FIXES+="${RPM_FIXES:+,}$name=$evr" ;;
			newer | dep | repo) ;;
			*) die "rpm: $RPM_TABLE: unknown role '$role' for $name $evr" ;;
			esac
		done < <(rpm_table)
	done
	[[ -n $RPM_INSTALLED && -n $RPM_FIXES ]] || die "rpm: $RPM_TABLE names no installed or no fixed packages"
}

# rpm_arch_of ARCH prints the rpm architecture of the Debian architecture
# ARCH: RPM_ARCH for the host's, else what `uname -m` says there (x86_64,
# aarch64: the same names).
rpm_arch_of() {
	if [[ $1 == "$ARCH" ]]; then
		echo "$RPM_ARCH"
	else
		echo "${UNAME_MACHINE[$1]:?rpm: no rpm architecture for $1}"
	fi
}

# rpm_installed_files ARCH prints the files of role "installed" for the rpm
# architecture ARCH (one of RPM_ARCHES), one a line: RPM_INSTALLED_FILES
# with ARCH's builds instead of RPM_ARCH's (noarch ones stay).
rpm_installed_files() {
	local f
	for f in "${RPM_INSTALLED_FILES[@]}"; do
		case $f in
		*".$RPM_ARCH.rpm") echo "${f%."$RPM_ARCH".rpm}.$1.rpm" ;;
		*) echo "$f" ;;
		esac
	done
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
		echo "rpm packages layout $RPM_LAYOUT ${RPM_ARCHES[*]} $RPM_KEY_FPR $RPM_SOURCE_DATE_EPOCH $RPM_VENDOR"
		rpmbuild --version
		cat "$RPM_IMAGE_DIR/darn-test.spec"
		rpm_table
		declare -f rpm_build_package rpm_build_packages rpm_verify_packages
	} | sha256sum | cut -d' ' -f1
}

# rpm_build_package TOP NAME EVR ARCH REQUIRES FLAGS runs rpmbuild on the
# spec for one row of the table (TOP is rpmbuild's _topdir) and ARCH (noarch
# or an rpm architecture: the packages hold no code, so rpmbuild --target
# builds any of them here).
rpm_build_package() {
	local top=$1 name=$2 evr=$3 arch=$4 requires=$5 flags=$6 vr defs=() target=$4
	vr=${evr#*:}
	# A noarch package is built on the machine's target (BuildArch says noarch).
	[[ $arch != noarch ]] || target=$RPM_ARCH
	defs=(--define "_topdir $top" --define "_buildhost darn-testbed"
		--define "use_source_date_epoch_as_buildtime 1" --define "clamp_mtime_to_source_date_epoch 1"
		--define "_binary_payload w9.gzdio" --define "_build_id_links none"
		--define "darn_vendor $RPM_VENDOR" --define "darn_name $name" --define "darn_version ${vr%-*}" --define "darn_release ${vr##*-}"
		--define "darn_noarch $([[ $arch == noarch ]] && echo 1 || echo 0)"
		--define "darn_conf $([[ ,$flags, == *,conf,* ]] && echo 1 || echo 0)")
	[[ $evr != *:* ]] || defs+=(--define "darn_epoch ${evr%%:*}")
	[[ $requires == - ]] || defs+=(--define "darn_requires $requires")
	SOURCE_DATE_EPOCH=$RPM_SOURCE_DATE_EPOCH rpmbuild -bb --quiet --target "$target" "${defs[@]}" \
		"$RPM_IMAGE_DIR/darn-test.spec"
}

# rpm_build_packages WORK builds every package of RPM_FILES into WORK/out
# and signs them with the test key.
rpm_build_packages() {
	local work=$1 name evr arch requires flags files=() i f path
	mkdir -p "$work/top" "$work/out"
	for i in "${!RPM_FILES[@]}"; do
		IFS=$'\t' read -r name evr arch requires flags <<<"${RPM_BUILDS[i]}"
		rpm_build_package "$work/top" "$name" "$evr" "$arch" "$requires" "$flags" >>"$work/rpmbuild.log" 2>&1 || {
			log_tail "$work/rpmbuild.log"
			die "rpm: rpmbuild failed for $name $evr $arch (log above)"
		}
	done
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
# signed by it), and that it is its build's name, epoch, version and arch.
rpm_verify_packages() {
	local dir=$1 db="$1/.rpmdb" name evr arch requires flags i f out want got
	rm -rf "$db"
	{ rpm --dbpath "$db" --initdb && rpm --dbpath "$db" --import "$RPM_KEY"; } || die "rpm: cannot import $RPM_KEY into a scratch rpm database"
	for i in "${!RPM_FILES[@]}"; do
		IFS=$'\t' read -r name evr arch requires flags <<<"${RPM_BUILDS[i]}"
		f="$dir/${RPM_FILES[i]}"
		out=$(rpm --dbpath "$db" -K "$f" 2>&1) || die "rpm: rpm -K ${f##*/}: $out"
		[[ $out == *": digests signatures OK" ]] || die "rpm: ${f##*/} is not signed by the test key: $out"
		[[ $evr == *:* ]] || evr="0:$evr"
		want="$name $evr $arch Vendor=$RPM_VENDOR"
		got=$(rpm -qp --nosignature --qf '%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE} %{ARCH} Vendor=%{VENDOR}' "$f")
		[[ $got == "$want" ]] || die "rpm: ${f##*/} is '$got', expected '$want'"
	done
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
# links) in which RPM_TAMPERED_PACKAGE's files (one per rpm architecture of
# an "arch" package) have their last byte changed: same size, same (signed) metadata, another
# SHA-256. Every arch's: a platform of the multi-platform image must not
# find its fix intact there either.
rpm_make_tampered() {
	local src=$1 dst=$2 f last files=()
	cp -al "$src" "$dst"
	mapfile -t files < <(find "$dst/Packages" -name "$RPM_TAMPERED_PACKAGE.*.rpm")
	((${#files[@]})) || die "rpm: no $RPM_TAMPERED_PACKAGE in the repository to tamper with"
	for f in "${files[@]}"; do
		cp "$f" "$f.new"
		last=$(tail -c1 "$f" | od -An -tu1 | tr -d ' ')
		printf '%b' "\\$(printf '%03o' $(((last + 1) % 256)))" | dd of="$f.new" bs=1 seek=$(($(stat -c %s "$f") - 1)) conv=notrunc status=none
		cmp -s "$f" "$f.new" && die "rpm: tampering with ${f##*/} changed nothing"
		chmod 644 "$f.new"
		mv -f "$f.new" "$f"
	done
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
