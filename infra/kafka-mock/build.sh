#!/bin/sh
# Builds the Kafka mock launcher (kafka-mock.c) with gcc into a cache directory and prints the
# binary's path on stdout. The binary's name carries a hash of the source and the build command, so
# an edit rebuilds and a rebuild never replaces a binary a running test is using.
# Exit status: 0 built or cached; 3 a prerequisite is missing (the reason is on stderr); else a
# compiler failure. Cache: $VIGIL_CACHE_DIR/kafka-mock, default <repo>/node_modules/.cache/vigil.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src="$here/kafka-mock.c"
cache="${VIGIL_CACHE_DIR:-$here/../../node_modules/.cache/vigil}/kafka-mock"
mkdir -p "$cache" && cache=$(cd "$cache" && pwd)
cc="${CC:-gcc}"
cflags="-O2 -Wall -Wextra -std=c11"
libs="-lrdkafka"

if ! command -v "$cc" >/dev/null 2>&1; then
  echo "kafka-mock: no C compiler ($cc); install gcc (Debian: apt-get install gcc)" >&2
  exit 3
fi
if ! printf '#include <librdkafka/rdkafka.h>\n#include <librdkafka/rdkafka_mock.h>\n' | "$cc" -E -x c - >/dev/null 2>&1; then
  echo "kafka-mock: librdkafka headers not found (librdkafka/rdkafka_mock.h); install librdkafka-dev" >&2
  exit 3
fi

hash=$( { cat "$src"; echo "$cc $cflags $libs"; } | sha256sum | cut -c1-16)
bin="$cache/kafka-mock-$hash"
if [ ! -x "$bin" ]; then

  tmp="$bin.tmp.$$"
  # shellcheck disable=SC2086 # flags are word lists on purpose
  "$cc" $cflags -o "$tmp" "$src" $libs >&2
  # Atomic: concurrent builds (parallel test files) each write their own temp file, one wins.
  mv -f "$tmp" "$bin"
fi
echo "$bin"
