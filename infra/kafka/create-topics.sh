#!/bin/sh
# Creates every topic in topics.txt with its partition count, replication and retention. Safe to
# run again: existing topics are left alone, except that a topic with fewer partitions than listed
# is raised when ALLOW_PARTITION_INCREASE=1 (adding partitions moves keys to new partitions, so an
# object's in-flight events may be handled out of order: do it with producers paused).
#
# Environment: KAFKA_BOOTSTRAP (kafka:9092), KAFKA_REPLICATION_FACTOR (1), KAFKA_MIN_INSYNC_REPLICAS
# (1), TOPICS_FILE (/vigil/topics.txt), KAFKA_BIN (/opt/kafka/bin), WAIT_SECONDS (120).
set -eu

bootstrap="${KAFKA_BOOTSTRAP:-kafka:9092}"
replication="${KAFKA_REPLICATION_FACTOR:-1}"
min_isr="${KAFKA_MIN_INSYNC_REPLICAS:-1}"
topics_file="${TOPICS_FILE:-/vigil/topics.txt}"
kafka_bin="${KAFKA_BIN:-/opt/kafka/bin}"
wait_seconds="${WAIT_SECONDS:-120}"
topics="$kafka_bin/kafka-topics.sh --bootstrap-server $bootstrap"

waited=0
until $topics --list >/dev/null 2>&1; do
  if [ "$waited" -ge "$wait_seconds" ]; then
    echo "create-topics: Kafka at $bootstrap did not answer within ${wait_seconds}s" >&2
    exit 1
  fi
  sleep 2
  waited=$((waited + 2))
done

created=0
grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$topics_file" | {
  while read -r topic partitions retention_hours; do
    case "$partitions$retention_hours" in
      '' | *[!0-9]*) echo "create-topics: bad line for topic '$topic' in $topics_file" >&2; exit 1 ;;
    esac
    $topics --create --if-not-exists --topic "$topic" --partitions "$partitions" \
      --replication-factor "$replication" \
      --config "retention.ms=$((retention_hours * 3600000))" \
      --config "min.insync.replicas=$min_isr" >/dev/null
    current=$($topics --describe --topic "$topic" | sed -n 's/.*PartitionCount:[[:space:]]*\([0-9][0-9]*\).*/\1/p' | head -n 1)
    if [ -z "$current" ]; then
      echo "create-topics: $topic does not exist after creation" >&2
      exit 1
    fi
    if [ "$current" -lt "$partitions" ]; then
      if [ "${ALLOW_PARTITION_INCREASE:-0}" = 1 ]; then
        $topics --alter --topic "$topic" --partitions "$partitions"
        echo "create-topics: $topic raised from $current to $partitions partitions"
      else
        echo "create-topics: $topic has $current partitions, $partitions wanted (set ALLOW_PARTITION_INCREASE=1 to raise)" >&2
      fi
    fi
    echo "create-topics: $topic ok ($partitions partitions, ${retention_hours}h)"
    created=$((created + 1))
  done
  echo "create-topics: $created topics ready"
}
