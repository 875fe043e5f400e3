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
# tmpfs. Every request times out after $DARN_FETCH_TIMEOUT seconds without
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
apt() {
	# shellcheck disable=SC2086 # sources_opts holds separate words
	apt-get -q $sources_opts -o Dir::Log="$apt_log" -o Dpkg::Options::=--force-confdef \
		-o Dpkg::Options::=--force-confold -o Dpkg::Options::=--log=/dev/null \
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

# lowest NAME MIN: print the lowest version of NAME the configured sources
# offer that is >= MIN. A higher one would be an unrelated upgrade.
lowest() {
	best=""
	# shellcheck disable=SC2086
	for v in $(apt-cache $sources_opts madison "$1" | awk -F'|' '$3 ~ /Packages/ { gsub(/ /, "", $2); print $2 }'); do
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
