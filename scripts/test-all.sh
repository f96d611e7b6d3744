#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, unit/property/integration
# tests (cargo), then the conformance tests that drive the real binary with
# the official Azure SDKs for Python (installed from PyPI into a venv).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

# The MSRV, spelled once: rust-version in the workspace Cargo.toml.
MSRV="$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml)"
step "cargo +$MSRV check: the workspace builds on its declared minimum Rust"
if rustup toolchain list 2>/dev/null | grep "^$MSRV-" >/dev/null; then
  cargo "+$MSRV" check --workspace --all-targets --locked
else
  echo "SKIPPED: toolchain $MSRV is not installed (rustup toolchain install $MSRV --profile minimal); .ci/run installs it" >&2
fi

step "cargo test (unit, property, integration)"
cargo build --workspace --locked
cargo test --workspace --locked

step "fuzz smoke: every target in fuzz/ for a few seconds"
if cargo fuzz --version >/dev/null 2>&1; then
  scripts/fuzz-smoke.sh
else
  echo "SKIPPED: cargo-fuzz is not installed (cargo install --locked cargo-fuzz); .ci/run installs it" >&2
fi

step "conformance: official Azure Python SDKs against target/debug/keyrotor"
VENV="${KEYROTOR_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r conformance/requirements.txt
# The az CLI scenario needs azure-cli, in a venv of its own: it pins older
# SDK versions than the conformance tests use. A failed install is reported,
# and that one test is skipped with the reason, never silently.
AZ_VENV="${KEYROTOR_AZ_VENV:-.venv-az}"
if [ ! -x "$AZ_VENV/bin/az" ]; then
  python3 -m venv "$AZ_VENV"
  if ! "$AZ_VENV/bin/python" -m pip install --quiet --disable-pip-version-check azure-cli >"$AZ_VENV/install.log" 2>&1; then
    export KEYROTOR_AZ_UNAVAILABLE="pip install azure-cli failed: $(tail -n 1 "$AZ_VENV/install.log")"
    echo "WARNING: $KEYROTOR_AZ_UNAVAILABLE" >&2
  fi
fi
[ -x "$AZ_VENV/bin/az" ] && export KEYROTOR_AZ_BIN="$PWD/$AZ_VENV/bin/az"
KEYROTOR_BIN="$PWD/target/debug/keyrotor" "$VENV/bin/python" -m pytest -q -rs -p no:cacheprovider conformance
