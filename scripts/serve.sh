#!/bin/sh
# Starts the node (`brainstrip serve`) with the memory allocator settings it is measured with: glibc's malloc
# otherwise keeps a heap arena per thread (main, parse and pool workers, ONNX Runtime's threads) and holds freed
# blocks of up to 32 MB in them, so a 512×512×200 series leaves the process hundreds of MB larger than it needs.
# Fewer arenas, large blocks from mmap (returned when freed) and trimming keep the peak near what a series needs.
# Settings already in the environment win. Arguments go to `brainstrip serve` (e.g. --config FILE).
here=$(dirname "$0")
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-1048576}"
export MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-16777216}"
exec node "$here/../dist/src/cli.js" serve "$@"
