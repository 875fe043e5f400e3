# shellcheck shell=sh
# darn: install Debian packages at the lowest available version >= a minimum,
# in a container of the image itself. Arguments: NAME=MINVERSION ...
# The original root is mounted read-only at $DARN_BASE.
base=${DARN_BASE:?}
setup

refresh_indexes
specs=$(pin "$@")
if [ -z "$specs" ]; then
	echo "darn: nothing left to install"
	exit 0
fi
echo "darn: installing$specs"
# shellcheck disable=SC2086 # specs holds separate words by design
apt -y install $specs

# dpkg and debconf rewrite their own backups on every run, and ldconfig its
# aux-cache (inode numbers and times: different on every run). Put back the
# image's copies (only these files: a packaged file may be named *-old too).
for f in /var/lib/dpkg/status-old /var/lib/dpkg/diversions-old \
	/var/lib/dpkg/statoverride-old /var/cache/debconf/config.dat-old \
	/var/cache/debconf/templates.dat-old /var/cache/debconf/passwords.dat-old \
	/var/log/alternatives.log /var/log/dpkg.log /var/cache/ldconfig/aux-cache; do
	if [ -e "$base$f" ]; then
		cp -p "$base$f" "$f"
	else
		rm -f "$f"
	fi
done

settle / "$base"
