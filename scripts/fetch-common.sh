# Shared by the fetch scripts (scripts/fetch-*.sh, test/controlplane/fetch-*.sh), which
# source it after setting FETCH_NAME. Gives: CACHE, log, die, now, use_given_binary,
# go_env and fetch_tmp.

CACHE="${DAWN_CACHE:-$HOME/.cache/dawn}"

log() { printf '%s: %s\n' "$FETCH_NAME" "$*" >&2; }
die() { printf '%s: ERROR: %s\n' "$FETCH_NAME" "$*" >&2; exit 1; }
now() { date +%s; }

# use_given_binary VAR WHAT: when the variable named VAR is set, its value must be an
# executable; the script then uses it, builds nothing and exits.
use_given_binary() {
  eval "given=\${$1:-}"
  [ -n "$given" ] || return 0
  [ -f "$given" ] && [ -x "$given" ] ||
    die "$1=$given is not an executable file; point it at $2, or unset it to build one"
  log "$1 is set: using $given, building nothing"
  if command -v show_version >/dev/null 2>&1; then show_version "$given"; fi
  exit 0
}

# go_env TOOLCHAIN: go builds with exactly that toolchain ("local" never fetches one behind
# our back), without cgo, and without a project-level GOFLAGS (e.g. -mod=vendor) or GOWORK.
go_env() {
  GOTOOLCHAIN=$1
  CGO_ENABLED=0
  export GOTOOLCHAIN CGO_ENABLED
  unset GOFLAGS GOWORK 2>/dev/null || true
}

# fetch_tmp: a scratch directory in $tmp, removed however the script ends.
fetch_tmp() {
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/dawn-$FETCH_NAME.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  trap 'exit 130' INT TERM
}
