# shellcheck shell=sh
# shellcheck disable=SC2154 # manager and the other variables come from common.sh, prepended
# darn: list what the image's repositories offer for packages, in the image
# itself. Arguments: NAME ... Writes $DARN_OUT/available; changes nothing
# else.
setup
case $manager in
zypper) [ -z "${DARN_REPO_MIRRORS:-}" ] || use_repos /etc/zypp/repos.d ;;
*) [ -z "${DARN_REPO_MIRRORS:-}" ] || use_repos /etc/yum.repos.d ;;
esac
list_available "$@"
