# Shared by scripts/serve, scripts/test and scripts/bench: install what is missing, then build.
# Sourced, not run.

say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Debian packages the build and the scripts need:
#   libsqlite3-dev (GRDB links the system SQLite), zlib1g-dev (gzip request bodies),
#   libssl-dev and openssl (development TLS certificates), curl (the partner's upload tool,
#   used by tests and benchmarks), python3 (benchmark driver and baseline).
REQUIRED_PACKAGES=(libsqlite3-dev sqlite3 time zlib1g-dev libssl-dev openssl curl gzip python3 python3-pip ca-certificates)

ensure_system_packages() {
    local missing=()
    for package in "${REQUIRED_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    if ((${#missing[@]})); then
        say "installing Debian packages: ${missing[*]}"
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    command -v swift >/dev/null 2>&1 || die "no Swift toolchain on PATH; install Swift 6.x from swift.org (see README)"
}

# Builds the clearinghouse binary in release mode and prints its path.
build_release() {
    say "building clearinghouse (release)"
    swift build -c release --product clearinghouse >&2
    echo "$(swift build -c release --show-bin-path)/clearinghouse"
}
