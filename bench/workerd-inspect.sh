#!/bin/sh
# The bench's workerd (MINIFLARE_WORKERD_PATH): the real one ($BENCH_WORKERD) with a V8 inspector
# listening, since the test harness starts workerd with none. The port is derived from this
# process's pid (exec keeps it, so it is workerd's), each workerd its own, and written to
# $BENCH_INSPECTOR_LOG as "pid port" so the bench finds the inspector of the product's process.
port=$((20000 + $$ % 30000))
echo "$$ $port" >> "$BENCH_INSPECTOR_LOG"
exec "$BENCH_WORKERD" "$@" "--inspector-addr=127.0.0.1:$port"
