#!/usr/bin/env bash
# Production install on Debian: the built node under a prefix, run by systemd as a dedicated system user.
# Installs no test tools and stops no service. Run as root from a checkout: `sudo bash scripts/install.sh`.
# Re-running it upgrades the code in place and keeps the configuration and the data folder.
set -euo pipefail
cd "$(dirname "$0")/.."
source=$(pwd)

usage() {
  cat <<'USAGE'
usage: scripts/install.sh [options]

  --prefix DIR      where the code goes               (default /opt/brainstrip)
  --config-dir DIR  where brainstrip.json is kept       (default /etc/brainstrip)
  --data-dir DIR    spool, job database, results        (default /var/lib/brainstrip)
  --user NAME       the system user the service runs as (default brainstrip)
  --unit-dir DIR    where the systemd unit is written   (default /etc/systemd/system)
  --no-start        write everything, do not enable or (re)start the service
USAGE
}

prefix=/opt/brainstrip
config_dir=/etc/brainstrip
data_dir=/var/lib/brainstrip
user=brainstrip
unit_dir=/etc/systemd/system
start=1
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=$2; shift 2 ;;
    --config-dir) config_dir=$2; shift 2 ;;
    --data-dir) data_dir=$2; shift 2 ;;
    --user) user=$2; shift 2 ;;
    --unit-dir) unit_dir=$2; shift 2 ;;
    --no-start) start=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

say() { echo "install.sh: $*"; }
[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root (it creates a system user and a systemd unit)" >&2; exit 1; }

node=$(command -v node) || { echo "install.sh: Node.js is not installed (see README: Installing on a server)" >&2; exit 1; }
supported=$(node -p "require('./package.json').engines.node")
node -e "
  const major = Number(process.versions.node.split('.')[0]);
  const ok = process.argv[1].split('||').some((r) => Number(r.trim().replace(/^[^0-9]*/, '').split('.')[0]) === major);
  if (!ok) console.error('install.sh: WARNING: Node.js ' + process.version + ' is not a supported LTS line (' + process.argv[1] + '); install Node.js 24 LTS (README: Installing on a server)');
" "$supported"

# Build from this checkout (the dev dependencies are needed only for the TypeScript compiler).
if [ ! -e node_modules ]; then
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
fi
npm run build --silent

# The code: built output, models, production dependencies. A new release replaces the old one as a whole.
say "installing the code into $prefix"
staging="$prefix.new"
rm -rf "$staging"
mkdir -p "$staging"
cp -a dist models package.json package-lock.json README.md CHANGELOG.md "$staging/"
[ -d docs ] && cp -a docs "$staging/"
mkdir "$staging/node_modules" && cp -a node_modules/. "$staging/node_modules/"
(cd "$staging" && npm prune --omit=dev --no-audit --no-fund >/dev/null)
rm -rf "$staging/dist/test" "$staging/dist/bench"
chown -R root:root "$staging"
chmod -R go-w "$staging"
if [ -d "$prefix" ]; then rm -rf "$prefix.old"; mv "$prefix" "$prefix.old"; fi
mv "$staging" "$prefix"
rm -rf "$prefix.old"

# The user, the configuration, the data folder.
if ! id -u "$user" >/dev/null 2>&1; then
  say "creating system user $user"
  useradd --system --user-group --home-dir "$data_dir" --no-create-home --shell /usr/sbin/nologin "$user"
fi
install -d -m 0750 -o "$user" -g "$user" "$data_dir"
install -d -m 0750 -o root -g "$user" "$config_dir"
if [ ! -f "$config_dir/brainstrip.json" ]; then
  say "writing $config_dir/brainstrip.json (edit it, then check it with: brainstrip config check --config $config_dir/brainstrip.json)"
  cat >"$config_dir/brainstrip.json" <<JSON
{
  "dataDir": "$data_dir",
  "log": { "file": "" },
  "receive": { "aeTitle": "BRAINSTRIP", "port": 11112 },
  "http": { "host": "127.0.0.1", "port": 8080 }
}
JSON
  chown root:"$user" "$config_dir/brainstrip.json"
  chmod 0640 "$config_dir/brainstrip.json"
fi

# A command for the administrator: runs the installed node as the service user with the installed configuration.
install -d "$prefix/bin"
cat >"$prefix/bin/brainstrip" <<SH
#!/bin/sh
# The installed brainstrip, as the service user, with the installed configuration unless --config is given.
export BRAINSTRIP_CONFIG="\${BRAINSTRIP_CONFIG:-$config_dir/brainstrip.json}"
if [ "\$(id -u)" -eq 0 ]; then exec runuser -u $user -- "$node" "$prefix/dist/src/cli.js" "\$@"; fi
exec "$node" "$prefix/dist/src/cli.js" "\$@"
SH
chmod 0755 "$prefix/bin/brainstrip"

# The unit.
install -d "$unit_dir"
sed -e "s|@NODE@|$node|g" -e "s|@PREFIX@|$prefix|g" -e "s|@CONFIG_DIR@|$config_dir|g" \
    -e "s|@DATA_DIR@|$data_dir|g" -e "s|@USER@|$user|g" deploy/systemd/brainstrip.service >"$unit_dir/brainstrip.service"
chmod 0644 "$unit_dir/brainstrip.service"
say "unit written: $unit_dir/brainstrip.service"

if [ "$start" -eq 1 ]; then
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable brainstrip.service
    systemctl restart brainstrip.service
    say "service started: systemctl status brainstrip; journalctl -u brainstrip -f"
  else
    say "systemd is not running here: start it with the unit's command, or reboot into systemd"
  fi
fi
say "installed $(node -p "require('$prefix/package.json').version") from $source"
