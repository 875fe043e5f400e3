# shellcheck shell=sh
# darn: functions shared by the rpm scripts (prepended to each, after
# distros' settle_times). Runs as root with /tmp on a tmpfs and the package
# manager's cache on a cache mount ($DARN_CACHE), so nothing the package
# manager keeps for itself can reach the layer.
set -eu

stamp=/tmp/darn-stamp
manager=${DARN_MANAGER:?}
# A tooling image brings whichever package manager its distribution has.
if [ "$manager" = tooling ]; then
	manager=
	for m in dnf tdnf zypper; do
		if command -v "$m" >/dev/null 2>&1; then
			manager=$m
			break
		fi
	done
	[ -n "$manager" ] || {
		echo "darn: the tooling image has none of dnf, tdnf or zypper" >&2
		exit 2
	}
fi
cache=${DARN_CACHE:?}
fetch_timeout=${DARN_FETCH_TIMEOUT:-30}
logs=/tmp/darn-log

# setup: prepare the step (every script calls it first).
setup() {
	mkdir -p "$logs" /tmp/darn-persist "$cache"
	: >"$stamp"
	for n in "$fetch_timeout" "${DARN_EPOCH:-0}"; do
		case $n in '' | *[!0-9]*)
			echo "darn: $n is not a number of seconds" >&2
			exit 2
			;;
		esac
	done
}

# host_path PATH: PATH in the tooling container, as a package manager
# working on the root $DARN_PM_ROOT reads it. dnf, tdnf and zypper put their
# cache, logs and state inside that root (where they would reach the
# image's layer); PATH climbs out of it first, and means the same where a
# manager does not prefix it.
host_path() {
	if [ -n "${DARN_PM_ROOT:-}" ]; then out_of "$DARN_PM_ROOT" "$1"; else printf '%s' "$1"; fi
}

# out_of ROOT PATH: PATH as seen from ROOT, by climbing out of it ("/.." for
# each of its components), for tools that put every path under ROOT.
out_of() {
	printf '%s%s' "$(printf '%s' "$1" | sed 's|[^/][^/]*|..|g')" "$2"
}

# pm ARGS...: run the package manager with its state, cache and logs out of
# the image: weak dependencies off, an unreachable repository an error
# (never dnf's silent skip_if_unavailable), requests bounded in time.
# Signature checks stay as the image's repositories configure them.
pm() {
	case $manager in
	dnf | yum | microdnf)
		"$manager" -y --setopt=install_weak_deps=False --setopt=skip_if_unavailable=False \
			--setopt=timeout="$fetch_timeout" --setopt=retries=3 --setopt=keepcache=True \
			--setopt=cachedir="$(host_path "$cache")" --setopt=logdir="$(host_path "$logs")" \
			--setopt=persistdir=/tmp/darn-persist ${DARN_PM_ROOT:+"--installroot=$DARN_PM_ROOT"} \
			${DARN_RELEASEVER:+"--releasever=$DARN_RELEASEVER"} ${DARN_REPOS:+"--setopt=reposdir=$(host_path "$DARN_REPOS")"} "$@"
		;;
	tdnf)
		tdnf -y --setopt=install_weak_deps=0 --setopt=cachedir="$(host_path "$cache")" --setopt=keepcache=1 \
			${DARN_PM_ROOT:+"--installroot=$DARN_PM_ROOT"} ${DARN_RELEASEVER:+"--releasever=$DARN_RELEASEVER"} \
			${DARN_REPOS:+"--setopt=reposdir=$(host_path "$DARN_REPOS")"} "$@"
		;;
	zypper)
		ZYPP_LOGFILE=$logs/zypper.log ZYPP_LOCKFILE_ROOT=/tmp zypper --non-interactive --cache-dir "$(host_path "$cache")" \
			${DARN_PM_ROOT:+--root "$DARN_PM_ROOT"} ${DARN_REPOS:+--reposd-dir "$(host_path "$DARN_REPOS")"} "$@"
		;;
	*)
		echo "darn: unknown package manager $manager" >&2
		exit 2
		;;
	esac
}

