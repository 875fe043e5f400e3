#!/bin/sh
# Print, for every installed package whose candidate version comes from a
# security suite: name, installed version, candidate version, source name.
set -eu
apt-get -q -o Dir::Log=/tmp -o APT::Sandbox::User=root update >&2
dpkg-query -W -f='${db:Status-Abbrev}\t${binary:Package}\t${Version}\t${source:Package}\n' |
while IFS="$(printf '\t')" read -r st name ver src; do
	case "$st" in ii*) ;; *) continue ;; esac
	cand=$(apt-cache policy "$name" | awk '/Candidate:/ { print $2 }')
	[ -n "$cand" ] && [ "$cand" != "(none)" ] && [ "$cand" != "$ver" ] || continue
	if apt-cache madison "$name" | awk -F'|' -v c="$cand" '{ gsub(/ /, "", $2) } $2 == c && $3 ~ /-security/ { f = 1 } END { exit !f }'; then
		printf '%s\t%s\t%s\t%s\n' "${name%%:*}" "$ver" "$cand" "$src"
	fi
done >/out/upgradable.tsv
cp /etc/os-release /out/os-release
