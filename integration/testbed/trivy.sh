#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# trivy.sh gives the test bed a real scanner that never goes online:
#   - bin/trivy, Trivy built from tools/trivy/go.mod (its version stamped the
#     way Trivy's goreleaser does), and bin/darn-trivydb from the same module,
#   - a Trivy vulnerability DB (schema 2) in $ROOT/.testbed/trivy/db, built by
#     darn-trivydb from integration/testdata/advisories/*.json,
#   - DARN_TRIVY and DARN_TRIVY_CACHE in .testbed/env (other keys kept).
# Run it after up.sh, or source it from up.sh and call ensure_trivy after
# write_env. It is idempotent: binaries are rebuilt when tools/trivy/go.{mod,sum}
# or darn-trivydb's sources are newer, the DB when an advisories file, the
# advisories directory (a file added or removed) or the builder is.
#
# Trivy must never reach the internet; run it as the tests do:
#   $DARN_TRIVY image --cache-dir $DARN_TRIVY_CACHE --skip-db-update \
#     --skip-java-db-update --offline-scan --skip-version-check --disable-telemetry …

# Run on its own rather than sourced: the bed's helpers.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	set -euo pipefail
	# shellcheck source=lib.sh
	source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi

TRIVY_MODULE="$ROOT/tools/trivy"
TRIVY_BIN="$ROOT/bin/trivy"
TRIVYDB_BIN="$ROOT/bin/darn-trivydb"
TRIVY_CACHE="$STATE/trivy"
TRIVY_ADVISORIES_DIR="$ROOT/integration/testdata/advisories"

# trivy_stale BIN succeeds when BIN is missing or older than the tool
# module's go.mod/go.sum or than darn-trivydb's own sources.
trivy_stale() {
	local bin=$1
	[[ -x $bin && $bin -nt $TRIVY_MODULE/go.mod && $bin -nt $TRIVY_MODULE/go.sum ]] || return 0
	[[ $bin == "$TRIVYDB_BIN" ]] || return 1
	[[ -n $(find "$TRIVY_MODULE/advisorydb" "$TRIVY_MODULE/cmd" -name '*.go' -newer "$bin" -print -quit) ]]
}

