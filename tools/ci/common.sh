# SPDX-License-Identifier: MIT
# Shared by the tools/ci/ stages (sourced, not run): paths, packages, configure, timing.
# Every stage builds out of tree in ${BLINKUPD_BUILD_DIR:-_build}/ci-<stage>, never in the sources.

ci_src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ci_build_root=${BLINKUPD_BUILD_DIR:-$ci_src/_build}
ci_start=$(date +%s)

ci_say() { echo "$ci_stage: $*"; }
ci_die() { echo "$ci_stage: FAILED: $*" >&2; exit 1; }

# elapsed wall time of the stage, "3m07s"
ci_elapsed() {
        local s=$(($(date +%s) - ci_start))
        printf '%dm%02ds' $((s / 60)) $((s % 60))
}

ci_sudo() {
        if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# ci_install PACKAGE... : installs what is missing from Debian's archive. A failed index
# update is only a warning: a mirror in the middle of a sync breaks one index now and then;
# the install that follows says whether what we need is there.
ci_install() {
        local missing=() p
        for p in "$@"; do
                dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
        done
        [ ${#missing[@]} -eq 0 ] && return 0
        ci_say "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        if ! ci_sudo apt-get update -qq -o DPkg::Lock::Timeout=600 >"$ci_tmp/apt-update.log" 2>&1; then
                ci_say "warning: apt-get update reported errors (the install below decides):"
                grep -E '^(E|W):' "$ci_tmp/apt-update.log" | head -n 5 | sed 's/^/    /'
        fi
        if ! ci_sudo apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 \
                "${missing[@]}" >"$ci_tmp/apt-install.log" 2>&1; then
                tail -n 25 "$ci_tmp/apt-install.log" >&2
                ci_die "apt-get install ${missing[*]} failed (see above)"
        fi
}

# ci_builddir NAME : creates and prints ${BLINKUPD_BUILD_DIR:-_build}/ci-NAME
ci_builddir() {
        local d="$ci_build_root/ci-$1"
        mkdir -p "$d"
        echo "$d"
}

# ci_configure DIR ARGS... : configures DIR with these arguments unless it already is (the
# arguments are remembered in DIR/ci-configure.args); then make notices changed sources itself.
ci_configure() {
        local dir=$1; shift
        local want
        want=$(printf '%q ' "$@")
        if [ -f "$dir/Makefile" ] && [ -f "$dir/ci-configure.args" ] && [ "$(cat "$dir/ci-configure.args")" = "$want" ]; then
                return 0
        fi
        rm -f "$dir/ci-configure.args"
        (cd "$dir" && "$ci_src/configure" --quiet "$@" >configure.out 2>&1) || {
                tail -n 30 "$dir/configure.out" >&2
                [ -f "$dir/config.log" ] && tail -n 30 "$dir/config.log" >&2
                ci_die "configure failed in $dir"
        }
        echo "$want" >"$dir/ci-configure.args"
}

# the sources configure needs (autogen.sh has run: ./run-tests does it first), unless the
# script sets ci_no_configure=1 (it configures nothing)
[ "${ci_no_configure:-0}" = 1 ] || [ -x "$ci_src/configure" ] || { echo "${ci_stage:-ci}: run ./autogen.sh (or ./run-tests) first" >&2; exit 1; }

ci_tmp=$(mktemp -d)
trap 'rm -rf "$ci_tmp"' EXIT
