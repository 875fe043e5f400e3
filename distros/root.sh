# shellcheck shell=sh
# darn: shell functions that write into an image's root from outside it
# (prepended to unpack.sh). The root belongs to an image darn does not
# trust: any of its paths may be a symlink planted to lead elsewhere. Every
# path is therefore resolved inside the root the way the image itself
# resolves it (an absolute link starts again at the image's root, ".."
# stops there), and every file is replaced by rename, never written through
# whatever already stands at its name.

# die MESSAGE: fail the step with a message naming what was refused.
die() {
	echo "darn: $*" >&2
	exit 102
}

# resolve_in_root ROOT PATH: print PATH (relative, without a leading slash)
# resolved inside ROOT, with no symlink left in it, as the image would
# resolve it. Nothing here asks the kernel to follow a link: an absolute
# link would lead into this container instead of the image. Fails, naming
# PATH, on a symlink loop, on a non-directory in the middle of the path,
# and on a symlink whose target the image lacks.
resolve_in_root() {
	_root=$1 _rest=$2 _out='' _hops=0 _linked=0
	while [ -n "$_rest" ]; do
		_c=${_rest%%/*}
		case $_rest in */*) _rest=${_rest#*/} ;; *) _rest='' ;; esac
		# _linked counts the components at the front of _rest that come
		# from a link's target rather than from PATH.
		_fromlink=$_linked
		[ "$_linked" -eq 0 ] || _linked=$((_linked - 1))
		case $_c in
		'' | .) continue ;;
		..)
			case $_out in */*) _out=${_out%/*} ;; *) _out='' ;; esac
			continue
			;;
		esac
		_p=$_root/${_out:+$_out/}$_c
		if [ -L "$_p" ]; then
			_hops=$((_hops + 1))
			[ "$_hops" -le 40 ] || die "refusing /$2: too many levels of symbolic links in the image"
			_l=$(readlink -- "$_p")
			_link=/${_out:+$_out/}$_c _target=$_l
			[ -n "$_l" ] || die "refusing /$2: $_link is an empty symlink"
			case $_l in /*) _out='' ;; esac
			_rest=$_l${_rest:+/$_rest}
			_linked=$((_linked + $(components "$_l")))
			continue
		fi
		if [ ! -e "$_p" ] && [ "$_fromlink" -gt 0 ]; then
			die "refusing /$2: $_link is a symlink to $_target, and the image has no /${_out:+$_out/}$_c"
		fi
		if [ -e "$_p" ] && [ ! -d "$_p" ] && [ -n "$_rest" ]; then
			die "refusing /$2: /${_out:+$_out/}$_c is not a directory in the image"
		fi
		_out=${_out:+$_out/}$_c
	done
	printf '%s\n' "$_out"
}

# components PATH: print the number of /-separated parts of PATH, empty
# ones included, as resolve_in_root consumes them.
components() {
	_t=$1 _k=1
	while :; do
		case $_t in */*) _t=${_t#*/} _k=$((_k + 1)) ;; *) break ;; esac
	done
	echo "$_k"
}

