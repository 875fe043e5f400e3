# shellcheck shell=sh
# darn: list the installed packages whose configured sources offer a newer
# version (update-all mode). Arguments: NAME=INSTALLED ... Writes
# "NAME VERSION" lines to $DARN_OUT/upgradable; changes nothing else.
out=${DARN_OUT:?}
setup

update_indexes
: >"$out/upgradable"
[ $# -gt 0 ] || exit 0
# One apt-cache run for every package (an image has hundreds), its blocks
# read by awk: "NAME[:ARCH]:" then "  Candidate: VERSION". Only candidates
# that differ from the installed version are compared, by dpkg.
printf '%s\n' "$@" >/tmp/darn-installed
names=""
for arg; do names="$names ${arg%%=*}"; done
# shellcheck disable=SC2086 # names holds separate words, checked in Go
apt_cache policy $names >/tmp/darn-policy
awk '
	FNR == NR { i = index($0, "="); have[substr($0, 1, i - 1)] = substr($0, i + 1); next }
	/^[^ ]/ { name = $0; sub(/:.*/, "", name); next }
	$1 == "Candidate:" && name in have && !(name in seen) {
		seen[name] = 1
		if ($2 != "(none)" && $2 != have[name]) print name, have[name], $2
	}' /tmp/darn-installed /tmp/darn-policy | while read -r name have cand; do
	if dpkg --compare-versions "$cand" gt "$have"; then
		echo "$name $cand" >>"$out/upgradable"
	fi
done
