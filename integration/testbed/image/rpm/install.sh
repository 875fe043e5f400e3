#!/bin/sh
# install.sh STEP [ARG...]: the build steps of image/rpm/Dockerfile. Each runs
# as root in a build container of the Debian minbase rootfs, with the build
# context (see the Dockerfile) mounted at /ctx:
#   tools PACKAGE...  install Debian's PACKAGEs (rpm, dnf or zypper) from the
#                     machine's mirrors; rpm's database goes to /var/lib/rpm
#   dnf               make the container Rocky Linux 9 with the test packages
#                     installed by its own rpm, and dnf pointed at the bed's
#                     repository (dnf image)
#   zypper            the same as openSUSE Leap 15.6 with zypper (zypper image)
#   rpmdb OUT         a tree in OUT: Rocky Linux 9 identity, the test packages'
#                     files and rpm database, no rpm, dnf or shell (rpmdb image)
#   manifest OUT      a tree in OUT: Azure Linux 3.0 identity, the packages'
#                     files and the rpmmanifest files of Azure Linux distroless
#                     images instead of an rpm database (manifest image)
set -eu
ctx=/ctx
key=RPM-GPG-KEY-darn-test

# tools PACKAGE... installs Debian packages through the apt cache mounts.
tools() {
	rm -f /etc/apt/sources.list
	cp "$ctx/debian.sources" /etc/apt/sources.list.d/debian.sources
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
	rm -f /var/cache/apt/*.bin
	cp -a "$ctx/root/tools/." /
	[ "$(rpm --eval %_dbpath)" = /var/lib/rpm ] || { echo "install.sh: rpm's %_dbpath is not /var/lib/rpm" >&2; exit 1; }
}

# forget_debian drops what tells scanners (and darn) that this is Debian:
# dpkg's database, /etc/debian_version and apt's sources. Debian's programs
# stay; rpm, dnf and zypper need none of it.
forget_debian() {
	rm -rf /var/lib/dpkg /etc/debian_version /etc/apt/sources.list.d/debian.sources
}

# add_repo ROOT REPODIR REPOFILE puts the bed's repository file (REPOFILE
# from the context) and the test key into ROOT.
add_repo() {
	install -d -m 755 "$1$2" "$1/etc/pki/rpm-gpg"
	install -m 644 "$ctx/repo/$3" "$1$2/darn-test.repo"
	install -m 644 "$ctx/key/$key" "$1/etc/pki/rpm-gpg/$key"
}

# install_packages ROOT imports the test key into ROOT's rpm database
# (/var/lib/rpm) and installs the test packages of role "installed" with
# rpm, which must find them signed by that key; then the image changes the
# default configuration of darn-conf (a %config(noreplace) file).
install_packages() {
	rpm --root "$1" --dbpath /var/lib/rpm --import "$ctx/key/$key"
	rpm --root "$1" --dbpath /var/lib/rpm --define '_pkgverify_level signature' -i "$ctx"/rpms/*.rpm
	printf 'local = changed by the image\n' >>"$1/etc/darn/darn.conf"
}

# distroless_tree OUT DISTRO starts a distroless-shaped tree: DISTRO's
# identity files, passwd/group/nsswitch.conf (root and nonroot 65532),
# /tmp and /home/nonroot.
distroless_tree() {
	install -d -m 755 "$1"
	cp -a "$ctx/root/$2/." "$1/"
	cp -a "$ctx/distroless/etc/." "$1/etc/"
	install -d -m 1777 "$1/tmp"
	install -d -m 700 -o 65532 -g 65532 "$1/home/nonroot"
	install -d -m 700 "$1/root"
}

# rpmmanifest ROOT writes ROOT/var/lib/rpmmanifest/container-manifest-1 and -2
# from ROOT's rpm database the way Azure Linux's image builder does (rpm -qa;
# and the tab-separated query Trivy's rpmqa analyzer parses), sorted and
# without the gpg-pubkey entries.
rpmmanifest() {
	d="$1/var/lib/rpmmanifest"
	install -d -m 755 "$d"
	rpm --root "$1" --dbpath /var/lib/rpm -qa | grep -v '^gpg-pubkey-' | LC_ALL=C sort >"$d/container-manifest-1"
	rpm --root "$1" --dbpath /var/lib/rpm -qa --qf '%{NAME}\t%{VERSION}-%{RELEASE}\t%{INSTALLTIME}\t%{BUILDTIME}\t%{VENDOR}\t(none)\t%{SIZE}\t%{ARCH}\t%{EPOCHNUM}\t%{SOURCERPM}\n' |
		grep -v '^gpg-pubkey	' | LC_ALL=C sort >"$d/container-manifest-2"
	chmod 644 "$d"/container-manifest-*
}

step=${1:?usage: install.sh STEP [ARG...]}
shift
case $step in
tools) tools "$@" ;;
dnf)
	forget_debian
	cp -a "$ctx/root/rocky/." "$ctx/root/dnf/." /
	add_repo "" /etc/yum.repos.d darn-test.repo
	install_packages /
	;;
zypper)
	forget_debian
	cp -a "$ctx/root/opensuse/." /
	add_repo "" /etc/zypp/repos.d darn-test.zypp.repo
	# libzypp's solver insists on glibc, which Debian's dpkg (not the rpm
	# database) provides here.
	sed -i 's/^requires:glibc$/# requires:glibc (Debian'"'"'s, not in the rpm database)/' /etc/zypp/systemCheck
	install_packages /
	;;
rpmdb)
	distroless_tree "$1" rocky
	add_repo "$1" /etc/yum.repos.d darn-test.repo
	install_packages "$1"
	;;
manifest)
	distroless_tree "$1" azurelinux
	add_repo "$1" /etc/yum.repos.d darn-test.repo
	install_packages "$1"
	rpmmanifest "$1"
	rm -rf "$1/var/lib/rpm"
	;;
*)
	echo "install.sh: unknown step $step" >&2
	exit 2
	;;
esac
