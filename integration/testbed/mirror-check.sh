#!/bin/sh
# mirror-check.sh MIRROR_URL TAMPERED_URL PKG=VERSION...
# Runs as root in a build step FROM the offline test image (up.sh's
# check_mirror). The image's own sources name unreachable hosts; a copy of
# them pointed at MIRROR_URL must let `apt-get update` verify and fetch the
# indices and `apt-get install --download-only` fetch the upgrades, and a
# copy pointed at TAMPERED_URL must fail `apt-get update` on a hash mismatch.
set -eu
url=$1
tampered=$2
shift 2

# rewrite BASE DIR writes DIR/debian.sources: the image's deb822 sources with
# their URIs moved to BASE/debian and BASE/debian-security.
rewrite() {
	mkdir -p "$2"
	sed -e "s|^URIs: .*/debian-security\$|URIs: $1/debian-security|" \
		-e "s|^URIs: .*/debian\$|URIs: $1/debian|" \
		/etc/apt/sources.list.d/debian.sources >"$2/debian.sources"
}

: >/tmp/empty.list
rewrite "$url" /tmp/sources.good
rewrite "$tampered" /tmp/sources.tampered
grep '^URIs:' /etc/apt/sources.list.d/debian.sources /tmp/sources.good/debian.sources

apt-get -o Dir::Etc::SourceList=/tmp/empty.list -o Dir::Etc::SourceParts=/tmp/sources.good update
if [ $# -gt 0 ]; then
	apt-get -o Dir::Etc::SourceList=/tmp/empty.list -o Dir::Etc::SourceParts=/tmp/sources.good \
		install -y --download-only --no-install-recommends "$@"
	ls /var/cache/apt/archives/*.deb
fi

# Fresh lists: with the good lists in place apt would see the same InRelease
# and never download the tampered index.
mkdir -p /tmp/lists.tampered/partial
if apt-get -o Dir::Etc::SourceList=/tmp/empty.list -o Dir::Etc::SourceParts=/tmp/sources.tampered \
	-o Dir::State::Lists=/tmp/lists.tampered update >/tmp/tampered.log 2>&1; then
	cat /tmp/tampered.log
	echo "mirror-check: apt accepted the tampered mirror" >&2
	exit 1
fi
cat /tmp/tampered.log
grep -q 'Hash Sum mismatch' /tmp/tampered.log || {
	echo "mirror-check: apt failed on the tampered mirror, but not with a hash mismatch" >&2
	exit 1
}
echo "mirror-check: ok"
