#!/bin/sh
# check.sh MODE ARG...: rpm.sh's check_rpm runs it as root in build steps
# FROM the RPM images, to prove they work against the bed's repository:
#   dnf URL TAMPERED_URL INSTALLED FIXES      in the dnf image (and in the
#       multi-platform image's foreign ones, under qemu): dnf refuses the
#       fixes from TAMPERED_URL, then makes its cache from URL and installs
#       them
#   offline OFFLINE_URL URL INSTALLED FIXES   in the offline image, whose
#       repository file names OFFLINE_URL (a host that never resolves): dnf
#       cannot reach it; with a copy of the file naming URL instead (given by
#       --setopt=reposdir) it installs the fixes, the image's file untouched
#   zypper URL INSTALLED FIXES                in the zypper image: zypper
#       refreshes and installs the fixes
#   installroot ROOT INSTALLED FIXES          in the tooling image, with the
#       rpmdb image's files in ROOT: dnf --installroot=ROOT installs the fixes
# INSTALLED and FIXES are "name=[epoch:]version-release,...": what the image
# holds, and the fixes. Each install must give exactly the fixes (not the
# newer versions), pull in darn-libbar, leave the other packages alone and
# keep the image's darn.conf (the new default lands in darn.conf.rpmnew),
# and every package must be noarch or of the machine's architecture (uname
# -m: aarch64 under qemu-aarch64).
set -eu

fail() {
	echo "check.sh: $*" >&2
	exit 1
}

# evr ROOT NAME prints NAME's installed epoch:version-release in ROOT.
evr() {
	rpm --root "$1" --dbpath /var/lib/rpm -q --qf '%{EPOCHNUM}:%{VERSION}-%{RELEASE}\n' "$2" 2>/dev/null || true
}

# expect ROOT LIST checks that ROOT has each name=evr of LIST installed.
expect() {
	root=$1
	for kv in $(echo "$2" | tr ',' ' '); do
		want=${kv#*=}
		case $want in *:*) ;; *) want=0:$want ;; esac
		got=$(evr "$root" "${kv%%=*}")
		[ "$got" = "$want" ] || fail "${kv%%=*} is '$got' in $root, expected $want"
		# Every package names its version in a file.
		f="$root/usr/share/darn/${kv%%=*}-${want#*:}"
		[ "$(cat "$f")" = "${kv%%=*} ${kv#*=}" ] || fail "$f does not name ${kv#*=}"
	done
}

# arches ROOT checks that each package in ROOT's rpm database is noarch or
# built for this machine, and that some are (the "arch" packages).
arches() {
	machine=$(uname -m)
	own=0
	for na in $(rpm --root "$1" --dbpath /var/lib/rpm -qa --qf '%{NAME}=%{ARCH}\n' | grep -v '^gpg-pubkey='); do
		case ${na#*=} in
		noarch) ;;
		"$machine") own=$((own + 1)) ;;
		*) fail "${na%%=*} in $1 is built for ${na#*=}, not $machine" ;;
		esac
	done
	[ "$own" -gt 0 ] || fail "no package in $1 is built for $machine"
}

# specs SEP LIST prints LIST's packages as name<SEP>evr for a package manager.
specs() {
	echo "$2" | tr ',' '\n' | sed "s/=/$1/"
}

# after ROOT INSTALLED FIXES checks ROOT after an install of the fixes.
after() {
	arches "$1"
	expect "$1" "$3"
	expect "$1" darn-libbar=2.0-1
	for kv in $(echo "$2" | tr ',' ' '); do
		case ,$3, in *,"${kv%%=*}"=*) ;; *) expect "$1" "$kv" ;; esac
	done
	grep -qx 'local = changed by the image' "$1/etc/darn/darn.conf" || fail "the image's darn.conf was replaced"
	grep -qx 'hardened = yes' "$1/etc/darn/darn.conf.rpmnew" || fail "no new default in darn.conf.rpmnew"
	echo "check.sh: $(rpm --root "$1" --dbpath /var/lib/rpm -qa | sort | tr '\n' ' ')"
}

