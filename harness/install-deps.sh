#!/bin/sh
# install-deps.sh - installs the Debian packages of a make target that are not installed yet.
# usage: harness/install-deps.sh TARGET PACKAGE...     (the Makefile's deps, deps-slurm, paper-deps)
target=$1
shift
missing=""
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -z "$missing" ]; then
  echo "$target: all Debian packages present"
  exit 0
fi
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
echo "$target: installing$missing"
$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing && exit 0
echo "$target: apt-get failed; install these Debian packages by hand:$missing" >&2
exit 1
