# shellcheck shell=bash disable=SC2153 # SUITE, ARCH etc. come from up.sh/lib.sh
# The test bed's partial Debian mirror, sourced by up.sh: it uses up.sh's
# helpers and MIRROR, SECURITY_MIRROR (read from the machine's apt sources),
# SUITE, ARCH, ARCHIVE_KEYRING, ROOTFS_STATUS and cleanup_dirs.
#
# Below MIRROR_DIR ($CACHE/mirror, shared by the clones on the machine and
# served by each bed on http://127.0.0.1:PORT/):
#   debian/dists/{SUITE,SUITE-updates}/InRelease            upstream's, signed
#   debian-security/dists/SUITE-security/InRelease          upstream's, signed
#   .../main/binary-ARCH/Packages.xz, .../main/i18n/Translation-en.xz
#                 and the same files as .../by-hash/SHA256/<sha256>: the
#                 InRelease files say Acquire-By-Hash: yes, so apt asks for the
#                 by-hash names first (and would fall back to the plain ones)
#   debian/pool/..., debian-security/pool/...
#                 the .debs an `apt-get dist-upgrade` of the test image's
#                 rootfs downloads (its pending security updates, plus any new
#                 dependency), nothing else
#   tampered -> .tampered-<gen>/   the same archive, except that
#                 debian-security's main/binary-ARCH/Packages.xz (and its
#                 by-hash name) is altered: one Version line changed,
#                 recompressed and padded to the signed size, so apt reports a
#                 hash mismatch rather than a size mismatch
#   upgrades      "package installed-version new-version origin" per upgrade
#   debs          the pool paths the last refresh mirrored
#   .stamp        the inputs' key; its mtime is the last upstream check
#
# The mirror is checked against upstream at most once a day (sooner when an
# InRelease is about to pass its Valid-Until). Files are never rewritten in
# place: new by-hash files and .debs land first, InRelease files are renamed
# into place last, and the previous generation's files are kept until the
# next refresh, so a bed serving the tree while another clone refreshes it
# stays consistent.

MIRROR_LAYOUT=1

# mirror_suites prints "ARCHIVE UPSTREAM SUITE" for each mirrored suite. Apt
# fails `update` when any configured source fails, and the images' sources
# name all three.
mirror_suites() {
	printf '%s %s %s\n' debian "$MIRROR" "$SUITE" debian "$MIRROR" "$SUITE-updates" \
		debian-security "$SECURITY_MIRROR" "$SUITE-security"
}

mirror_upstream() {
	case $1 in
	debian) echo "$MIRROR" ;;
	debian-security) echo "$SECURITY_MIRROR" ;;
	*) die "mirror: unknown archive $1" ;;
	esac
}

# inrelease_files INRELEASE prints "SHA256 SIZE PATH" for each index file.
inrelease_files() {
	awk '/^SHA256:/ { s = 1; next } s && /^ / { print $1, $2, $3; next } { s = 0 }' "$1"
}

# inrelease_field INRELEASE FIELD prints a field of the Release paragraph.
inrelease_field() {
	awk -v f="$2" 'index($0, f ":") == 1 { sub(/^[^:]*:[ \t]*/, ""); print; exit } /^$/ && NR > 3 { exit }' "$1"
}

inrelease_epoch() {
	local d
	d=$(inrelease_field "$1" "$2")
	[[ -n $d ]] && date -d "$d" +%s
}

# mirror_fetch URL OUT [SHA256 SIZE] downloads URL next to OUT and renames it
# into place, after checking SHA256 and SIZE when given.
mirror_fetch() {
	local url=$1 out=$2 sha=${3:-} size=${4:-} tmp
	tmp=$(mktemp "$(dirname "$out")/.fetch.XXXXXX")
	if ! curl -fsSL --retry 2 --connect-timeout 15 --max-time 600 -o "$tmp" "$url" 2>"$tmp.err"; then
		log "mirror: $url: $(tail -n1 "$tmp.err")"
		rm -f "$tmp" "$tmp.err"
		return 1
	fi
	rm -f "$tmp.err"
	if [[ -n $size && $(stat -c %s "$tmp") != "$size" ]] ||
		[[ -n $sha && $(sha256sum <"$tmp" | cut -d' ' -f1) != "$sha" ]]; then
		log "mirror: $url: unexpected size or SHA256"
		rm -f "$tmp"
		return 1
	fi
	chmod 644 "$tmp"
	mv -f "$tmp" "$out"
}