mode=${1:?usage: check.sh MODE ARG...}
shift
case $mode in
dnf)
	url=$1 tampered=$2 installed=$3 fixes=$4
	grep -qx "baseurl=$url" /etc/yum.repos.d/darn-test.repo || fail "the image's repository is not $url"
	expect / "$installed"
	arches /
	mkdir -p /tmp/tampered.d
	sed -e "s|^baseurl=.*|baseurl=$tampered|" -e 's|^\[darn-test\]|[darn-tampered]|' \
		/etc/yum.repos.d/darn-test.repo >/tmp/tampered.d/darn-tampered.repo
	# shellcheck disable=SC2046 # one argument per package
	if dnf -y --setopt=reposdir=/tmp/tampered.d install $(specs - "$fixes") >/tmp/tampered.log 2>&1; then
		cat /tmp/tampered.log
		fail "dnf installed from the tampered repository"
	fi
	cat /tmp/tampered.log
	grep -q "checksum doesn't match" /tmp/tampered.log || fail "dnf failed on the tampered repository, but not on a checksum"
	expect / "$installed"
	dnf -y makecache
	# shellcheck disable=SC2046
	dnf -y install $(specs - "$fixes")
	after / "$installed" "$fixes"
	;;
offline)
	offline=$1 url=$2 installed=$3 fixes=$4
	repo=/etc/yum.repos.d/darn-test.repo
	grep -qx "baseurl=$offline" $repo || fail "the image's repository is not $offline"
	sum=$(sha256sum $repo)
	expect / "$installed"
	# shellcheck disable=SC2046 # one argument per package
	if dnf -y install $(specs - "$fixes") >/tmp/offline.log 2>&1; then
		cat /tmp/offline.log
		fail "dnf installed from $offline"
	fi
	cat /tmp/offline.log
	host=${offline#*://}
	grep -qF "${host%%/*}" /tmp/offline.log || fail "dnf failed, but not on reaching ${host%%/*}"
	expect / "$installed"
	# A mirror, the way a patch gives one: the repository file copied with
	# its URL rewritten, in a directory of its own.
	mkdir -p /tmp/mirror.d
	sed "s|^baseurl=.*|baseurl=$url|" $repo >/tmp/mirror.d/darn-test.repo
	# shellcheck disable=SC2046
	dnf -y --setopt=reposdir=/tmp/mirror.d install $(specs - "$fixes")
	after / "$installed" "$fixes"
	[ "$(sha256sum $repo)" = "$sum" ] || fail "$repo changed"
	;;
zypper)
	url=$1 installed=$2 fixes=$3
	grep -qx "baseurl=$url" /etc/zypp/repos.d/darn-test.repo || fail "the image's repository is not $url"
	expect / "$installed"
	zypper --non-interactive refresh
	# shellcheck disable=SC2046
	zypper --non-interactive install $(specs "=" "$fixes")
	after / "$installed" "$fixes"
	;;
installroot)
	root=$1 installed=$2 fixes=$3
	expect "$root" "$installed"
	if [ -e "$root/bin/sh" ] || [ -e "$root/usr/bin/rpm" ]; then fail "$root has a shell or rpm"; fi
	# dnf takes the repository from ROOT but reads its gpgkey (a file: URL)
	# on this side, and needs the release version the root cannot tell it.
	# shellcheck disable=SC2046
	dnf -y --installroot="$root" --releasever=9 \
		--setopt=darn-test.gpgkey="file://$root/etc/pki/rpm-gpg/RPM-GPG-KEY-darn-test" \
		install $(specs - "$fixes")
	after "$root" "$installed" "$fixes"
	;;
*) fail "unknown mode $mode" ;;
esac
echo "check.sh: $mode ok"
