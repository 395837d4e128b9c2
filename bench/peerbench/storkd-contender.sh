#!/bin/bash
# storkd as peerbench's extra contender (../shared/peerbench/README.md, "Adding a
# contender"). Configured as the harness configures nginx and HAProxy: one worker, no
# access log, app.test -> the plaintext origin, pooled upstream connections, 404 for
# other hosts. The rule is installed through the admin API by a first short run on the
# same rule store, so that the run being measured serves it from its first request.
#
#   sudo CONTENDER_NAME=storkd CONTENDER_CMD=$PWD/bench/peerbench/storkd-contender.sh \
#        CONTENDER_HTTP_PORT=22080 ./run.sh            (from ../shared/peerbench)
set -euo pipefail

storkd=${STORKD:-$(cd "$(dirname "$0")/../.." && pwd)/build/bin/storkd}
dir="$PB_TMP/storkd"
mkdir -p "$dir"
rm -rf "$dir/rules"
openssl rand -hex 24 > "$dir/admin.token"
token=$(cat "$dir/admin.token")

write_config() { # $1: http port
    cat > "$dir/storkd.yaml" <<YAML
node: peerbench
workers: 1
listen:
  http: ["127.0.0.1:$1"]
admin:
  listen: "127.0.0.1:0"
  token_file: admin.token
upstream:
  max_idle_per_key: 1024
rules:
  path: rules
access_log: "off"
YAML
}

# 1. Install the rule on a private port.
write_config 0
"$storkd" --config "$dir/storkd.yaml" > "$dir/seed.log" 2>&1 &
seed=$!
trap 'kill $seed 2>/dev/null || true' EXIT
admin=""
for _ in $(seq 1 200); do
    admin=$(sed -n 's/.*admin on \([0-9.]*:[0-9]*\).*/\1/p' "$dir/seed.log" | head -n1)
    [ -n "$admin" ] && break
    sleep 0.05
done
[ -n "$admin" ] || { echo "storkd did not start:" >&2; cat "$dir/seed.log" >&2; exit 1; }
curl -fsS -X PUT -H "Authorization: Bearer $token" "http://$admin/v1/rules/$PB_HOST_PLAIN" \
     -d "{\"target\":\"$PB_HOST_PLAIN\",\"upstream\":\"$PB_ORIGIN_HTTP\",\"upstream_tls\":false}" > /dev/null
kill "$seed"
wait "$seed" || true
trap - EXIT

# 2. The measured run, in the foreground.
write_config "$PB_HTTP_PORT"
exec "$storkd" --config "$dir/storkd.yaml"
