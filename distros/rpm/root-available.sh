# shellcheck shell=sh
# shellcheck disable=SC2154 # manager and the other variables come from common.sh, prepended
# darn: list what the repositories of an image without a package manager
# offer for packages, from a tooling image with dnf, the image's root at
# $DARN_TARGET. Arguments: NAME ... Writes $DARN_OUT/available.
target=${DARN_TARGET:?}
setup
use_repos "$target/$(resolve_in_root "$target" etc/yum.repos.d)" "$target"
export DARN_PM_ROOT="$target"
list_available "$@"
