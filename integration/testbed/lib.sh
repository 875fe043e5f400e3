# shellcheck shell=bash disable=SC2034 # the paths below are used by up.sh/down.sh
# Shared helpers for the darn integration test bed (sourced by up.sh and
# down.sh). Nothing here starts or stops anything on its own.

# ROOT is the repository root; STATE is per clone, CACHE is per machine/user
# and survives fresh clones (CI clones afresh every run).
TESTBED_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$TESTBED_DIR/../.." && pwd)
STATE="$ROOT/.testbed"
CACHE="${DARN_TESTBED_CACHE:-${HOME:?HOME is not set}/.cache/darn-testbed}"
SUITE="${DARN_TESTBED_SUITE:-bookworm}"

REGISTRY_PIDFILE="$STATE/registry.pid"
REGISTRY_PORTFILE="$STATE/registry.port"
REGISTRY_CONFIG="$STATE/registry.yml"
REGISTRY_LOG="$STATE/registry.log"
REGISTRY_BIN=/usr/bin/docker-registry

BUILDKITD_PIDFILE="$STATE/buildkitd.pid"
BUILDKITD_CONFIG="$STATE/buildkitd.toml"
BUILDKITD_LOG="$STATE/buildkitd.log"
BUILDKITD_SOCK="$STATE/buildkitd.sock"
BUILDKITD_ROOT="$STATE/buildkit"
BUILDKITD_BIN="$ROOT/bin/buildkitd"
BUILDCTL_BIN="$ROOT/bin/buildctl"
BUILDKIT_ADDR="unix://$BUILDKITD_SOCK"

# buildx (bin/buildx from tools/go.mod) doubles as the Docker CLI plugin; the
# bed registers a `remote` builder on its buildkitd under BUILDX_BUILDER.
BUILDX_BIN="$ROOT/bin/buildx"
BUILDX_PLUGIN="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins/docker-buildx"
BUILDX_BUILDER="${DARN_BUILDX_BUILDER:-darn-testbed}"
# Where buildx keeps its builders. A client with another DOCKER_CONFIG (tests
# use temporary ones) finds the builder only with BUILDX_CONFIG set to this.
BUILDX_STATE_DIR="${BUILDX_CONFIG:-${DOCKER_CONFIG:-$HOME/.docker}/buildx}"

# A Docker Engine (Debian's docker.io, 20.10 on bookworm) of our own: its own
# data and exec roots, socket and config; it spawns its own containerd, whose
# socket, state and pidfile end up below DOCKERD_EXEC/containerd.
DOCKERD_ENABLED="${DARN_TESTBED_DOCKERD:-1}"
DOCKERD_BIN=/usr/sbin/dockerd
# tini -s runs dockerd as a child subreaper: containerd shims are orphaned
# when a container exits, and this VM's pid 1 does not reap them.
TINI_BIN=/usr/bin/tini
DOCKERD_DIR="$STATE/docker"
DOCKERD_ROOT="$DOCKERD_DIR/root"
DOCKERD_EXEC="$DOCKERD_DIR/exec"
DOCKERD_CONFIG="$DOCKERD_DIR/daemon.json"
DOCKERD_PIDFILE="$STATE/dockerd.pid" # tini's pid when it runs under tini
DOCKERD_LOG="$STATE/dockerd.log"
DOCKERD_SOCK="$STATE/docker.sock"
DOCKER_ADDR="unix://$DOCKERD_SOCK"
CONTAINERD_SOCK="$DOCKERD_EXEC/containerd/containerd.sock"

# A partial copy of the Debian archive (signed InRelease files, indices, and
# the .debs of the test image's pending updates) lives in the cache, shared by
# the clones on the machine; each bed serves it on 127.0.0.1 with Python's
# http.server (see mirror.sh).
MIRROR_DIR="$CACHE/mirror"
MIRROR_PIDFILE="$STATE/mirror.pid"
MIRROR_PORTFILE="$STATE/mirror.port"
MIRROR_LOG="$STATE/mirror.log"
MIRROR_HTTP_BIN=/usr/bin/python3

