# shellcheck shell=sh
# shellcheck disable=SC2154 # manager and the other variables come from common.sh, prepended
# darn: patch an image that lists its packages in a container manifest
# (Azure Linux and CBL-Mariner distroless) instead of an rpm database, from
# a tooling image with dnf and rpm: the exact versions are downloaded from
# the image's own repositories, their signatures checked against the keys
# those repositories name, unpacked into the image's root at $DARN_TARGET
# (every path resolved inside it) and written into its manifests.
# Arguments: NAME=EVR ... No scriptlet runs: the image has no shell.
target=${DARN_TARGET:?}
base=${DARN_BASE:?}
setup
use_repos "$target/$(resolve_in_root "$target" etc/yum.repos.d)" "$target"
export DARN_PM_ROOT="$target"
mkdir -p /tmp/rpms /tmp/keydb
# shellcheck disable=SC2046 # one argument per line, no blanks in them
set -- $(specs "$@")
echo "darn: unpacking $* into the image's root"
pm download --destdir=/tmp/rpms -- "$@"
verify_signatures /tmp/rpms
manifest=$(resolve_in_root "$target" var/lib/rpmmanifest)
for rpm in /tmp/rpms/*.rpm; do
	stage=/tmp/stage/${rpm##*/}
	mkdir -p "$stage"
	(cd "$stage" && rpm2cpio "$rpm" | cpio -idm --quiet)
	rm -rf "$stage/usr/share/man" "$stage/usr/share/info" "$stage/usr/share/doc"
	place_tree "$stage" "$target"
	record_manifest "$rpm" "$target" "$manifest"
done
settle_times "$target" "$base"
