#!/usr/bin/env bash
# Installs the release tarball in a Debian arm64 root (the Pi's architecture) under qemu user-mode
# emulation and runs it: `earshot doctor`, `earshot analyze` on a dev recording (events compared
# with the same command on this x86 machine), and 60 s of `earshot run` on a replay.
# Not part of CI: building the root takes 10-20 minutes and everything runs 5-20x slower.
#
#   sudo scripts/arm64-check.sh [--root DIR] [--suite trixie] [--keep]
#
# Uses only Debian and npm packages: debootstrap, qemu-user-static and binfmt-support on the host
# (installed with apt-get when missing); nodejs (trixie: 20.19, the minimum Earshot supports;
# bookworm has 18, too old), npm, and a compiler for better-sqlite3 inside the root. Dependencies
# come from the npm registry. The root is kept (--root, default /var/tmp/earshot-arm64) and reused
# on the next run. Times of each step are printed at the end.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
root=/var/tmp/earshot-arm64
suite=trixie
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
while [ $# -gt 0 ]; do
  case $1 in
    --root) root=$2; shift 2 ;;
    --suite) suite=$2; shift 2 ;;
    *) echo "usage: $0 [--root DIR] [--suite SUITE]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "arm64-check: run as root (debootstrap and chroot need it)" >&2; exit 77; }

