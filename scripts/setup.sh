#!/usr/bin/env bash
# The developer set-up on a fresh Debian 12 machine (a server is installed with scripts/install.sh instead): the DICOM tools the tests use as real peers
# (DCMTK, dicom3tools, dcm2niix, Orthanc, Chromium, promtool, PostgreSQL), the Colin27 template the atlas is built from, and the npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(dcmtk dicom3tools dcm2niix orthanc mricron-data sqlite3 chromium systemd prometheus postgresql)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # Debian starts Orthanc as a system service on port 4242/8042 when it installs it; brainstrip's tests start their
  # own instance. Only an Orthanc this script installed is stopped: on a machine where Orthanc was there before, it
  # may be the hospital's archive.
  # The same for Prometheus, installed for promtool, which checks the shipped alert rules, and for PostgreSQL, whose
  # job store tests start a throwaway cluster of their own (initdb, pg_ctl) on a free port.
  for service in orthanc prometheus postgresql; do
    if [[ " ${missing[*]} " == *" $service "* ]] && command -v service >/dev/null 2>&1; then
      $SUDO service "$service" stop >/dev/null 2>&1 || true
    fi
  done
fi

# onnxruntime-node ships its CPU binaries in the package; its install script would try to download GPU ones.
ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
npm run build --silent
