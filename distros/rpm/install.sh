# shellcheck shell=sh
# shellcheck disable=SC2154 # manager and the other variables come from common.sh, prepended
# darn: install exact versions of rpm packages with the image's own package
# manager. Arguments: NAME=EVR ... (each the lowest version the
# repositories offer at or above its fix, chosen by the patch core). The
# original root is mounted read-only at $DARN_BASE.
base=${DARN_BASE:?}
setup
case $manager in
zypper) [ -z "${DARN_REPO_MIRRORS:-}" ] || use_repos /etc/zypp/repos.d ;;
*) [ -z "${DARN_REPO_MIRRORS:-}" ] || use_repos /etc/yum.repos.d ;;
esac
# shellcheck disable=SC2046 # one argument per line, no blanks in them
set -- $(specs "$@")
echo "darn: installing $* with $manager"
case $manager in
zypper) pm install --no-recommends --oldpackage -- "$@" ;;
*) pm install -- "$@" ;;
esac
keep_out / "$base"
settle_times / "$base"
