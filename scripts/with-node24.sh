#!/usr/bin/env bash
# Runs a command on Node 24 (the second Node the suite is tested on), with the machine's own Node
# left as it is:
#   bash scripts/with-node24.sh npm test            (what `npm run test:node24` does)
#   bash scripts/with-node24.sh npm run bench:bindings
# Node 24 comes from the npm package node-<os>-<arch> (a complete Node: bin/node and include/node),
# unpacked once into .cache/node-<version>/ (ignored by git). better-sqlite3 is then built for it
# with those headers (npm_config_nodedir; nothing is downloaded but the package) beside the build
# `npm ci` made for the machine's Node, see scripts/build-sqlite-addon.mjs. CAPSTAN_NODE24_VERSION
# picks another 24.x release.
set -euo pipefail
cd "$(dirname "$0")/.."

version="${CAPSTAN_NODE24_VERSION:-24.22.3}"
case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) echo "with-node24: no node-<os>-<arch> npm package for $(uname -s); run npm test on Node 24 yourself" >&2; exit 1 ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "with-node24: no node-<os>-<arch> npm package for $(uname -m); run npm test on Node 24 yourself" >&2; exit 1 ;;
esac
dir="$PWD/.cache/node-$version-$os-$arch"

if [ ! -x "$dir/bin/node" ] || [ "$("$dir/bin/node" --version)" != "v$version" ]; then
  echo "with-node24: installing Node $version from the npm package node-$os-$arch@$version into ${dir#"$PWD"/}"
  work="$(mktemp -d)"
  (cd "$work" && npm pack --silent "node-$os-$arch@$version" >/dev/null)
  mkdir -p "$work/unpacked"
  tar -xzf "$work"/node-"$os"-"$arch"-*.tgz -C "$work/unpacked" --strip-components=1
  "$work/unpacked/bin/node" --version >/dev/null
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  mv "$work/unpacked" "$dir"
  rm -rf "$work"
fi

export PATH="$dir/bin:$PATH"
export npm_config_nodedir="$dir"
node scripts/build-sqlite-addon.mjs
echo "with-node24: $* (on Node $(node --version))"
exec "$@"
