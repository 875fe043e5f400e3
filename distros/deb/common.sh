# shellcheck shell=sh
# darn: shell functions shared by the apt scripts (prepended to each).
# Runs as root with /tmp on a tmpfs and apt's index and archive directories
# on cache mounts, so nothing apt writes for itself can reach the layer.
set -eu

export DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true
apt_log=/tmp/darn-apt-log
stamp=/tmp/darn-stamp
sources_opts=""

# setup: prepare the step (every script calls it first). Repository
# mirrors apply to copies of the sources on the tmpfs: the image's own
# files stay byte-identical, and its keyring still verifies.
setup() {
	mkdir -p "$apt_log"
	: >"$stamp"
	check_timeout
	case ${DARN_EPOCH:-0} in *[!0-9]*)
		echo "darn: DARN_EPOCH=$DARN_EPOCH is not a number of seconds" >&2
		exit 2
		;;
	esac
	[ -n "${DARN_REPO_MIRRORS:-}" ] || return 0
	mkdir -p /tmp/darn-sources/parts
	: >/tmp/darn-sources/sources.list
	[ ! -f /etc/apt/sources.list ] || rewrite /etc/apt/sources.list >/tmp/darn-sources/sources.list
	for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[ ! -f "$f" ] || rewrite "$f" >"/tmp/darn-sources/parts/${f##*/}"
	done
	sources_opts="-o Dir::Etc::SourceList=/tmp/darn-sources/sources.list -o Dir::Etc::SourceParts=/tmp/darn-sources/parts"
}

# apt keeps existing conffiles, never installs recommends and logs to the
# tmpfs. dpkg skips its fsyncs (--force-unsafe-io, as in Docker's official
# images): BuildKit keeps the step's result only once the step has
# succeeded, so a crash cannot leave a half-written root behind, and the
# syncs cost seconds under emulation. Every request times out after $DARN_FETCH_TIMEOUT seconds without
# data (apt's own default is 120 s), so that a mirror that accepts
# connections and never answers fails the step in bounded time.
fetch_timeout=${DARN_FETCH_TIMEOUT:-30}
check_timeout() {
	case $fetch_timeout in '' | *[!0-9]*)
		echo "darn: DARN_FETCH_TIMEOUT=$fetch_timeout is not a number of seconds" >&2
		exit 2
		;;
	esac
}
#
# apt's binary package cache lives on the archives cache mount: images
# built from Docker's official ones switch it off (docker-clean), and every
# apt-get and apt-cache run would then parse all the indexes anew.
cache_opts="-o Dir::Cache::pkgcache=/var/cache/apt/pkgcache.bin -o Dir::Cache::srcpkgcache=/var/cache/apt/srcpkgcache.bin"
apt() {
	# shellcheck disable=SC2086 # sources_opts and cache_opts hold separate words
	apt-get -q $sources_opts $cache_opts -o Dir::Log="$apt_log" -o Dpkg::Options::=--force-confdef \
		-o Dpkg::Options::=--force-confold -o Dpkg::Options::=--log=/dev/null \
		-o Dpkg::Options::=--force-unsafe-io \
		-o APT::Install-Recommends=false -o APT::Install-Suggests=false \
		-o Acquire::Retries=3 -o Acquire::http::Timeout="$fetch_timeout" \
		-o Acquire::https::Timeout="$fetch_timeout" "$@"
}

# update_indexes: refresh apt's indexes. Any failed download is an error:
# with the lists on a cache mount, apt would otherwise go on with stale ones.
update_indexes() {
	if ! apt -o APT::Update::Error-Mode=any update; then
		echo "darn: refreshing the package indexes failed (see apt's errors above); a repository that does not answer fails after $fetch_timeout s per request and attempt (fetch-timeout)" >&2
		exit 101
	fi
}

