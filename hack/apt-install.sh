#!/usr/bin/env bash
# hack/apt-install.sh PACKAGE...: install the Debian packages that are not
# installed yet (as root, as the test bed does), so that a fresh machine's
# `make lint` and `make test` have what they need.
set -euo pipefail
missing=()
for p in "$@"; do
	dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
done
((${#missing[@]})) || exit 0
if ((EUID != 0)); then
	echo "missing Debian packages: ${missing[*]} (run as root, or apt-get install them)" >&2
	exit 1
fi
echo "installing ${missing[*]}" >&2
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