log() { printf 'testbed: %s\n' "$*" >&2; }
die() { printf 'testbed: error: %s\n' "$*" >&2; exit 1; }

# log_tail FILE prints the end of a daemon log to stderr, for error messages.
log_tail() {
	[[ -f $1 ]] || return 0
	printf -- '--- last lines of %s ---\n' "$1" >&2
	tail -n "${2:-30}" "$1" >&2
	printf -- '---\n' >&2
}

# now_ms prints a monotonic-enough wall clock in milliseconds for timings.
now_ms() { date +%s%3N; }

# pid_matches PIDFILE WORD... succeeds when the pidfile names a live process
# whose command line contains every WORD. It is the only test used before
# signalling a process, so a recycled pid is never killed by mistake.
pid_matches() {
	local pidfile=$1 pid cmdline w
	shift
	[[ -s $pidfile ]] || return 1
	pid=$(<"$pidfile")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ -r /proc/$pid/cmdline ]] || return 1
	cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
	for w in "$@"; do
		[[ $cmdline == *"$w"* ]] || return 1
	done
}

# stop_pidfile NAME PIDFILE WORD... stops the process named by PIDFILE if its
# command line still matches: SIGTERM, again after 10s, SIGKILL after 15s.
stop_pidfile() {
	local name=$1 pidfile=$2 pid i
	shift 2
	if ! pid_matches "$pidfile" "$@"; then
		[[ -e $pidfile ]] && log "$name: no matching process for $(<"$pidfile"), removing stale pidfile"
		rm -f "$pidfile"
		return 0
	fi
	pid=$(<"$pidfile")
	log "$name: stopping pid $pid"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 150; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		# buildkitd cancels builds on the first SIGTERM but waits for its
		# RPCs; a second one skips that wait.
		((i != 100)) || kill -TERM "$pid" 2>/dev/null || true
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "$name: pid $pid ignored SIGTERM, sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		sleep 0.5
	fi
	rm -f "$pidfile"
}

# wait_until SECONDS PIDFILE CMD... polls CMD until it succeeds. It returns 0
# when ready, 1 if the process behind PIDFILE died, 2 on timeout.
wait_until() {
	local timeout=$1 pidfile=$2 deadline pid
	shift 2
	pid=$(<"$pidfile")
	deadline=$((SECONDS + timeout))
	until "$@" >/dev/null 2>&1; do
		kill -0 "$pid" 2>/dev/null || return 1
		((SECONDS < deadline)) || return 2
		sleep 0.2
	done
}

# wait_for SECONDS PIDFILE LOG DESC CMD... is wait_until that dies with the
# daemon's log tail when it is not ready.
wait_for() {
	local timeout=$1 pidfile=$2 logfile=$3 desc=$4 rc=0
	shift 4
	wait_until "$timeout" "$pidfile" "$@" || rc=$?
	case $rc in
	0) return 0 ;;
	1) log_tail "$logfile"; die "$desc: process $(<"$pidfile") exited (log: $logfile)" ;;
	*) log_tail "$logfile"; die "$desc: not ready after ${timeout}s (log: $logfile)" ;;
	esac
}

# port_free PORT succeeds when nothing listens on 127.0.0.1:PORT.
port_free() {
	local port=$1
	if command -v ss >/dev/null 2>&1; then
		[[ -z $(ss -Hltn "sport = :$port" 2>/dev/null) ]]
	else
		! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
	fi
}

# free_port [PREFERRED] prints PREFERRED if it is free, else a random free
# port from a range away from the usual ephemeral and well-known ports. The
# caller still checks that its daemon bound the port (there is a tiny race).
free_port() {
	local preferred=${1:-} port i
	if [[ $preferred =~ ^[0-9]+$ ]] && port_free "$preferred"; then
		echo "$preferred"
		return 0
	fi
	for ((i = 0; i < 200; i++)); do
		port=$((20000 + RANDOM % 12000))
		if port_free "$port"; then
			echo "$port"
			return 0
		fi
	done
	die "no free TCP port found on 127.0.0.1"
}