# refresh_indexes: refresh apt's indexes, unless the update-all probe has
# just refreshed them on the same cache mounts and planned from them
# (DARN_INDEXES_FRESH=1): a second refresh would only cost time. Missing
# lists (a pruned cache) are refreshed all the same.
refresh_indexes() {
	if [ "${DARN_INDEXES_FRESH:-}" = 1 ]; then
		for f in /var/lib/apt/lists/*_Packages*; do
			if [ -e "$f" ]; then
				echo "darn: using the indexes the update-all probe refreshed"
				return 0
			fi
		done
	fi
	update_indexes
}

# apt_cache ARG...: apt-cache with the step's sources and package cache.
apt_cache() {
	# shellcheck disable=SC2086 # sources_opts and cache_opts hold separate words
	apt-cache $sources_opts $cache_opts "$@"
}

# lowest NAME MIN: print the lowest version of NAME the configured sources
# offer that is >= MIN (from $madison, which pin fills). A higher one would
# be an unrelated upgrade. awk reads NAME from ENVIRON (see rewrite).
madison=/tmp/darn-madison
lowest() {
	best=""
	# shellcheck disable=SC2013 # versions are single words
	for v in $(DARN_NAME=$1 awk -F'|' '{ n = $1; gsub(/ /, "", n) } n == ENVIRON["DARN_NAME"] && $3 ~ /Packages/ { gsub(/ /, "", $2); print $2 }' "$madison"); do
		dpkg --compare-versions "$v" ge "$2" || continue
		if [ -z "$best" ] || dpkg --compare-versions "$v" lt "$best"; then
			best=$v
		fi
	done
	[ -n "$best" ] && echo "$best"
}

# pin NAME=MIN...: print NAME=VERSION for each, the lowest version >= MIN,
# or fail naming every package without one. With DARN_SKIP_MISSING=1 such
# packages are left out with a warning instead (--ignore-errors); the
# read-back after the upgrade reports them.
pin() {
	specs=""
	missing=""
	names=""
	for arg; do names="$names ${arg%%=*}"; done
	# One apt-cache run for all the packages, not one each. The names were
	# checked against Debian policy's syntax before they got here.
	# shellcheck disable=SC2086 # names holds separate words
	apt_cache madison $names >"$madison"
	for arg; do
		if v=$(lowest "${arg%%=*}" "${arg#*=}"); then
			specs="$specs ${arg%%=*}=$v"
		else
			missing="$missing ${arg%%=*}>=${arg#*=}"
		fi
	done
	if [ -n "$missing" ]; then
		echo "darn: no version available from the apt sources for:$missing" >&2
		[ "${DARN_SKIP_MISSING:-}" = 1 ] || exit 100
	fi
	echo "$specs"
}

# settle ROOT BASE: the times of everything the step changed, the apt
# way: settle_identical, then the shared settle_times. A failure of the
# first only leaves a larger layer, so it is a warning.
settle() {
	settle_identical "$1" "$2" ||
		echo "darn: warning: could not give files rewritten unchanged their original times; they stay in the layer" >&2
	settle_times "$1" "$2"
}

# settle_identical ROOT BASE: give BASE's time to the files and links the
# step rewrote with BASE's content. dpkg writes every file of an upgraded
# package with the time the package carries, so they are changed for
# BuildKit's differ, and a layer held ~1,700 such files (40% of its bytes)
# before this; settle_times then gives the rest a fixed time. In bulk (a
# process per file took seconds, minutes under emulation): one checksum
# run per tree, one touch per distinct time. Names with a tab, newline or
# backslash keep the package's time. BASE is the untrusted image: its
# records come from one walk that follows no link, and a name it lists
# twice or a time that is not a number (a crafted name can mimic a record)
# is not trusted.
settle_identical() {
	w=/tmp/darn-settle
	rm -rf "$w"
	mkdir -p "$w/by"
	(cd "$1" && find . -xdev -cnewer "$stamp" ! -newer "$stamp" \( -type f -o -type l \) \
		! -path "*$(printf '\t')*" ! -path '*
*' ! -path '*\\*' -printf '%y\t%p\t%l\n') >"$w/root" || return
	[ -s "$w/root" ] || return 0
	(cd "$2" && find . -xdev \( -type f -o -type l \) -printf '%y\t%T@\t%p\t%l\n') >"$w/base" || return
	: >"$w/files"
	: >"$w/links"
	same_kind "$w"
	(cd "$1" && xargs -r -d '\n' sha256sum -- <"$w/files") >"$w/root-sums" || return
	(cd "$2" && xargs -r -d '\n' sha256sum -- <"$w/files") >"$w/base-sums" || return
	same_content "$w"
	for f in "$w"/by/*; do
		[ -e "$f" ] || continue
		(cd "$1" && xargs -r -d '\n' touch -h -m -d "@${f##*/}" -- <"$f") || return
	done
}

# same_kind DIR: of the names in DIR/root that DIR/base lists once, with a
# numeric time, write the regular files in both to DIR/files and the links
# in both to DIR/links.
same_kind() {
	DARN_W=$1 awk -F'\t' '
		FNR == NR { if (NF == 3) rt[$2] = $1; next }
		NF == 4 && ($3 in rt) { n[$3]++; bt[$3] = $1; ok[$3] = $2 ~ /^[0-9]+(\.[0-9]+)?$/ }
		END {
			for (p in n) if (n[p] == 1 && ok[p] && bt[p] == rt[p])
				print p >(ENVIRON["DARN_W"] "/" (rt[p] == "f" ? "files" : "links"))
		}' "$1/root" "$1/base"
}

# same_content DIR: write each name of DIR/files with the same checksum in
# both trees, and of DIR/links with the same target, to DIR/by/TIME, TIME
# being BASE's.
same_content() {
	DARN_W=$1 awk -F'\t' '
		FILENAME ~ /\/root$/ { if (NF == 3) rl[$2] = $3; next }
		FILENAME ~ /\/base$/ { if (NF == 4) { bt[$3] = $2; bl[$3] = $4 }; next }
		FILENAME ~ /\/links$/ { if (rl[$0] == bl[$0]) same[$0] = 1; next }
		FILENAME ~ /\/root-sums$/ { rs[substr($0, 67)] = substr($0, 1, 64); next }
		{ p = substr($0, 67); if (rs[p] != "" && rs[p] == substr($0, 1, 64)) same[p] = 1 }
		END {
			for (p in same) { f = ENVIRON["DARN_W"] "/by/" bt[p]; print p >>f; close(f) }
		}' "$1/root" "$1/base" "$1/links" "$1/root-sums" "$1/base-sums"
}
