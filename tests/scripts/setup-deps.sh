#!/usr/bin/env bash
# Installs every Debian package budgetgate needs to build, test and demo.
# Idempotent: packages already present are not reinstalled, and apt's index is
# refreshed at most once a day (the stamp lives in the cache directory).
set -euo pipefail

CACHE_DIR="${BUDGETGATE_CACHE:-$HOME/.cache/budgetgate}"
mkdir -p "$CACHE_DIR"

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang-format git curl unzip ca-certificates
  # product libraries
  libcpprest-dev libboost-dev libboost-system-dev libssl-dev libyaml-cpp-dev
  libspdlog-dev libfmt-dev rapidjson-dev libsimdjson-dev libhowardhinnant-date-dev libcli11-dev
  # tests
  libgtest-dev googletest prometheus wrk nginx-light openssl python3 python3-yaml
  procps psmisc jq time apache2-utils
  # the status page in a real browser (headless, driven over the DevTools protocol)
  chromium fonts-dejavu-core
  # lint
  shellcheck yamllint
  # a real node (tests/scripts/node.sh, build-image.sh): container runtime, CNI plugins,
  # iptables for kube-proxy, and image building without Docker or a registry
  containerd runc containernetworking-plugins iptables nftables conntrack buildah mmdebstrap skopeo
  uidmap
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup-deps: all ${#PACKAGES[@]} Debian packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

stamp="$CACHE_DIR/apt-updated"
if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +1440 2>/dev/null)" ]; then
  echo "setup-deps: apt-get update"
  $SUDO apt-get update -qq
  touch "$stamp"
fi

echo "setup-deps: installing ${missing[*]}"
# The prometheus package would start a system service; tests start their own
# instance on loopback, so keep the packaged one from starting at install time.
export DEBIAN_FRONTEND=noninteractive
policy_rc=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy_rc" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy_rc" >/dev/null
  $SUDO chmod +x "$policy_rc"
  created_policy=1
fi
trap '[ "$created_policy" = 1 ] && $SUDO rm -f "$policy_rc"' EXIT
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup-deps: done"
