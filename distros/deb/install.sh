#!/bin/sh
# darn: install Debian packages at the lowest available version >= a minimum.
# Arguments: NAME=MINVERSION ... Runs as root in a container of the image to
# patch, with the original root mounted read-only at $DARN_BASE, apt's index
# and archive directories on cache mounts and /tmp on a tmpfs, so none of
# them can reach the layer.
set -eu

base=${DARN_BASE:?}
stamp=/tmp/darn-stamp
apt_log=/tmp/darn-apt-log
mkdir -p "$apt_log"
: >"$stamp"

export DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true

# apt keeps existing conffiles, never installs recommends and logs to the tmpfs.
apt() {
	apt-get -q -o Dir::Log="$apt_log" -o Dpkg::Options::=--force-confdef \
		-o Dpkg::Options::=--force-confold -o Dpkg::Options::=--log=/dev/null \
		-o APT::Install-Recommends=false -o APT::Install-Suggests=false \
		-o Acquire::Retries=3 "$@"
}

apt update

# lowest NAME MIN: print the lowest version of NAME the configured sources
# offer that is >= MIN. A higher one would be an unrelated upgrade.
lowest() {
	best=""
	for v in $(apt-cache madison "$1" | awk -F'|' '$3 ~ /Packages/ { gsub(/ /, "", $2); print $2 }'); do
		dpkg --compare-versions "$v" ge "$2" || continue
		if [ -z "$best" ] || dpkg --compare-versions "$v" lt "$best"; then
			best=$v
		fi
	done
	[ -n "$best" ] && echo "$best"
}

specs=""
missing=""
for arg; do
	name=${arg%%=*}
	min=${arg#*=}
	if v=$(lowest "$name" "$min"); then
		specs="$specs $name=$v"
	else
		missing="$missing $name>=$min"
	fi
done
if [ -n "$missing" ]; then
	echo "darn: no version available from the image's apt sources for:$missing" >&2
	exit 100
fi

echo "darn: installing$specs"
# shellcheck disable=SC2086 # specs holds separate words by design
apt -y install $specs

# dpkg and debconf rewrite their own backups on every run. Put back the
# image's copies (only these files: a packaged file may be named *-old too).
for f in /var/lib/dpkg/status-old /var/lib/dpkg/diversions-old \
	/var/lib/dpkg/statoverride-old /var/cache/debconf/config.dat-old \
	/var/cache/debconf/templates.dat-old /var/cache/debconf/passwords.dat-old \
	/var/log/alternatives.log /var/log/dpkg.log; do
	if [ -e "$base$f" ]; then
		cp -p "$base$f" "$f"
	else
		rm -f "$f"
	fi
done

# Files the upgrade rewrote with identical bytes (ld.so.cache, /etc files,
# dpkg's info/*, unchanged /usr files of the new packages) differ from the
# image only by their times. Give them the image's times back: BuildKit's
# differ then leaves them out of the layer.
find / -xdev -cnewer "$stamp" -type f -print 2>/dev/null | while IFS= read -r f; do
	b="$base$f"
	[ -f "$b" ] && [ ! -L "$b" ] && cmp -s "$b" "$f" && touch -m -r "$b" "$f" || true
done
exit 0
