# darn: patch an image without a package manager from a tooling image of the
# same release. Arguments: NAME=MINVERSION ... The target root is mounted
# read-write at $DARN_TARGET and read-only, untouched, at $DARN_BASE.
#
# apt downloads exactly the planned packages (their hashes checked against
# the signed indexes); their files are unpacked into the target and its
# package database is updated. No maintainer script runs: the target has no
# shell to run one, and what they do for libraries and data packages
# (ldconfig triggers, tzdata's debconf questions) does not apply to it.
target=${DARN_TARGET:?}
base=${DARN_BASE:?}
db=$target/var/lib/dpkg

update_indexes
specs=$(pin "$@")
if [ -z "$specs" ]; then
	echo "darn: nothing left to install"
	exit 0
fi
echo "darn: unpacking$specs into the target"
mkdir -p /tmp/debs
# apt downloads as its sandbox user when it can write there.
chown _apt /tmp/debs 2>/dev/null || true
cd /tmp/debs
# shellcheck disable=SC2086 # specs holds separate words by design
apt download $specs

# stanza DEB: the package's control fields as a database entry; with
# STATUS set, the Status line dpkg writes comes second, as dpkg puts it.
stanza() {
	dpkg-deb -f "$1" | awk -v st="$2" 'NR == 1 && st != "" { print; print "Status: install ok installed"; next } { print }'
}

# record_statusd DEB NAME: rewrite NAME's entry in status.d (distroless
# layout: a file NAME with a NAME.md5sums sidecar, or in newer builds a
# directory NAME holding control and md5sums).
record_statusd() {
	if [ -d "$db/status.d/$2" ]; then
		f=$db/status.d/$2/control
		sums=$db/status.d/$2/md5sums
	else
		f=$(grep -l -x "Package: $2" "$db"/status.d/* 2>/dev/null | grep -v '\.md5sums$' | head -n 1 || true)
		[ -n "$f" ] || f=$db/status.d/$2
		sums=$f.md5sums
	fi
	st=""
	! grep -q '^Status:' "$f" 2>/dev/null || st=yes
	stanza "$1" "$st" >"$f.darn-new"
	mv "$f.darn-new" "$f"
	if dpkg-deb --ctrl-tarfile "$1" | tar -xOf - ./md5sums >"$sums" 2>/dev/null; then :; else rm -f "$sums"; fi
}

# record_status DEB NAME: replace NAME's entry in a plain status file.
record_status() {
	stanza "$1" yes >/tmp/darn-stanza
	awk -v name="$2" -v file=/tmp/darn-stanza '
		BEGIN { RS = ""; ORS = "\n\n"; while ((getline l < file) > 0) s = s (s == "" ? "" : "\n") l }
		{ n = split($0, L, "\n"); hit = 0; for (i = 1; i <= n; i++) if (L[i] == "Package: " name) hit = 1
		  print (hit ? s : $0) }' "$db/status" >/tmp/darn-status
	cat /tmp/darn-status >"$db/status"
}

for deb in /tmp/debs/*.deb; do
	name=$(dpkg-deb -f "$deb" Package)
	stage=/tmp/stage/$name
	mkdir -p "$stage"
	dpkg-deb -x "$deb" "$stage"
	# Images without a package manager carry no documentation but licences.
	rm -rf "$stage/usr/share/man" "$stage/usr/share/info" "$stage/usr/share/lintian"
	[ ! -d "$stage/usr/share/doc" ] || find "$stage/usr/share/doc" -type f ! -name copyright -delete
	# Keep the target's directory symlinks (merged /usr) and directories.
	tar -C "$stage" -cf - . | tar -C "$target" -xpf - --keep-directory-symlink --no-overwrite-dir
	if [ -d "$db/status.d" ]; then
		record_statusd "$deb" "$name"
	else
		record_status "$deb" "$name"
	fi
done

restore_times "$target" "$base"