# apt_source_entries prints "URI SUITE" for every enabled `deb` entry in the
# machine's apt configuration (deb822 .sources and one-line .list files).
apt_source_entries() {
	local f
	shopt -s nullglob
	for f in /etc/apt/sources.list.d/*.sources; do
		awk '
			function flush() {
				if (types ~ /(^| )deb( |$)/ && enabled !~ /^(no|false)$/) {
					nu = split(uris, U, " "); ns = split(suites, S, " ")
					for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++) print U[i], S[j]
				}
				types = uris = suites = enabled = ""; key = ""
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			/^[ \t]/ { val = $0; sub(/^[ \t]+/, "", val)
				if (key == "uris") uris = uris " " val
				else if (key == "suites") suites = suites " " val
				next }
			{
				key = tolower($0); sub(/:.*/, "", key)
				val = $0; sub(/^[^:]*:[ \t]*/, "", val); gsub(/[ \t]+/, " ", val)
				if (key == "types") types = val
				else if (key == "uris") uris = val
				else if (key == "suites") suites = val
				else if (key == "enabled") enabled = tolower(val)
			}
			END { flush() }
		' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[[ -f $f ]] || continue
		# deb [opt=val ...] URI SUITE COMPONENT...
		sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" && NF >= 3 { print $2, $3 }'
	done
	shopt -u nullglob
}

# discover_mirror SUITE PATHSUFFIX prints the first http(s) URI configured for
# exactly SUITE; failing that, the first Debian-looking URI (path ending in
# PATHSUFFIX) of any suite, so a trixie host can still build a bookworm bed.
# Third-party repos (nodesource, cloud SDKs) never match either rule.
discover_mirror() {
	local suite=$1 suffix=$2 entries uri
	entries=$(apt_source_entries | awk '$1 ~ /^https?:\/\// { sub(/\/+$/, "", $1); print }')
	uri=$(awk -v s="$suite" '$2 == s { print $1; exit }' <<<"$entries")
	if [[ -z $uri ]]; then
		uri=$(awk -v p="$suffix" 'substr($1, length($1) - length(p) + 1) == p { print $1; exit }' <<<"$entries")
	fi
	printf '%s\n' "$uri"
}

# registry_up PORT succeeds when a registry answers GET /v2/ on PORT.
registry_up() {
	curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1/v2/"
}

# manifest_digest REGISTRY REPO TAG prints the digest of REPO:TAG, or fails.
manifest_digest() {
	local reg=$1 repo=$2 tag=$3 headers
	headers=$(curl -fsS -I --max-time 10 \
		-H 'Accept: application/vnd.oci.image.index.v1+json' \
		-H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		-H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
		-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
		"http://$reg/v2/$repo/manifests/$tag" 2>/dev/null) || return 1
	awk 'tolower($1) == "docker-content-digest:" { sub(/\r$/, "", $2); print $2; found = 1 } END { exit !found }' <<<"$headers"
}

# buildkit_ready succeeds when our buildkitd answers and lists a worker.
buildkit_ready() {
	local out
	out=$(timeout 10 "$BUILDCTL_BIN" --addr "$BUILDKIT_ADDR" debug workers 2>/dev/null) && [[ -n $out ]]
}