mirror_key() {
	{
		echo "mirror layout $MIRROR_LAYOUT $SUITE $ARCH"
		mirror_suites
		sha256sum <"$ROOTFS_STATUS"
	} | sha256sum | cut -d' ' -f1
}

# mirror_complete succeeds when every file the bed serves is there.
mirror_complete() {
	local a base suite rel
	while read -r a base suite; do
		[[ -s $MIRROR_DIR/$a/dists/$suite/InRelease && -s $MIRROR_DIR/$a/dists/$suite/main/binary-$ARCH/Packages.xz ]] || return 1
	done < <(mirror_suites)
	[[ -s $MIRROR_DIR/upgrades && -f $MIRROR_DIR/debs && -d $MIRROR_DIR/tampered/debian-security ]] || return 1
	while read -r rel; do
		[[ -s $MIRROR_DIR/$rel ]] || return 1
	done <"$MIRROR_DIR/debs"
}

# mirror_fresh KEY succeeds when the mirror was built for KEY, checked within
# the last day, and no InRelease expires within the hour.
mirror_fresh() {
	local stamp="$MIRROR_DIR/.stamp" now a base suite vu
	[[ $(cat "$stamp" 2>/dev/null) == "$1" ]] || return 1
	now=$(date +%s)
	((now - $(stat -c %Y "$stamp") < 86400)) || return 1
	mirror_complete || return 1
	while read -r a base suite; do
		vu=$(inrelease_epoch "$MIRROR_DIR/$a/dists/$suite/InRelease" Valid-Until) || continue
		((vu > now + 3600)) || return 1
	done < <(mirror_suites)
}

load_mirror_upgrades() {
	MIRROR_UPGRADES=$(awk '$2 != "-" { printf "%s%s=%s", sep, $1, $3; sep = "," }' "$MIRROR_DIR/upgrades")
	[[ -n $MIRROR_UPGRADES ]] || log "warning: mirror: the test image has no pending upgrades (was the rootfs debootstrapped just after a point release?)"
}

# ensure_mirror brings MIRROR_DIR up to date (see the top of this file) and
# sets MIRROR_UPGRADES to "pkg=version,..." of the test image's upgrades.
ensure_mirror() {
	local key work stamp="$MIRROR_DIR/.stamp" changed='' failed='' a base suite new cur t0
	mkdir -p "$MIRROR_DIR"
	rootfs_status
	key=$(mirror_key)
	if mirror_fresh "$key"; then
		load_mirror_upgrades
		return 0
	fi
	t0=$(now_ms)
	prune_stale_mirror_work
	work=$(mktemp -d "$MIRROR_DIR/.work.XXXXXX")
	cleanup_dirs+=("$work")
	{ [[ $(cat "$stamp" 2>/dev/null) == "$key" ]] && mirror_complete; } || changed=1
	while read -r a base suite; do
		new="$work/$a.$suite.InRelease"
		cur="$MIRROR_DIR/$a/dists/$suite/InRelease"
		if ! mirror_fetch "$base/dists/$suite/InRelease" "$new"; then
			failed=1
			break
		fi
		gpgv --keyring "$ARCHIVE_KEYRING" "$new" >"$work/gpgv.log" 2>&1 ||
			die "mirror: $base/dists/$suite/InRelease: bad signature: $(grep -v '^gpgv: \(Signature made\|using\)' "$work/gpgv.log" | head -n2 | tr '\n' ' ')"
		if [[ -s $cur ]] && ! cmp -s "$new" "$cur" &&
			(($(inrelease_epoch "$new" Date) < $(inrelease_epoch "$cur" Date))); then
			log "mirror: upstream's $suite InRelease is older than ours (a lagging mirror?); keeping ours"
			cp "$cur" "$new"
		fi
		cmp -s "$new" "$cur" || changed=1
	done < <(mirror_suites)
	if [[ -n $failed ]]; then
		if [[ $(cat "$stamp" 2>/dev/null) == "$key" ]] && mirror_complete; then
			# Serve what we have; try upstream again in an hour.
			log "warning: mirror: upstream unreachable; serving the copy last checked $(date -r "$stamp" '+%F %R %Z')"
			touch -d '-23 hours' "$stamp"
			load_mirror_upgrades
			return 0
		fi
		die "mirror: cannot download the $SUITE InRelease files from $MIRROR and $SECURITY_MIRROR"
	fi
	if [[ -z $changed ]]; then
		touch "$stamp"
		log "mirror: upstream unchanged since the last check"
		load_mirror_upgrades
		return 0
	fi
	while read -r a base suite; do
		mirror_indices "$a" "$base" "$suite" "$work/$a.$suite.InRelease"
	done < <(mirror_suites)
	mirror_closure "$work"
	mirror_fetch_debs "$work"
	mirror_publish "$work"
	mirror_make_tampered
	echo "$key" >"$work/stamp"
	mv -f "$work/stamp" "$stamp"
	safe_rm_tree "$work"
	load_mirror_upgrades
	log "mirror: refreshed $MIRROR_DIR in $(elapsed "$t0"): $(wc -l <"$MIRROR_DIR/upgrades") upgrades, $(wc -l <"$MIRROR_DIR/debs") .debs ($(du -shL "$MIRROR_DIR" | cut -f1))"
}

