# shellcheck shell=sh
# shellcheck disable=SC2154 # sources_opts comes from common.sh, prepended to this script
# darn: list the installed packages whose configured sources offer a newer
# version (update-all mode). Arguments: NAME=INSTALLED ... Writes
# "NAME VERSION" lines to $DARN_OUT/upgradable; changes nothing else.
out=${DARN_OUT:?}
setup

update_indexes
: >"$out/upgradable"
for arg; do
	name=${arg%%=*}
	have=${arg#*=}
	# shellcheck disable=SC2086 # sources_opts holds separate words
	cand=$(apt-cache $sources_opts policy "$name" | awk '/Candidate:/ { print $2; exit }')
	case "$cand" in "" | "(none)") continue ;; esac
	if dpkg --compare-versions "$cand" gt "$have"; then
		echo "$name $cand" >>"$out/upgradable"
	fi
done