# ensure_trivy_binaries builds bin/trivy and bin/darn-trivydb when stale.
# Trivy needs GOEXPERIMENT=jsonv2; app.ver is what `trivy --version` shows.
ensure_trivy_binaries() {
	local pkgs=() names=() t0 ver out
	if trivy_stale "$TRIVY_BIN"; then
		pkgs+=(github.com/aquasecurity/trivy/cmd/trivy)
		names+=(bin/trivy)
	fi
	if trivy_stale "$TRIVYDB_BIN"; then
		pkgs+=(./cmd/darn-trivydb)
		names+=(bin/darn-trivydb)
	fi
	((${#pkgs[@]})) || return 0
	command -v go >/dev/null || die "go is not on PATH; it is needed to build bin/trivy and bin/darn-trivydb"
	ver=$(cd "$TRIVY_MODULE" && go list -m -f '{{.Version}}' github.com/aquasecurity/trivy) || die "trivy: cannot read its version from tools/trivy/go.mod"
	log "trivy: building ${names[*]} (Trivy $ver) from tools/trivy/go.mod"
	t0=$(now_ms)
	# goreleaser stamps {{.Version}}, the tag without its "v".
	(cd "$TRIVY_MODULE" && GOEXPERIMENT=jsonv2 CGO_ENABLED=0 go build -o "$ROOT/bin/" \
		-ldflags "-s -w -X github.com/aquasecurity/trivy/pkg/version/app.ver=${ver#v}" "${pkgs[@]}") ||
		die "trivy: go build failed"
	# go build may leave an identical binary untouched; the mtime is our stamp.
	touch "${names[@]/#/$ROOT/}"
	out=$("$TRIVY_BIN" --cache-dir "$TRIVY_CACHE" --version 2>&1) || die "trivy: bin/trivy --version failed: $out"
	out=${out%%$'\n'*}
	[[ $out == "Version: ${ver#v}" ]] || die "trivy: bin/trivy says '$out', want 'Version: ${ver#v}'"
	log "trivy: built ${names[*]} in $(elapsed "$t0") (bin/trivy --version: $out)"
}

# trivy_advisories sets the array TRIVY_ADVISORIES to every advisories file.
trivy_advisories() {
	local f
	TRIVY_ADVISORIES=()
	for f in "$TRIVY_ADVISORIES_DIR"/*.json; do
		[[ -f $f ]] && TRIVY_ADVISORIES+=("$f")
	done
	((${#TRIVY_ADVISORIES[@]})) || die "trivy: no advisories files in $TRIVY_ADVISORIES_DIR"
}

# trivy_db_current succeeds when DB (and its metadata) is newer than the
# builder, the advisories directory and every advisories file.
trivy_db_current() {
	local db=$1 f
	[[ -s $db && -s ${db%/*}/metadata.json && $db -nt $TRIVYDB_BIN && $db -nt $TRIVY_ADVISORIES_DIR ]] || return 1
	for f in "${TRIVY_ADVISORIES[@]}"; do
		[[ $db -nt $f ]] || return 1
	done
}

# ensure_trivy_db builds the DB into TRIVY_CACHE/db from every advisories
# file when it is missing or stale.
ensure_trivy_db() {
	local db="$TRIVY_CACHE/db/trivy.db" t0 out f args=()
	trivy_advisories
	trivy_db_current "$db" && return 0
	for f in "${TRIVY_ADVISORIES[@]}"; do
		args+=(-advisories "$f")
	done
	t0=$(now_ms)
	mkdir -p "$TRIVY_CACHE"
	out=$("$TRIVYDB_BIN" "${args[@]}" -cache-dir "$TRIVY_CACHE" 2>&1) || die "trivy: building the DB failed: $out"
	log "trivy: ${out#darn-trivydb: } in $(elapsed "$t0")"
}

# env_set KEY=VALUE... replaces or appends KEYs in STATE/env, keeping every
# other line, in the unquoted form up.sh's write_env uses.
env_set() {
	local tmp="$STATE/env.trivy.tmp" kv keys=()
	for kv in "$@"; do
		[[ $kv =~ ^[A-Z_]+=[^[:space:]\"\'\$\`\;\&\|]+$ ]] || die "cannot write '$kv' to the env file unquoted"
		keys+=("${kv%%=*}")
	done
	{
		[[ ! -f $STATE/env ]] || awk -v keys=" ${keys[*]} " '{ k = $0; sub(/=.*/, "", k) } !index(keys, " " k " ")' "$STATE/env"
		printf '%s\n' "$@"
	} >"$tmp"
	mv "$tmp" "$STATE/env"
}

# ensure_trivy makes bin/trivy, bin/darn-trivydb and the DB current and
# records them in STATE/env.
ensure_trivy() {
	ensure_trivy_binaries
	ensure_trivy_db
	env_set "DARN_TRIVY=$TRIVY_BIN" "DARN_TRIVY_CACHE=$TRIVY_CACHE"
}

# trivy_main is trivy.sh run on its own: it takes up.sh's lock, so that the
# env file has one writer at a time.
trivy_main() {
	# elapsed is up.sh's; the same here.
	declare -F elapsed >/dev/null || elapsed() {
		local ms=$(($(now_ms) - $1))
		printf '%d.%ds' $((ms / 1000)) $((ms % 1000 / 100))
	}
	mkdir -p "$STATE"
	exec 9>"$STATE/lock"
	flock -w 600 9 || die "another up.sh/down.sh/trivy.sh holds $STATE/lock"
	ensure_trivy
	log "trivy: ready; source $STATE/env (DARN_TRIVY, DARN_TRIVY_CACHE)"
}

[[ ${BASH_SOURCE[0]} != "$0" ]] || trivy_main "$@"
