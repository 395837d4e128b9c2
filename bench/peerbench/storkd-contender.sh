#!/bin/bash
# storkd as peerbench's extra contender (../shared/peerbench/README.md, "Adding a
# contender"). Configured as the harness configures nginx and HAProxy: one worker, no
# access log, pooled upstream connections, 404 for other hosts:
#   app.test   -> the plaintext origin (a, b, d, e, f, g)
#   reenc.test -> the TLS origin, SNI and verification as origin.test against $PB_CA (c)
#   pass.test  -> relayed untouched to the TLS origin (p, pe), when a pass port is given
# The rules are installed through the admin API by a first short run on the same rule
# store, so that the run being measured serves them from its first request.
#
#   sudo CONTENDER_NAME=storkd CONTENDER_CMD=$PWD/bench/peerbench/storkd-contender.sh \
#        CONTENDER_HTTP_PORT=22080 CONTENDER_HTTPS_PORT=22443 CONTENDER_PASS_PORT=22444 \
#        ./run.sh                                      (from ../shared/peerbench)
set -euo pipefail

storkd=${STORKD:-$(cd "$(dirname "$0")/../.." && pwd)/build/bin/storkd}
dir="$PB_TMP/storkd"
mkdir -p "$dir"
rm -rf "$dir/rules"
openssl rand -hex 24 > "$dir/admin.token"
token=$(cat "$dir/admin.token")
mkdir -p "$dir/certs"
if [ -n "${PB_CERT_KEY:-}" ] && [ -z "${PB_CERT:-}" ]; then
    cp "$PB_CERT_KEY" "$dir/certs/peerbench.crt"
    cp "$PB_CERT_KEY" "$dir/certs/peerbench.key"
else
    cp "$PB_CERT" "$dir/certs/peerbench.crt"
    cp "$PB_KEY" "$dir/certs/peerbench.key"
fi

write_config() { # $1: http port, $2: https addresses (YAML list items)
    cat > "$dir/storkd.yaml" <<YAML
node: peerbench
workers: 1
listen:
  http: ["127.0.0.1:$1"]
  https: [$2]
admin:
  listen: "127.0.0.1:0"
  token_file: admin.token
tls:
  certificates: certs
  default: peerbench
upstream:
  max_idle_per_key: 1024
  ca_file: $PB_CA
rules:
  path: rules
access_log: "off"
YAML
}

# 1. Install the rule on a private port.
write_config 0 '"127.0.0.1:0"'
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
put_rule() { # $1: host, $2: JSON body
    curl -fsS -X PUT -H "Authorization: Bearer $token" "http://$admin/v1/rules/$1" -d "$2" > /dev/null
}
put_rule "$PB_HOST_PLAIN" "{\"target\":\"$PB_HOST_PLAIN\",\"upstream\":\"$PB_ORIGIN_HTTP\",\"upstream_tls\":false}"
put_rule "$PB_HOST_REENC" "{\"target\":\"$PB_ORIGIN_SNI\",\"upstream\":\"$PB_ORIGIN_HTTPS\",\"preserve_host\":false}"
if [ -n "${PB_PASS_PORT:-}" ]; then
    put_rule "$PB_HOST_PASS" "{\"target\":\"$PB_HOST_PASS\",\"mode\":\"passthrough\",\"upstream\":\"$PB_ORIGIN_HTTPS\"}"
fi
kill "$seed"
wait "$seed" || true
trap - EXIT

# 2. The measured run, in the foreground.
https="\"127.0.0.1:$PB_HTTPS_PORT\""
if [ -n "${PB_H2_PORT:-}" ] && [ "$PB_H2_PORT" != "$PB_HTTPS_PORT" ]; then
    https="$https, \"127.0.0.1:$PB_H2_PORT\""
fi
if [ -n "${PB_PASS_PORT:-}" ]; then
    https="$https, \"127.0.0.1:$PB_PASS_PORT\""
fi
write_config "$PB_HTTP_PORT" "$https"
exec "$storkd" --config "$dir/storkd.yaml"