# list_available NAME...: write what the repositories offer for each
# package, in the package manager's own words, to $DARN_OUT/available,
# after a first line naming the manager (the patch core reads it).
list_available() {
	answer=${DARN_OUT:?}/available
	echo "manager $manager" >"$answer"
	case $manager in
	dnf) pm -q repoquery --available --showduplicates --qf '%{name} %{epoch}:%{version}-%{release} %{arch}\n' -- "$@" >>"$answer" ;;
	yum) pm -q --showduplicates list available -- "$@" >>"$answer" ;;
	microdnf) pm repoquery "$@" >>"$answer" ;;
	tdnf) pm -q list available "$@" >>"$answer" ;;
	zypper) pm --xmlout search --match-exact --details --type package "$@" >>"$answer" ;;
	esac || {
		echo "darn: listing what the repositories offer failed (see the errors above); a repository that does not answer fails after $fetch_timeout s per request (fetch-timeout)" >&2
		exit 101
	}
}

# keep_out ROOT BASE: put back what the package manager and rpm wrote for
# themselves (history and state databases, logs, locks, .rpmnew copies of
# configuration files the image changed, and what a manager working on
# another root still keeps in that root, as zypper its @System cache): the
# image's copies, or nothing where the image had none.
keep_out() {
	# In another root, a manager may still keep its cache and logs there.
	own=
	[ "$1" = / ] || own="${cache#/} ${logs#/} tmp/darn-persist"
	# shellcheck disable=SC2086 # $own: darn's own paths, no blanks in them
	for p in var/lib/dnf var/lib/yum var/lib/tdnf var/lib/zypp var/log/dnf.log var/log/dnf.librepo.log \
		var/log/dnf.rpm.log var/log/hawkey.log var/log/yum.log var/log/tdnf.log var/log/zypper.log var/log/zypp \
		etc/dnf/modules.d var/lib/rpm/.rpm.lock var/lib/rpm/.dbenv.lock usr/lib/sysimage/rpm/.rpm.lock run/zypp.pid \
		var/lib/YaST2/cookies var/log/YaST2 $own; do
		rm -rf "${1:?}/$p"
		if [ -e "$2/$p" ] || [ -L "$2/$p" ]; then cp -a "$2/$p" "$1/$p"; fi
	done
	# The rpm database's sqlite journal (-wal, -shm) stays as rpm left it:
	# the image's old journal would be replayed onto the new database.
	for f in "$1"/var/lib/rpm/__db.*; do
		[ ! -e "$f" ] || [ -e "$2/var/lib/rpm/${f##*/}" ] || rm -f "$f"
	done
	find "$1" -xdev -name '*.rpmnew' -cnewer "$stamp" -type f -delete 2>/dev/null || true
	# Directories the package manager made for the above and left empty,
	# innermost first (rmdir leaves every other one).
	find "$1" -xdev -depth -mindepth 1 -type d -cnewer "$stamp" >/tmp/darn-dirs
	while IFS= read -r d; do
		b=$2/${d#"${1%/}"/}
		[ -e "$b" ] || [ -L "$b" ] || rmdir "$d" 2>/dev/null || true
	done </tmp/darn-dirs
}

# specs NAME=EVR...: the arguments as the package manager names an exact
# version: name-evr, or name=evr for zypper.
specs() {
	for a; do
		case $manager in
		zypper) printf '%s\n' "$a" ;;
		*) printf '%s-%s\n' "${a%%=*}" "${a#*=}" ;;
		esac
	done
}

# use_repos DIR: the repository definitions in DIR (the image's own), as
# copies on the tmpfs with the mirrors of $DARN_REPO_MIRRORS applied, for
# the package manager to read instead; with PREFIX, the file:// keys they
# name are read from the image's root at PREFIX. The image's own files stay
# byte-identical.
use_repos() {
	DARN_REPOS=/tmp/darn-repos
	mkdir -p "$DARN_REPOS"
	for f in "$1"/*.repo; do
		[ -f "$f" ] && [ ! -L "$f" ] || continue
		if [ -n "${DARN_REPO_MIRRORS:-}" ]; then rewrite "$f"; else cat "$f"; fi |
			sed "s|file:///|file://${2:-}/|g" >"$DARN_REPOS/${f##*/}"
	done
	export DARN_REPOS
}