shared=${EARSHOT_SHARED:-$here/../shared}
recording=$shared/data/dev/gunshot/belize_gunshot_0.wav
times=()
step() { # step NAME COMMAND...: runs and records the wall time
  local name=$1 t0 t1; shift
  echo "== $name"
  t0=$(date +%s)
  "$@"
  t1=$(date +%s)
  times+=("$(printf '%-34s %5d s' "$name" $((t1 - t0)))")
}
in_root() { chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
# The device under test: data in /tmp/data, a looping replay of a dev recording, no broker
# (run keeps events in SQLite). Environment overrides instead of a config file.
device_env=(EARSHOT_STORAGE_DATA_DIR=/tmp/data EARSHOT_AUDIO_SOURCE=file EARSHOT_AUDIO_FILE=/tmp/dev/rec.wav EARSHOT_AUDIO_LOOP=true EARSHOT_MQTT_ENABLED=false)
earshot() { in_root "${device_env[@]}" earshot "$@"; }

host_tools() {
  command -v debootstrap >/dev/null && [ -e /usr/bin/qemu-aarch64-static ] && return 0
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap qemu-user-static binfmt-support >/dev/null
}

binfmt() {
  # Containers often lack binfmt_misc: mount it and register qemu-aarch64 ("F" flag: the
  # interpreter is opened now, so it works inside the chroot without copying it there).
  [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64
  grep -q enabled /proc/sys/fs/binfmt_misc/qemu-aarch64
}

make_root() {
  if [ -x "$root/usr/bin/node" ] && [ -x "$root/usr/bin/npm" ] && [ -x "$root/usr/bin/g++" ]; then
    echo "reusing $root"
    return 0
  fi
  # minbase, then apt inside the root: debootstrap's own --include resolves dependencies only
  # one level deep and leaves Debian's npm (hundreds of node-* packages) unconfigured.
  [ -x "$root/usr/bin/apt-get" ] || debootstrap --arch=arm64 --variant=minbase "$suite" "$root" "$mirror"
  mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  in_root sh -c 'export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get -f install -y -qq &&
    apt-get install -y -qq --no-install-recommends nodejs npm libnode-dev build-essential python3 ca-certificates sox flac' >/dev/null
}

release() {
  (cd "$here" && npm run release --silent -- --with-model --out "$here/build/release") >/dev/null
  tarball=$here/build/release/$(cd "$here/build/release" && ls -t earshot-*-with-model.tgz | head -1)
  mkdir -p "$root/tmp/release" "$root/tmp/dev"
  cp "$tarball" "$root/tmp/release/earshot.tgz"
  cp "$recording" "$root/tmp/dev/rec.wav"
}

npm_install() {
  # CAs the host added locally (a network that inspects TLS) are needed to reach the registry.
  if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    in_root update-ca-certificates >/dev/null
  fi
  # Debian's node headers (libnode-dev) for node-gyp: it cannot download them offline.
  in_root sh -c 'cd /tmp && NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt npm install -g --no-audit --no-fund --nodedir=/usr /tmp/release/earshot.tgz' >"$root/tmp/npm-install.log" 2>&1 && return 0
  tail -30 "$root/tmp/npm-install.log"
  # Seen with Debian trixie's npm 9.2 under qemu: "Exit handler never called!" while better-sqlite3's
  # install script compiles (it has no arm64 prebuilt it can reach offline). The package is in place
  # by then; finish that one build with node-gyp directly (about 25 minutes under emulation).
  local bsq=/usr/local/lib/node_modules/earshot/node_modules/better-sqlite3
  [ -d "$root$bsq" ] || return 1
  echo "npm install failed; building better-sqlite3 with node-gyp in the root instead"
  in_root sh -c "cd $bsq && JOBS=2 node-gyp rebuild --release --nodedir=/usr" >"$root/tmp/node-gyp.log" 2>&1 ||
    { tail -30 "$root/tmp/node-gyp.log"; return 1; }
}

configure() {
  mkdir -p "$root/tmp/data"
  earshot models install
  earshot models verify
}

doctor() { earshot doctor || echo "(doctor exit $?: see above)"; }

analyze_compare() {
  earshot analyze --format json /tmp/dev/rec.wav >"$root/tmp/arm64-events.json"
  local xdata; xdata=$(mktemp -d)
  EARSHOT_STORAGE_DATA_DIR=$xdata EARSHOT_MODEL_MIRROR=$shared/models node "$here/build/agent/cli.js" models install >/dev/null
  EARSHOT_STORAGE_DATA_DIR=$xdata node "$here/build/agent/cli.js" analyze --format json "$recording" >"$root/tmp/x86-events.json"
  rm -rf "$xdata"
  # Same labels, times and confidences (to 2 decimals: arm64 and x86 kernels may round differently).
  local pick='const fs=require("fs");for(const f of process.argv.slice(1))console.log(fs.readFileSync(f,"utf8").trim().split("\n").map(l=>{const e=JSON.parse(l);return `${e.label} ${e.startSec}-${e.endSec} ${e.confidence.toFixed(2)}`}).join("; "))'
  node -e "$pick" "$root/tmp/arm64-events.json" "$root/tmp/x86-events.json" | tee "$root/tmp/compare.txt"
  [ "$(sed -n 1p "$root/tmp/compare.txt")" = "$(sed -n 2p "$root/tmp/compare.txt")" ] || { echo "arm64 events differ from x86" >&2; return 1; }
}

run60() {
  # 60 s of the long-running agent on a looping file replay, then SIGTERM.
  set +e
  in_root "${device_env[@]}" timeout -s TERM 60 earshot run >"$root/tmp/run.log" 2>&1
  local rc=$?
  set -e
  tail -5 "$root/tmp/run.log"
  earshot events list | tail -5
  # timeout(1) answers 124 when it had to send SIGTERM; the agent's own exit then was clean if it logged its stop.
  [ $rc = 0 ] || [ $rc = 124 ] || { echo "run exited $rc" >&2; return 1; }
}

step "host tools (apt)" host_tools
step "binfmt qemu-aarch64" binfmt
step "debian $suite arm64 root" make_root
echo "node in the root: $(in_root node --version) ($(in_root uname -m)), npm $(in_root npm --version)"
step "npm run release --with-model" release
step "npm install -g (arm64, qemu)" npm_install
step "models install + verify" configure
step "earshot doctor" doctor
step "analyze (arm64 vs x86)" analyze_compare
step "earshot run, 60 s replay" run60
printf '%s\n' "${times[@]}"