# safe_rm_tree DIR removes DIR after unmounting anything left mounted below
# it (debootstrap mounts proc/sys and may bind /dev into its target), and
# never crosses into another file system.
safe_rm_tree() {
	local dir=$1 m
	[[ -n $dir && -e $dir ]] || return 0
	dir=$(realpath -- "$dir")
	[[ $dir != / && $dir != "$HOME" ]] || die "refusing to remove $dir"
	# Deepest mounts first; mountinfo field 5 is the mount point.
	while read -r m; do
		umount -l -- "$m" 2>/dev/null || true
	done < <(awk -v d="$dir/" 'index($5 "/", d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
	if awk -v d="$dir/" 'index($5 "/", d) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
		die "mounts remain below $dir; not removing it"
	fi
	rm -rf --one-file-system -- "$dir"
}

# unmount_stale_buildkit_mounts lazily unmounts overlays a killed buildkitd
# left behind: mounts below its root, and its /tmp/buildkit-mount* helpers
# whose layers come from that root. Call it only while our buildkitd is down.
unmount_stale_buildkit_mounts() {
	local m n=0
	while read -r m; do
		umount -l -- "$m" 2>/dev/null && n=$((n + 1))
	done < <(awk -v r="$BUILDKITD_ROOT/" '
		{
			mp = $5; sep = 0
			for (i = 6; i <= NF; i++) if ($i == "-") { sep = i; break }
			super = sep ? $(sep + 3) : ""
			if (index(mp "/", r) == 1 || (mp ~ "^/tmp/buildkit-mount" && index(super, r) > 0)) print mp
		}' /proc/self/mountinfo | sort -r)
	((n == 0)) || log "buildkitd: unmounted $n stale mounts left by a killed daemon"
}

# unmount_below DIR lazily unmounts everything mounted below DIR (deepest
# first) and prints how many it unmounted.
unmount_below() {
	local m n=0
	while read -r m; do
		umount -l -- "$m" 2>/dev/null && n=$((n + 1))
	done < <(awk -v d="$1/" 'index($5 "/", d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
	echo "$n"
}

# dockerd_ready succeeds when our dockerd answers its API.
dockerd_ready() {
	[[ $(curl -sS --max-time 5 --unix-socket "$DOCKERD_SOCK" http://docker/_ping 2>/dev/null) == OK ]]
}

# stop_procs_matching NAME WORD... sends SIGTERM (SIGKILL after 5s) to every
# process whose command line contains every WORD. Used only with words that
# name our own state paths (containerd shims carry our containerd's socket).
stop_procs_matching() {
	local name=$1 f pid pids=() cmdline w i
	shift
	for f in /proc/[0-9]*/cmdline; do
		pid=${f#/proc/}
		pid=${pid%/cmdline}
		cmdline=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
		[[ -n $cmdline ]] || continue
		for w in "$@"; do
			[[ $cmdline == *"$w"* ]] || continue 2
		done
		pids+=("$pid")
	done
	((${#pids[@]})) || return 0
	log "$name: stopping leftover pids ${pids[*]}"
	kill -TERM "${pids[@]}" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "${pids[@]}" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "${pids[@]}" 2>/dev/null || true
}

# stop_dockerd stops our dockerd; then whatever a killed dockerd may have left
# behind: its containerd, containerd shims and mounts below DOCKERD_DIR.
stop_dockerd() {
	local n
	stop_pidfile dockerd "$DOCKERD_PIDFILE" "$DOCKERD_BIN" "$DOCKERD_CONFIG"
	# dockerd's own pidfile, in case tini was killed but dockerd was not.
	stop_pidfile dockerd "$DOCKERD_EXEC/dockerd.pid" "$DOCKERD_BIN" "$DOCKERD_CONFIG"
	# dockerd stops the containerd it spawned, unless it was killed.
	stop_pidfile containerd "$DOCKERD_EXEC/containerd/containerd.pid" containerd "$DOCKERD_EXEC/containerd/containerd.toml"
	stop_procs_matching containerd-shim containerd-shim "$CONTAINERD_SOCK"
	if [[ -d $DOCKERD_DIR ]]; then
		n=$(unmount_below "$DOCKERD_DIR")
		((n == 0)) || log "dockerd: unmounted $n stale mounts below $DOCKERD_DIR"
	fi
	rm -f "$DOCKERD_SOCK" "$DOCKERD_EXEC/dockerd.pid" "$STATE/dockerd.check-ok"
}
