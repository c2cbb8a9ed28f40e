#!/bin/sh
# tests/check_diskfault.sh: runs tests/check_diskfault with tests/faultshim.so
# preloaded (disk full, read-only, failing write/fsync/rename on snapshot
# saves). The shim is a libtool module built by make check.
b=${abs_top_builddir:-.}
shim=$b/tests/.libs/faultshim.so
if test ! -f "$shim"; then
  echo "check_diskfault.sh: $shim not built" >&2
  exit 99
fi
# A sanitizer runtime must come first in the library list; the shim then
# follows it (ASan's own interceptors stay in charge of memory).
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
export ASAN_OPTIONS
# libtool's wrapper script runs under the shim too: harmless, it only acts
# on paths containing CXM_FAULT_PATH, which the test sets itself.
LD_PRELOAD="$shim${LD_PRELOAD:+ $LD_PRELOAD}" exec "$b/tests/check_diskfault"
