#!/usr/bin/env bash
# Installs what the integration tests talk to: a real InfluxDB 1.x (influxd), VictoriaMetrics (an
# InfluxDB v2 write peer), Prometheus Alertmanager, Prometheus with promtool (the PromQL differential
# test) and tmux, plus the tools the chaos and trust tests run: openssl (a throwaway test CA,
# chaos-tls), systemd-analyze (verifies the generated unit, trust-outputs) and mount/umount (a small
# tmpfs, chaos-disk-full/spool-full; needs root at test time), all from Debian's archive. `ulimit` is
# a shell builtin (chaos-slow-clients needs a hard limit of at least 1,300 open files). Idempotent;
# needs root (CI runs as root) unless everything is already installed.
set -euo pipefail
need=()
command -v influxd >/dev/null || need+=(influxdb)
command -v tmux >/dev/null || need+=(tmux)
command -v victoria-metrics >/dev/null || need+=(victoria-metrics)
command -v prometheus-alertmanager >/dev/null || need+=(prometheus-alertmanager)
command -v openssl >/dev/null || need+=(openssl)
command -v systemd-analyze >/dev/null || need+=(systemd)
{ command -v mount >/dev/null && command -v umount >/dev/null; } || need+=(mount)
# prometheus + promtool: the PromQL differential test (test/integration/promql-differential.test.ts)
command -v promtool >/dev/null || need+=(prometheus)
# prometheus-node-exporter: mon top's node_exporter panels over a real exporter (test/integration/top-node-exporter.test.ts)
command -v prometheus-node-exporter >/dev/null || need+=(prometheus-node-exporter)
# nats-server: the cluster mode's JetStream (a 3-node cluster in test/integration/cluster-*.test.ts)
command -v nats-server >/dev/null || need+=(nats-server)
# influx: the InfluxDB 1.x CLI run against the daemon's /query (test/integration/influxql-cli.test.ts)
command -v influx >/dev/null || need+=(influxdb-client)
if [ ${#need[@]} -eq 0 ]; then
  echo "test dependencies present: influxd tmux victoria-metrics prometheus-alertmanager openssl systemd-analyze mount prometheus prometheus-node-exporter nats-server influx"
  exit 0
fi
echo "installing test dependencies: ${need[*]}"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else
    echo "error: need root to apt-get install ${need[*]} (or install them yourself)" >&2; exit 1
  fi
else SUDO=""; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# the packages' post-install scripts must not start system services inside containers
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "installed: ${need[*]}"
