# shellcheck shell=sh
# shellcheck disable=SC2154 # manager and the other variables come from common.sh, prepended
# darn: patch an image that lists its packages in a container manifest
# (Azure Linux and CBL-Mariner distroless) instead of an rpm database, from
# a tooling image with dnf or tdnf and rpm: the exact versions, and what
# they need that the image does not list, are downloaded from the image's
# own repositories, their signatures checked against the keys those
# repositories name, unpacked into the image's root at $DARN_TARGET (every
# path resolved inside it) and written into its manifests. Arguments:
# NAME=EVR ... No scriptlet runs: the image has no shell. The old
# versions' files the new ones no longer ship are removed.
target=${DARN_TARGET:?}
base=${DARN_BASE:?}

# unpack RPM STAGE: RPM's files under STAGE, laid out by rpm itself (the
# tooling image needs no cpio), its signature checked again with the keys
# of /tmp/keydb, documentation left out, no scriptlet run, owners named as
# the image's passwd and group name them. A configuration file the package
# lets the admin keep (%config(noreplace)) stays the image's where the image
# has one, as rpm keeps one the admin changed.
unpack() {
	mkdir -p "$2/etc"
	owned=$(rpm --dbpath /tmp/keydb -qlp "$1")
	for f in passwd group; do
		p=$(resolve_in_root "$target" "etc/$f")
		if ! printf '%s\n' "$owned" | grep -qxF "/etc/$f" && is_file "$target/$p"; then cp "$target/$p" "$2/etc/$f"; fi
	done
	cp -a /tmp/keydb "$2.db"
	rpm --root "$2" --dbpath "$(out_of "$2" "$2.db")" -i --nodeps --noscripts --notriggers --excludedocs "$1"
	for f in passwd group; do
		printf '%s\n' "$owned" | grep -qxF "/etc/$f" || rm -f "$2/etc/$f"
	done
	rpm --dbpath /tmp/keydb -qp --qf '[%{FILEFLAGS:fflags}\t%{FILENAMES}\n]' "$1" | awk -F '\t' '$1 ~ /c/ && $1 ~ /n/ { print $2 }' |
		while IFS= read -r f; do
			p=$(resolve_in_root "$target" "${f#/}")
			if [ -e "$target/$p" ]; then
				rm -f "$2$f"
				echo "darn: kept the image's $f (configuration)"
			fi
		done
}

# old_specs NAME...: the versions the manifest lists for NAMEs, as the
# package manager names them.
old_specs() {
	for n; do
		DARN_NAME=$n awk -F '\t' '$1 == ENVIRON["DARN_NAME"] { print $1 "=" ($9 == "0" ? "" : $9 ":") $2; exit }' "$target/$manifest/container-manifest-2"
	done
}

# drop_old SPEC...: remove the files of the old versions (NAME=EVR) that no
# new package ships, as rpm -U removes them, reading each old version's file
# list from its package; configuration files stay. Where the repositories
# no longer offer an old version, its dropped files stay, and the step says
# so.
drop_old() {
	for a; do
		rm -rf /tmp/old
		mkdir -p /tmp/old
		# shellcheck disable=SC2046 # one word
		if ! pm install --downloadonly --downloaddir=/tmp/old -- $(specs "$a") >/tmp/old.log 2>&1; then
			echo "darn: the repositories no longer offer ${a%%=*} ${a#*=}: files the new version no longer ships stay"
			continue
		fi
		for old in /tmp/old/*.rpm; do
			[ "$(rpm --dbpath /tmp/keydb -qp --qf '%{NAME}' "$old")" = "${a%%=*}" ] || continue
			rpm --dbpath /tmp/keydb -qp --qf '[%{FILEFLAGS:fflags}\t%{FILENAMES}\n]' "$old" |
				awk -F '\t' 'NR == FNR { keep[$0] = 1; next } $1 !~ /c/ && !($2 in keep) { print $2 }' /tmp/newfiles - |
				while IFS= read -r f; do
					p=$(resolve_in_root "$target" "${f#/}")
					if [ -L "$target/$p" ] || [ -f "$target/$p" ]; then rm -f "$target/$p"; fi
				done
		done
	done
}

setup
# Assigned first: a refusal inside the image's root ends the step.
repos=$(image_repos "$target")
use_repos "$repos" "$target"
manifest=$(resolve_in_root "$target" var/lib/rpmmanifest)
is_file "$target/$manifest/container-manifest-2" || die "refusing /$manifest/container-manifest-2: not a regular file in the image"
wanted=$(for a; do printf '%s\n' "${a%%=*}"; done)
# shellcheck disable=SC2086 # names, no blanks in them
olds=$(old_specs $wanted)
# The image has no rpm database to resolve against: the package manager
# resolves in an empty root, and what the manifest lists already is kept.
export DARN_PM_ROOT=/tmp/scratch
mkdir -p /tmp/scratch /tmp/rpms /tmp/keydb /tmp/stage
: >/tmp/newfiles
# shellcheck disable=SC2046 # one argument per line, no blanks in them
set -- $(specs "$@")
echo "darn: unpacking $* into the image's root"
case $manager in
dnf | tdnf) pm install --downloadonly --downloaddir=/tmp/rpms -- "$@" ;;
*)
	echo "darn: the tooling image's $manager cannot download packages for a container manifest: use one with dnf or tdnf" >&2
	exit 2
	;;
esac
verify_signatures /tmp/rpms
n=0
for rpm in /tmp/rpms/*.rpm; do
	name=$(rpm --dbpath /tmp/keydb -qp --qf '%{NAME}' "$rpm")
	if ! printf '%s\n' "$wanted" | grep -qxF -- "$name" &&
		DARN_NAME=$name awk -F '\t' '$1 == ENVIRON["DARN_NAME"] { found = 1 } END { exit !found }' "$target/$manifest/container-manifest-2"; then
		echo "darn: $name is in the image already: kept at its version"
		continue
	fi
	n=$((n + 1))
	rpm --dbpath /tmp/keydb -qlp "$rpm" >>/tmp/newfiles
	unpack "$rpm" "/tmp/stage/$n"
	place_tree "/tmp/stage/$n" "$target"
	record_manifest "$rpm" "$target" "$manifest"
done
# shellcheck disable=SC2086 # NAME=EVR words, no blanks in them
drop_old $olds
settle_times "$target" "$base"