# prune_stale_mirror_work removes work directories a killed up.sh left.
prune_stale_mirror_work() {
	local d
	while read -r d; do
		safe_rm_tree "$d"
	done < <(find "$MIRROR_DIR" -mindepth 1 -maxdepth 1 -name '.work.*' -mmin +120)
}

# mirror_indices ARCHIVE UPSTREAM SUITE INRELEASE fetches the index files apt
# reads for main on ARCH (Packages, Translation-en; xz) that INRELEASE lists,
# under their by-hash names, and hard-links the plain names to them.
mirror_indices() {
	local a=$1 base=$2 suite=$3 ir=$4 target sha size path dir blob tmp
	for target in "main/binary-$ARCH/Packages" main/i18n/Translation-en; do
		path=$target.xz
		read -r sha size < <(inrelease_files "$ir" | awk -v p="$path" '$3 == p { print $1, $2; exit }') || true
		if [[ -z $sha ]]; then
			[[ $target != */Packages ]] || die "mirror: $base/dists/$suite/InRelease lists no $path"
			continue
		fi
		dir="$MIRROR_DIR/$a/dists/$suite/${path%/*}"
		blob="$dir/by-hash/SHA256/$sha"
		if [[ ! -f $blob || $(stat -c %s "$blob") != "$size" ]]; then
			mkdir -p "${blob%/*}"
			mirror_fetch "$base/dists/$suite/${path%/*}/by-hash/SHA256/$sha" "$blob" "$sha" "$size" ||
				mirror_fetch "$base/dists/$suite/$path" "$blob" "$sha" "$size" ||
				die "mirror: cannot download $base/dists/$suite/$path"
		fi
		# rename(2) is a no-op when both names are links to one file.
		[[ $blob -ef $dir/${path##*/} ]] && continue
		tmp="$dir/.${path##*/}.$$"
		ln -f "$blob" "$tmp"
		mv -f "$tmp" "$dir/${path##*/}"
	done
}

# mirror_closure WORK runs the host's apt, isolated from the host's own
# configuration, on the test image's dpkg status against a file: view of the
# new InRelease files and indices (apt checks the signatures and hashes), and
# writes WORK/upgrades (see the top) and WORK/debs.new ("PATH SHA256 SIZE" of
# each .deb a dist-upgrade downloads).
mirror_closure() {
	local work=$1 view="$1/view" a base suite logfile="$1/apt.log" rc=0
	mkdir -p "$view"/etc/{sources.list.d,apt.conf.d,preferences.d,trusted.gpg.d} \
		"$view"/state/lists/partial "$view"/cache/archives/partial "$view"/log
	while read -r a base suite; do
		mkdir -p "$view/$a/dists/$suite"
		ln "$work/$a.$suite.InRelease" "$view/$a/dists/$suite/InRelease"
		ln -s "$MIRROR_DIR/$a/dists/$suite/main" "$view/$a/dists/$suite/main"
	done < <(mirror_suites)
	debian_sources "file:$view/debian" "file:$view/debian-security" >"$view/etc/sources.list.d/debian.sources"
	cat >"$view/apt.conf" <<-EOF
		Dir::Etc "$view/etc";
		Dir::Etc::Parts "$view/etc/apt.conf.d";
		Dir::State "$view/state";
		Dir::State::status "$ROOTFS_STATUS";
		Dir::Cache "$view/cache";
		Dir::Log "$view/log";
		Debug::NoLocking "true";
		APT::Sandbox::User "root";
		APT::Architecture "$ARCH";
		APT::Architectures { "$ARCH"; };
		Acquire::Languages "none";
	EOF
	{
		APT_CONFIG="$view/apt.conf" apt-get -q update &&
			APT_CONFIG="$view/apt.conf" apt-get -q -s dist-upgrade >"$work/sim" &&
			APT_CONFIG="$view/apt.conf" apt-get -qq -y --print-uris dist-upgrade >"$work/uris"
	} >"$logfile" 2>&1 </dev/null || rc=$?
	if ((rc != 0)) || grep -q '^[WE]:' "$logfile"; then
		log_tail "$logfile"
		die "mirror: apt rejected the new indices (log above)"
	fi
	# Inst libzstd1 [1.5.4+dfsg2-5] (1.5.4+dfsg2-5+deb12u1 Debian-Security:12/oldstable-security [amd64])
	awk '$1 == "Inst" {
		old = "-"; i = 3
		if ($3 ~ /^\[/) { old = $3; gsub(/[][]/, "", old); i = 4 }
		new = $i; sub(/^\(/, "", new); origin = $(i + 1); sub(/,$/, "", origin)
		print $2, old, new, origin
	}' "$work/sim" >"$work/upgrades"
	# 'file:/…/view/debian-security/pool/…/x_1%2b2_amd64.deb' x_1+2_amd64.deb 1234
	# (URL-encoded, and with no hash for file: URIs: that comes from the
	# Packages indices apt just read).
	awk -v view="$view/" -v q="'" '
		function unescape(s,   out, i, c) {
			out = ""
			for (i = 1; i <= length(s); i++) {
				c = substr(s, i, 1)
				if (c == "%" && i + 2 <= length(s)) {
					c = sprintf("%c", 16 * hex(substr(s, i + 1, 1)) + hex(substr(s, i + 2, 1))); i += 2
				}
				out = out c
			}
			return out
		}
		function hex(c) { return index("0123456789abcdef", tolower(c)) - 1 }
		{
			u = $1; gsub(q, "", u); sub(/^file:(\/\/)?/, "", u); u = unescape(u)
			if (index(u, view) != 1) { print "unexpected: " $0 > "/dev/stderr"; bad = 1; next }
			print substr(u, length(view) + 1), $3
		}
		END { exit bad }' "$work/uris" >"$work/debs.wanted" || die "mirror: cannot parse apt's --print-uris output ($work/uris)"
	awk 'NR == FNR { p = $1; sub(/^[^\/]*\//, "", p); want[p] = $1; size[p] = $2; next }
		/^Filename: / { fn = $2 }
		/^SHA256: / { sha = $2 }
		/^$/ { fn = sha = "" }
		fn != "" && sha != "" && (fn in want) {
			print want[fn], sha, size[fn]; delete want[fn]; fn = sha = ""
		}
		END { for (p in want) { print "no SHA256 for " want[p] > "/dev/stderr"; bad = 1 } exit bad }' \
		"$work/debs.wanted" "$view"/state/lists/*_Packages >"$work/debs.new" ||
		die "mirror: cannot find the .debs' hashes in the indices"
}

mirror_fetch_debs() {
	local work=$1 rel sha size out
	while read -r rel sha size; do
		out="$MIRROR_DIR/$rel"
		[[ -f $out && $(stat -c %s "$out") == "$size" ]] && continue
		mkdir -p "${out%/*}"
		mirror_fetch "$(mirror_upstream "${rel%%/*}")/${rel#*/}" "$out" "$sha" "$size" ||
			die "mirror: cannot download ${rel##*/}"
	done <"$work/debs.new"
}

# mirror_publish WORK renames the new InRelease files into place, then drops
# by-hash files and .debs that neither the new nor the previous generation
# uses.
mirror_publish() {
	local work=$1 a base suite cur f sha
	local -A keep=()
	while read -r a base suite; do
		cur="$MIRROR_DIR/$a/dists/$suite/InRelease"
		for f in "$cur" "$work/$a.$suite.InRelease"; do
			[[ -s $f ]] || continue
			while read -r sha _; do keep[$sha]=1; done < <(inrelease_files "$f")
		done
		chmod 644 "$work/$a.$suite.InRelease"
		mv -f "$work/$a.$suite.InRelease" "$cur"
	done < <(mirror_suites)
	while read -r f; do
		[[ -n ${keep[${f##*/}]:-} ]] || rm -f "$f"
	done < <(find "$MIRROR_DIR/debian" "$MIRROR_DIR/debian-security" -path '*/by-hash/SHA256/*' -type f ! -name '.*')
	keep=()
	while read -r f _; do keep[$f]=1; done < <(cat "$MIRROR_DIR/debs" "$work/debs.new" 2>/dev/null)
	while read -r f; do
		[[ -n ${keep[${f#"$MIRROR_DIR"/}]:-} ]] || rm -f "$f"
	done < <(find "$MIRROR_DIR"/debian*/pool -type f -name '*.deb' 2>/dev/null)
	find "$MIRROR_DIR"/debian*/pool -mindepth 1 -type d -empty -delete 2>/dev/null || true
	cut -d' ' -f1 "$work/debs.new" >"$work/debs"
	mv -f "$work/debs" "$MIRROR_DIR/debs"
	mv -f "$work/upgrades" "$MIRROR_DIR/upgrades"
}

# tamper_xz IN OUT SIZE writes IN's content with one Version line changed,
# xz-compressed and padded with zeros (xz stream padding, still a valid .xz)
# to SIZE bytes, so that only the hash gives it away.
tamper_xz() {
	local in=$1 out=$2 size=$3 i n
	for ((i = 1; i <= 20; i++)); do
		xz -dc "$in" | awk -v n="$i" '!done && /^Version: .*[0-9]$/ && ++k == n {
			c = substr($0, length($0)); $0 = substr($0, 1, length($0) - 1) (c + 1) % 10; done = 1
		} { print }' | xz -9e -T1 -c >"$out"
		n=$(stat -c %s "$out")
		if ((n <= size && (size - n) % 4 == 0)); then
			head -c $((size - n)) /dev/zero >>"$out"
			chmod 644 "$out"
			return 0
		fi
	done
	die "mirror: cannot make a tampered ${in##*/} of $size bytes"
}

# mirror_make_tampered builds the tampered tree for the current security
# InRelease (hard links, apart from the altered index) and points the
# `tampered` symlink at it.
mirror_make_tampered() {
	local src="$MIRROR_DIR/debian-security/dists/$SUITE-security" path gen t old sha size d x
	path="main/binary-$ARCH/Packages.xz"
	gen=$(sha256sum <"$src/InRelease" | cut -c1-16)
	t="$MIRROR_DIR/.tampered-$gen"
	old=$(readlink "$MIRROR_DIR/tampered" 2>/dev/null || true)
	[[ $old == ".tampered-$gen" && -f $t/debian-security/dists/$SUITE-security/$path ]] && return 0
	safe_rm_tree "$t"
	mkdir -p "$t/debian-security/dists"
	ln -s ../debian "$t/debian"
	ln -s ../../debian-security/pool "$t/debian-security/pool"
	cp -al "$src" "$t/debian-security/dists/"
	read -r sha size < <(inrelease_files "$src/InRelease" | awk -v p="$path" '$3 == p { print $1, $2; exit }')
	d="$t/debian-security/dists/$SUITE-security/${path%/*}"
	tamper_xz "$src/$path" "$d/.tampered" "$size"
	rm -f "$d/Packages.xz" "$d/by-hash/SHA256/$sha"
	ln "$d/.tampered" "$d/by-hash/SHA256/$sha"
	mv -f "$d/.tampered" "$d/Packages.xz"
	ln -sfn ".tampered-$gen" "$MIRROR_DIR/.tampered.new"
	mv -fT "$MIRROR_DIR/.tampered.new" "$MIRROR_DIR/tampered"
	for x in "$MIRROR_DIR"/.tampered-*; do
		[[ ${x##*/} == ".tampered-$gen" || ${x##*/} == "$old" ]] || safe_rm_tree "$x"
	done
}

mirror_up() {
	curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1/debian-security/dists/$SUITE-security/InRelease"
}

# ensure_mirror_server serves MIRROR_DIR on 127.0.0.1 (a port of its own per
# bed; the same port again when it is free) and sets MIRROR_PORT.
ensure_mirror_server() {
	local port prev attempt rc
	[[ -x $MIRROR_HTTP_BIN ]] || die "$MIRROR_HTTP_BIN not found (apt package python3)"
	prev=$(cat "$MIRROR_PORTFILE" 2>/dev/null || true)
	if [[ -n $prev ]] && pid_matches "$MIRROR_PIDFILE" http.server "$MIRROR_DIR" && mirror_up "$prev"; then
		MIRROR_PORT=$prev
		log "mirror: reusing pid $(<"$MIRROR_PIDFILE") on 127.0.0.1:$MIRROR_PORT"
		return 0
	fi
	stop_pidfile mirror "$MIRROR_PIDFILE" http.server "$MIRROR_DIR"
	for attempt in 1 2 3; do
		port=$(free_port "$prev")
		start_daemon "$MIRROR_PIDFILE" "$MIRROR_LOG" "$MIRROR_HTTP_BIN" -m http.server \
			--bind 127.0.0.1 --directory "$MIRROR_DIR" "$port"
		rc=0
		wait_until 20 "$MIRROR_PIDFILE" mirror_up "$port" || rc=$?
		if ((rc == 0)) && pid_matches "$MIRROR_PIDFILE" http.server "$MIRROR_DIR"; then
			MIRROR_PORT=$port
			echo "$port" >"$MIRROR_PORTFILE"
			log "mirror: serving $MIRROR_DIR on 127.0.0.1:$port (pid $(<"$MIRROR_PIDFILE"))"
			return 0
		fi
		stop_pidfile mirror "$MIRROR_PIDFILE" http.server "$MIRROR_DIR"
		log "mirror: port $port did not work (attempt $attempt)"
		prev=
	done
	log_tail "$MIRROR_LOG"
	die "mirror: http.server could not start (log: $MIRROR_LOG)"
}

# check_mirror proves, once per port, mirror generation and offline image,
# that apt in a container of the offline image updates from the mirror (with
# signature checks), downloads the upgrades, and rejects the tampered copy.
check_mirror() {
	local dir="$STATE/mirror-check" logfile="$STATE/mirror-check.log" key url t0 pkgs=() err
	key="$MIRROR_PORT $OFFLINE_IMAGE@${VARIANT_DIGEST[offline]} $(sha256sum <"$MIRROR_DIR/upgrades" | cut -c1-16)"
	key+=" $(cat "$MIRROR_DIR"/debian*/dists/*/InRelease | sha256sum | cut -c1-16) $(sha256sum <"$TESTBED_DIR/mirror-check.sh" | cut -c1-16)"
	[[ $(cat "$STATE/mirror.check-ok" 2>/dev/null) == "$key" ]] && return 0
	t0=$(now_ms)
	url="http://127.0.0.1:$MIRROR_PORT"
	[[ -z $MIRROR_UPGRADES ]] || IFS=, read -ra pkgs <<<"$MIRROR_UPGRADES"
	safe_rm_tree "$dir"
	mkdir -p "$dir"
	cp "$TESTBED_DIR/mirror-check.sh" "$dir/"
	{
		printf 'FROM %s\n' "$OFFLINE_IMAGE@${VARIANT_DIGEST[offline]}"
		printf 'COPY mirror-check.sh /tmp/\n'
		printf 'RUN ["/bin/sh", "/tmp/mirror-check.sh", "%s", "%s"' "$url" "$url/tampered"
		((${#pkgs[@]} == 0)) || printf ', "%s"' "${pkgs[@]}"
		printf ']\n'
	} >"$dir/Dockerfile"
	if ! "$BUILDCTL_BIN" --addr "$BUILDKIT_ADDR" build --progress plain --no-cache \
		--frontend dockerfile.v0 --local context="$dir" --local dockerfile="$dir" >"$logfile" 2>&1; then
		log_tail "$logfile" 60
		die "mirror: apt in the offline image did not behave as expected (log: $logfile)"
	fi
	echo "$key" >"$STATE/mirror.check-ok"
	err=$(grep -m1 -o 'E: Failed to fetch .*Hash Sum mismatch' "$logfile" | sed 's|http://127\.0\.0\.1:[0-9]*/|/|' || true)
	log "mirror: offline image: apt update + download of ${#pkgs[@]} upgrades OK; tampered copy refused (${err:-?}) in $(elapsed "$t0")"
}
