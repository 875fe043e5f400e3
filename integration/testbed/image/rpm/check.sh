#!/bin/sh
# check.sh MODE ARG...: rpm.sh's check_rpm runs it as root in build steps
# FROM the RPM images, to prove they work against the bed's repository:
#   dnf URL TAMPERED_URL INSTALLED FIXES      in the dnf image: dnf refuses
#       the fixes from TAMPERED_URL, then makes its cache from URL and
#       installs them
#   zypper URL INSTALLED FIXES                in the zypper image: zypper
#       refreshes and installs the fixes
#   installroot ROOT INSTALLED FIXES          in the tooling image, with the
#       rpmdb image's files in ROOT: dnf --installroot=ROOT installs the fixes
# INSTALLED and FIXES are "name=[epoch:]version-release,...": what the image
# holds, and the fixes. Each install must give exactly the fixes (not the
# newer versions), pull in darn-libbar, leave the other packages alone and
# keep the image's darn.conf (the new default lands in darn.conf.rpmnew).
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

# specs SEP LIST prints LIST's packages as name<SEP>evr for a package manager.
specs() {
	echo "$2" | tr ',' '\n' | sed "s/=/$1/"
}

# after ROOT INSTALLED FIXES checks ROOT after an install of the fixes.
after() {
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
