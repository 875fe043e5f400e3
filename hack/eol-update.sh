#!/usr/bin/env bash
# eol-update.sh rewrites distros/eol.json from endoflife.date's API: for each
# release of the table, the end of the security updates an image gets
# without a subscription (the note in eol.json): the cycle's "eol", but
# Debian's "extendedSupport" (LTS, which uses the same security suite). It
# needs network access to endoflife.date; review the diff before committing.
set -euo pipefail
cd "$(dirname "$0")/.."
file=distros/eol.json
api=${DARN_EOL_API:-https://endoflife.date/api}
# id in eol.json → product name on endoflife.date
declare -A product=([debian]=debian [ubuntu]=ubuntu [rhel]=rhel [rocky]=rocky-linux [almalinux]=almalinux
	[ol]=oracle-linux [centos]=centos-stream [fedora]=fedora [amzn]=amazon-linux [mariner]=cbl-mariner
	[sles]=sles [opensuse-leap]=opensuse [alpine]=alpine)
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
cp "$file" "$tmp"
for id in $(jq -r '.releases[].id' "$file" | sort -u); do
	name=${product[$id]:?"no endoflife.date product for $id"}
	cycles=$(curl -fsS --max-time 30 "$api/$name.json")
	for version in $(jq -r --arg id "$id" '.releases[] | select(.id == $id) | .version' "$file"); do
		field=eol
		[[ $id != debian ]] || field=extendedSupport
		eol=$(jq -r --arg v "$version" --arg f "$field" '.[] | select(.cycle == $v) | .[$f]' <<<"$cycles")
		[[ $eol =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] || {
			echo "eol-update: $id $version: endoflife.date gives '$eol', kept as it was" >&2
			continue
		}
		jq --arg id "$id" --arg v "$version" --arg d "$eol" \
			'(.releases[] | select(.id == $id and .version == $v) | .eol) = $d' "$tmp" >"$tmp.new"
		mv "$tmp.new" "$tmp"
	done
done
jq --arg d "$(date -u +%F)" '.asOf = $d' "$tmp" >"$file"
go test ./distros/ -run TestEOL
echo "eol-update: $file refreshed; review 'git diff $file'"