# image_repos ROOT: the directory of ROOT's repository definitions, resolved
# inside ROOT: zypper's where the image has any (SUSE), else yum's and
# dnf's. Both are the same ini format, which dnf, tdnf and zypper all read.
image_repos() {
	d=$(resolve_in_root "$1" etc/zypp/repos.d)
	for f in "$1/$d"/*.repo; do
		if [ -f "$f" ]; then
			printf '%s/%s' "$1" "$d"
			return 0
		fi
	done
	printf '%s/%s' "$1" "$(resolve_in_root "$1" etc/yum.repos.d)"
}

# verify_signatures DIR: check every package in DIR against the keys the
# image's repositories name (gpgkey=), imported into a scratch database;
# dnf download checks only digests. A repository that says gpgcheck=0 is
# the image's own choice, as its package manager would make it.
verify_signatures() {
	rpm --dbpath /tmp/keydb --initdb
	grep -h '^[[:space:]]*gpgkey[[:space:]]*=' "$DARN_REPOS"/*.repo 2>/dev/null | sed 's/^[^=]*=//' | tr ' ,' '\n\n' |
		sed -n 's|^file://||p' | while IFS= read -r key; do
		[ -f "$key" ] && rpm --dbpath /tmp/keydb --import "$key"
	done
	if grep -q '^[[:space:]]*gpgcheck[[:space:]]*=[[:space:]]*0' "$DARN_REPOS"/*.repo 2>/dev/null; then
		echo "darn: the image's repositories do not ask for signatures (gpgcheck=0): packages are checked by digest only" >&2
		return 0
	fi
	for p in "$1"/*.rpm; do
		if ! rpm --dbpath /tmp/keydb -K "$p" | grep -q 'signatures OK'; then
			rpm --dbpath /tmp/keydb -Kv "$p" >&2 || true
			echo "darn: refusing ${p##*/}: its signature does not verify with the keys the image's repositories name" >&2
			exit 102
		fi
	done
}

# record_manifest RPM ROOT DIR: write RPM into the container manifests in
# DIR (inside ROOT), in place of the old version's line: its details in
# container-manifest-2 (rpm -qa --qf with these tags), its NEVRA in
# container-manifest-1 (rpm -qa).
record_manifest() {
	m2=$2/$3/container-manifest-2
	is_file "$m2" || die "refusing /$3/container-manifest-2: not a regular file in the image"
	name=$(rpm --dbpath /tmp/keydb -qp --qf '%{NAME}' "$1")
	old=$(DARN_NAME=$name awk -F '\t' '$1 == ENVIRON["DARN_NAME"] { print $1 "-" $2 "." $8; exit }' "$m2")
	# The install time is the layer's time ($DARN_EPOCH, checked to be a
	# number by setup): a package file has none, and the layer stays
	# reproducible.
	line=$(rpm --dbpath /tmp/keydb -qp --qf '%{NAME}\t%{VERSION}-%{RELEASE}\t'"${DARN_EPOCH:-0}"'\t%{BUILDTIME}\t%{VENDOR}\t%{EPOCH}\t%{SIZE}\t%{ARCH}\t%{EPOCHNUM}\t%{SOURCERPM}' "$1")
	DARN_NAME=$name DARN_LINE=$line awk -F '\t' '
		$1 == ENVIRON["DARN_NAME"] { if (!done) print ENVIRON["DARN_LINE"]; done = 1; next }
		{ print }
		END { if (!done) print ENVIRON["DARN_LINE"] }' "$m2" | put_file "$2" "$3/container-manifest-2"
	m1=$2/$3/container-manifest-1
	is_file "$m1" || return 0
	DARN_OLD=$old DARN_NEW=$(rpm --dbpath /tmp/keydb -qp --qf '%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}' "$1") awk '
		$0 == ENVIRON["DARN_OLD"] { print ENVIRON["DARN_NEW"]; done = 1; next }
		{ print }
		END { if (!done) print ENVIRON["DARN_NEW"] }' "$m1" | put_file "$2" "$3/container-manifest-1"
}
