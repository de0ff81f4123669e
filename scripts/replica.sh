#!/usr/bin/env bash
# A streaming replica of this machine's PostgreSQL (127.0.0.1:5432) as a second cluster,
# "reports" on 127.0.0.1:5433, for the reporting replica's tests and benches
# (REPORTS_DATABASE_URL). Run it as root on Debian with PostgreSQL from Debian's packages.
# Safe to run again: a running replica of this primary is left as it is (and its replay
# resumed, should a test have paused it); a stopped one is started; one that follows no
# longer this primary is made again from a fresh base backup.
set -euo pipefail

VERSION="${PG_VERSION:-$(ls /etc/postgresql | sort -V | tail -n 1)}"
HOST=127.0.0.1
PRIMARY_PORT="${PRIMARY_PORT:-5432}"
REPLICA_PORT="${REPLICA_PORT:-5433}"
CLUSTER="${REPLICA_CLUSTER:-reports}"
DATA="/var/lib/postgresql/$VERSION/$CLUSTER"
CONF="/etc/postgresql/$VERSION/$CLUSTER"

primary() { psql -h "$HOST" -p "$PRIMARY_PORT" -U postgres -d postgres -wXAtqc "$1"; }
replica() { psql -h "$HOST" -p "$REPLICA_PORT" -U postgres -d postgres -wXAtqc "$1"; }
as_postgres() { runuser -u postgres -- "$@"; }
wait_ready() {
  for _ in $(seq 1 60); do pg_isready -q -h "$HOST" -p "$1" && return 0; sleep 1; done
  echo "PostgreSQL on port $1 did not come up" >&2
  return 1
}
SYSID="SELECT system_identifier FROM pg_control_system()"
# Whether the standby receives the primary's WAL (given a few seconds to connect).
streaming() {
  for _ in $(seq 1 15); do
    [ "$(replica "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'")" = 1 ] && return 0
    sleep 1
  done
  return 1
}

if ! pg_isready -q -h "$HOST" -p "$PRIMARY_PORT"; then
  pg_ctlcluster --skip-systemctl-redirect "$VERSION" main start || true
  wait_ready "$PRIMARY_PORT"
fi

# The primary: WAL fit for a standby, senders to stream it, and a replication line in
# pg_hba.conf for the standby's connection from loopback.
if [ "$(primary 'SHOW wal_level')" = minimal ] || [ "$(primary 'SHOW max_wal_senders')" -lt 2 ]; then
  echo "primary: wal_level = replica, max_wal_senders = 10 (restarting it)"
  primary "ALTER SYSTEM SET wal_level = replica"
  primary "ALTER SYSTEM SET max_wal_senders = 10"
  pg_ctlcluster --skip-systemctl-redirect "$VERSION" main restart
  wait_ready "$PRIMARY_PORT"
fi
HBA="$(primary 'SHOW hba_file')"
if ! grep -Eq '^[[:space:]]*host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$HBA"; then
  echo "primary: allowing replication from 127.0.0.1 in $HBA"
  printf '%s\n' "host replication all 127.0.0.1/32 trust" >>"$HBA"
  primary "SELECT pg_reload_conf()" >/dev/null
fi

# The standby lets in whom the primary lets in (its own pg_hba.conf would ask for passwords).
sync_hba() {
  if ! cmp -s "$HBA" "$CONF/pg_hba.conf"; then
    install -o postgres -g postgres -m 640 "$HBA" "$CONF/pg_hba.conf"
    return 0
  fi
  return 1
}

# Already a replica of this primary: start it if stopped, resume its replay, done.
if [ -f "$DATA/standby.signal" ] && [ -f "$CONF/postgresql.conf" ]; then
  if sync_hba && pg_isready -q -h "$HOST" -p "$REPLICA_PORT"; then
    pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$CLUSTER" reload
  fi
  if ! pg_isready -q -h "$HOST" -p "$REPLICA_PORT"; then
    pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$CLUSTER" start || true
    wait_ready "$REPLICA_PORT" || true
  fi
  if pg_isready -q -h "$HOST" -p "$REPLICA_PORT" \
    && [ "$(replica 'SELECT pg_is_in_recovery()')" = t ] \
    && [ "$(replica "$SYSID")" = "$(primary "$SYSID")" ] && streaming; then
    replica "SELECT pg_wal_replay_resume()" >/dev/null
    echo "replica: streaming from $HOST:$PRIMARY_PORT on $HOST:$REPLICA_PORT (cluster $VERSION/$CLUSTER)"
    exit 0
  fi
  echo "replica: $VERSION/$CLUSTER does not stream from this primary; making it again"
fi

# Make it: a cluster of its own (configuration in $CONF, port $REPLICA_PORT) whose data
# directory is replaced by a base backup of the primary, written with -R so that it starts
# as a standby streaming from the primary.
if [ ! -f "$CONF/postgresql.conf" ]; then
  rm -rf "$CONF"  # what a dropped cluster left
  pg_createcluster "$VERSION" "$CLUSTER" --port "$REPLICA_PORT" >/dev/null
fi
pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$CLUSTER" stop >/dev/null 2>&1 || true
# Reports run long queries: the standby tells the primary what they still read, so that
# VACUUM on the primary does not cancel them.
mkdir -p "$CONF/conf.d"
printf '%s\n' "hot_standby = on" "hot_standby_feedback = on" >"$CONF/conf.d/replica.conf"
chown -R postgres:postgres "$CONF"
sync_hba || true
find "$DATA" -mindepth 1 -delete
as_postgres pg_basebackup -h "$HOST" -p "$PRIMARY_PORT" -U postgres -D "$DATA" -R -X stream -c fast
pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$CLUSTER" start
wait_ready "$REPLICA_PORT"
streaming || { echo "replica: made, but not streaming: see /var/log/postgresql/postgresql-$VERSION-$CLUSTER.log" >&2; exit 1; }
echo "replica: streaming from $HOST:$PRIMARY_PORT on $HOST:$REPLICA_PORT (cluster $VERSION/$CLUSTER)"
