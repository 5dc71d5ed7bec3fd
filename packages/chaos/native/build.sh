#!/bin/sh
# Builds dist/lazyfs (the FUSE layer of the powerloss fault) when gcc and libfuse3's headers are
# here. Without them the rest of the package still builds: the native part is skipped with a
# message, and asking for the powerloss fault then says what to install.
set -eu
cd "$(dirname "$0")/.."
mkdir -p dist
if ! command -v gcc >/dev/null 2>&1 || ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists fuse3 2>/dev/null; then
  rm -f dist/lazyfs
  echo "@tskv/chaos: lazyfs not built (needs gcc, pkg-config and libfuse3-dev: apt-get install fuse3 libfuse3-dev pkg-config); the powerloss fault is unavailable"
  exit 0
fi
# shellcheck disable=SC2046
gcc -O2 -Wall -Wextra -o dist/lazyfs.tmp native/lazyfs.c $(pkg-config fuse3 --cflags --libs) -lpthread
mv dist/lazyfs.tmp dist/lazyfs
