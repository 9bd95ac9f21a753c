#!/usr/bin/env bash
# Installs the Debian packages scpx needs to build and test, when any is missing.
# Idempotent and quick when everything is present (one dpkg query). Run as root, or with sudo.
#   scripts/install_deps.sh            build + test dependencies
#   scripts/install_deps.sh --slurm    also SLURM + munge for the one-node cluster tests
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libgtest-dev libgmock-dev
  openmpi-bin libopenmpi-dev
  libhdf5-openmpi-dev hdf5-tools          # parallel HDF5 only: never libhdf5-dev (serial)
  libeigen3-dev libhts-dev libdeflate-dev tabix bcftools zlib1g-dev
  libsqlite3-dev sqlite3
  libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libtomlplusplus-dev
  python3 python3-numpy python3-h5py       # fixture generators and result checks (Debian's python3)
  python3-torch python3-anndata python3-matplotlib   # converter, ctPred and plot tests (skipped without them)
  shapeit4-example                         # real 1000 Genomes chr20 haplotypes for the demo and e2e tests
)
if [[ "${1:-}" == "--slurm" ]]; then
  packages+=(slurmctld slurmd slurm-client munge)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install_deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install_deps: installing ${#missing[@]} missing package(s): ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install_deps: not root and no sudo; install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install_deps: done"
