# shellcheck shell=sh
# shellcheck disable=SC2154 # manager and the other variables come from common.sh, prepended
# darn: patch an image without a package manager that has an rpm database,
# from a tooling image of the same family with dnf: dnf --installroot
# installs the exact versions into the image's root, mounted at
# $DARN_TARGET, with the image's own repositories and keys, and rpm
# records them in the image's own database. Arguments: NAME=EVR ... No
# scriptlet runs: the image has no shell to run one. The untouched root is
# mounted read-only at $DARN_BASE.
target=${DARN_TARGET:?}
base=${DARN_BASE:?}
setup
use_repos "$target/$(resolve_in_root "$target" etc/yum.repos.d)" "$target"
export DARN_PM_ROOT="$target"
# shellcheck disable=SC2046 # one argument per line, no blanks in them
set -- $(specs "$@")
echo "darn: installing $* into the image's root"
pm --setopt=tsflags=noscripts install -- "$@"
keep_out "$target" "$base"
settle_times "$target" "$base"
