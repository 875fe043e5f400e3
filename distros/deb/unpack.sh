# shellcheck shell=sh
# darn: patch an image without a package manager from a tooling image of the
# same release. Arguments: NAME=MINVERSION ... The target root is mounted
# read-write at $DARN_TARGET and read-only, untouched, at $DARN_BASE.
#
# apt downloads exactly the planned packages (their hashes checked against
# the signed indexes); their files are unpacked into the target and its
# package database is updated, every path resolved inside the target (see
# root.sh). No maintainer script runs: the target has no shell to run one,
# and what they do for libraries and data packages (ldconfig triggers,
# tzdata's debconf questions) does not apply to it.
target=${DARN_TARGET:?}
base=${DARN_BASE:?}
setup

refresh_indexes
specs=$(pin "$@")
if [ -z "$specs" ]; then
	echo "darn: nothing left to install"
	exit 0
fi
echo "darn: unpacking$specs into the target"
mkdir -p /tmp/debs
# apt downloads as its sandbox user when it can write there.
chown _apt /tmp/debs 2>/dev/null || true
cd /tmp/debs || exit 1
# shellcheck disable=SC2086 # specs holds separate words by design
apt download $specs

# The database: status.d (distroless: a file or directory per package), or
# a plain status file; both resolved inside the target.
db=$(resolve_in_root "$target" var/lib/dpkg)
statusd=$(resolve_in_root "$target" "$db/status.d")
status=''
[ -d "$target/$statusd" ] || status=$(resolve_in_root "$target" "$db/status")

for deb in /tmp/debs/*.deb; do
	name=$(dpkg-deb -f "$deb" Package)
	stage=/tmp/stage/$name
	mkdir -p "$stage"
	dpkg-deb -x "$deb" "$stage"
	# Images without a package manager carry no documentation but licences.
	rm -rf "$stage/usr/share/man" "$stage/usr/share/info" "$stage/usr/share/lintian"
	[ ! -d "$stage/usr/share/doc" ] || find "$stage/usr/share/doc" -type f ! -name copyright -delete
	place_tree "$stage" "$target"
	if [ -z "$status" ]; then
		record_statusd "$target" "$statusd" "$deb" "$name"
	else
		record_status "$target" "$status" "$deb" "$name"
	fi
done

settle "$target" "$base"
