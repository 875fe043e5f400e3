# shellcheck shell=sh
# shellcheck disable=SC2154 # stamp comes from each family's common.sh
# darn: shell functions shared by every family's scripts (prepended to
# them). $stamp is a file the step touched before changing anything.

# settle_times ROOT BASE: give everything under ROOT the step changed a time
# that does not depend on when the step ran, so that the layer's bytes are
# the same on every run and builder: BASE's time for files and links
# rewritten with identical content and for directories BASE has (BuildKit's
# differ then leaves what is otherwise unchanged out of the layer), and
# $DARN_EPOCH (SOURCE_DATE_EPOCH, else the image's creation time) for the
# rest. Files and links that kept an older time keep it: the package's own
# (dpkg and rpm set it from the package, and rpm -V checks it).
settle_times() {
	epoch=${DARN_EPOCH:-0}
	find "$1" -xdev -cnewer "$stamp" \( -type d -o \( -type f -o -type l \) -newer "$stamp" \) -print 2>/dev/null | while IFS= read -r f; do
		b="$2${f#"${1%/}"}"
		if [ -L "$f" ]; then
			if [ -L "$b" ] && [ "$(readlink "$b")" = "$(readlink "$f")" ]; then
				touch -h -m -r "$b" "$f"
			else
				touch -h -m -d "@$epoch" "$f"
			fi
		elif [ -d "$f" ]; then
			if [ -d "$b" ] && [ ! -L "$b" ]; then touch -m -r "$b" "$f"; else touch -m -d "@$epoch" "$f"; fi
		elif [ -f "$b" ] && [ ! -L "$b" ] && cmp -s "$b" "$f"; then
			touch -m -r "$b" "$f"
		else
			touch -m -d "@$epoch" "$f"
		fi
	done
}

# rewrite FILE: print FILE with every ORIGINAL of $DARN_REPO_MIRRORS (lines
# "ORIGINAL MIRROR") replaced by its MIRROR, literally, left to right. awk
# reads the pairs from ENVIRON, never from -v, which would expand backslash
# escapes: a value like 'http://m\nSigned-By:...' must stay one word.
rewrite() {
	awk '
		BEGIN { n = split(ENVIRON["DARN_REPO_MIRRORS"], l, "\n"); for (i = 1; i <= n; i++) { split(l[i], p, " "); o[i] = p[1]; r[i] = p[2] } }
		{ for (i = 1; i <= n; i++) { if (o[i] == "") continue; s = $0; out = ""
			while ((k = index(s, o[i])) > 0) { out = out substr(s, 1, k - 1) r[i]; s = substr(s, k + length(o[i])) }
			$0 = out s }
		  print }' "$1"
}
