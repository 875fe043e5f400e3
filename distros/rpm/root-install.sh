# shellcheck shell=sh
# shellcheck disable=SC2154 # manager and the other variables come from common.sh, prepended
# darn: patch an image without a package manager that has an rpm database,
# from a tooling image of the same family: dnf --installroot (or zypper
# --root) installs the exact versions into the image's root, mounted at
# $DARN_TARGET, with the image's own repositories and keys, and rpm
# records them in the image's own database. Arguments: NAME=EVR ... With
# dnf no scriptlet runs: the image has no shell to run one. The untouched
# root is mounted read-only at $DARN_BASE.
target=${DARN_TARGET:?}
base=${DARN_BASE:?}
setup
# Assigned first: a refusal inside the image's root ends the step.
repos=$(image_repos "$target")
use_repos "$repos" "$target"
export DARN_PM_ROOT="$target"
# shellcheck disable=SC2046 # one argument per line, no blanks in them
set -- $(specs "$@")
echo "darn: installing $* into the image's root with $manager"
case $manager in
dnf) pm --setopt=tsflags=noscripts install -- "$@" ;;
zypper) pm install --no-recommends --oldpackage -- "$@" ;;
*)
	echo "darn: the tooling image's $manager cannot install into an image's root: use one with dnf or zypper" >&2
	exit 2
	;;
esac
keep_out "$target" "$base"
settle_times "$target" "$base"