# put_file ROOT PATH: write standard input to PATH inside ROOT. PATH's
# directory is resolved inside ROOT; the new file is written beside the
# old one and renamed over it, so a symlink standing at PATH is replaced,
# never written through.
put_file() {
	_pd=$(resolve_in_root "$1" "$(dirname -- "$2")") || exit
	_pf=$1/${_pd:+$_pd/}${2##*/}
	rm -f -- "$_pf.darn-new" || die "refusing /$2: cannot clear /$2.darn-new in the image"
	(
		set -C
		cat >"$_pf.darn-new"
	)
	mv -fT -- "$_pf.darn-new" "$_pf" || die "refusing /$2: cannot replace it in the image"
}

# place_tree STAGE ROOT: copy the unpacked package tree STAGE into ROOT.
# Each directory is resolved inside ROOT, so a package's /lib lands where
# the image's own /lib link leads (dpkg keeps such links too); files and
# symlinks replace whatever stands at their resolved name.
place_tree() {
	if find "$1" -name '*
*' | grep -q .; then
		die "refusing a package file name with a newline in it"
	fi
	# The loop runs in a subshell: its exit status is place_tree's.
	(cd "$1" && find . -type d) | LC_ALL=C sort | while IFS= read -r _d; do
		_d=${_d#.}
		_d=${_d#/}
		_r=$(resolve_in_root "$2" "$_d") || exit
		_to=$2${_r:+/$_r}
		if [ ! -e "$_to" ]; then
			# No symlink is left in _r: mkdir -p creates real directories.
			mkdir -p -- "$_to"
			chmod --reference="$1/$_d" -- "$_to"
			chown --reference="$1/$_d" -- "$_to"
		elif [ ! -d "$_to" ]; then
			die "refusing /$_d: the image has a file where the package has a directory"
		fi
		find "$1/$_d" -mindepth 1 -maxdepth 1 ! -type d -exec cp -a --remove-destination -t "$_to" -- {} + ||
			die "refusing /$_d: cannot put the package's files there"
	done
}

# stanza DEB [STATUS]: the package's control fields as a database entry;
# with STATUS set, the Status line dpkg writes comes second, as dpkg puts
# it. awk reads STATUS from ENVIRON: -v would expand escapes.
stanza() {
	dpkg-deb -f "$1" | DARN_ST=${2:-} awk 'NR == 1 && ENVIRON["DARN_ST"] != "" { print; print "Status: install ok installed"; next } { print }'
}

# is_file PATH: PATH is a regular file, not a symlink to one.
is_file() {
	[ -f "$1" ] && [ ! -L "$1" ]
}

# statusd_entry ROOT SD NAME: print the path (inside ROOT) of NAME's entry
# in the status.d directory SD: a directory NAME holding control (newer
# distroless builds), else the regular file whose stanza is NAME's, else
# SD/NAME. Symlinks are never read: they could lead out of the image.
statusd_entry() {
	if [ -d "$1/$2/$3" ] && [ ! -L "$1/$2/$3" ]; then
		echo "$2/$3/control"
		return
	fi
	for _e in "$1/$2"/*; do
		case $_e in *.md5sums) continue ;; esac
		if is_file "$_e" && grep -q -F -x "Package: $3" "$_e"; then
			echo "$2/${_e##*/}"
			return
		fi
	done
	echo "$2/$3"
}

# record_statusd ROOT SD DEB NAME: rewrite NAME's entry in the status.d
# directory SD (a path inside ROOT) from the package DEB, with its
# md5sums beside it (NAME.md5sums, or NAME/md5sums).
record_statusd() {
	_ctl=$(statusd_entry "$1" "$2" "$4") || exit
	case $_ctl in */control) _sums=${_ctl%/control}/md5sums ;; *) _sums=$_ctl.md5sums ;; esac
	_st=''
	if is_file "$1/$_ctl" && grep -q '^Status:' "$1/$_ctl"; then _st=yes; fi
	stanza "$3" "$_st" | put_file "$1" "$_ctl"
	if dpkg-deb --ctrl-tarfile "$3" | tar -xOf - ./md5sums >"${TMPDIR:-/tmp}/darn-sums" 2>/dev/null; then
		put_file "$1" "$_sums" <"${TMPDIR:-/tmp}/darn-sums"
	else
		_sd=$(resolve_in_root "$1" "$(dirname -- "$_sums")") || exit
		rm -f -- "$1/${_sd:+$_sd/}${_sums##*/}"
	fi
}

# record_status ROOT STATUS DEB NAME: replace NAME's entry in the plain
# status file STATUS (a path inside ROOT, with no symlink in it).
record_status() {
	stanza "$3" yes >"${TMPDIR:-/tmp}/darn-stanza"
	is_file "$1/$2" || die "refusing /$2: not a regular file in the image"
	DARN_NAME=$4 DARN_STANZA="${TMPDIR:-/tmp}/darn-stanza" awk '
		BEGIN { RS = ""; ORS = "\n\n"; while ((getline l < ENVIRON["DARN_STANZA"]) > 0) s = s (s == "" ? "" : "\n") l }
		{ n = split($0, L, "\n"); hit = 0; for (i = 1; i <= n; i++) if (L[i] == "Package: " ENVIRON["DARN_NAME"]) hit = 1
		  print (hit ? s : $0) }' "$1/$2" | put_file "$1" "$2"
}
