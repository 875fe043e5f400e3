# shellcheck shell=sh
# shellcheck disable=SC2154 # manager and the other variables come from common.sh, prepended
# darn: list what the repositories of an image without a package manager
# offer for packages, from a tooling image (dnf, tdnf or zypper), the image's root at
# $DARN_TARGET. Arguments: NAME ... Writes $DARN_OUT/available.
target=${DARN_TARGET:?}
setup
# Assigned first: a refusal inside the image's root ends the step.
repos=$(image_repos "$target")
use_repos "$repos" "$target"
export DARN_PM_ROOT="$target"
list_available "$@"
