#!/usr/bin/env bash
# Starts Apache Kafka in KRaft mode on loopback, in the background:
#   start.sh [--nodes 1|3] [--data DIR] [--port PORT]
# Each node is a combined controller and broker. Node i (1-based) listens for clients on
# PORT + 2(i-1) and for the controller quorum on the port after it. Storage is formatted on
# first start; a restart on the same DIR keeps the data. Prints the bootstrap address last.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
nodes=1
data="$here/../../var/kafka"
port=19092
while [[ $# -gt 0 ]]; do
    case "$1" in
        --nodes) nodes="$2"; shift 2 ;;
        --data) data="$2"; shift 2 ;;
        --port) port="$2"; shift 2 ;;
        *) echo "usage: $0 [--nodes N] [--data DIR] [--port PORT]" >&2; exit 2 ;;
    esac
done
[[ "$nodes" =~ ^[1-9]$ ]] || { echo "kafka: --nodes must be 1-9, got $nodes" >&2; exit 2; }
command -v java >/dev/null || { echo "kafka: java not found; Apache Kafka 4 needs JDK 17+" >&2; exit 1; }
"$here/fetch.sh"
mkdir -p "$data"
data="$(cd "$data" && pwd)"
classpath="$here/lib/*"
heap="${KAFKA_HEAP:--Xms128m -Xmx512m}"

# A cluster of one cannot replicate; three nodes keep every acknowledged write on two.
replication=$(( nodes >= 3 ? 3 : 1 ))
min_isr=$(( nodes >= 3 ? 2 : 1 ))
voters=""
bootstrap=""
for i in $(seq 1 "$nodes"); do
    voters+="${voters:+,}$i@127.0.0.1:$(( port + 2 * (i - 1) + 1 ))"
    bootstrap+="${bootstrap:+,}127.0.0.1:$(( port + 2 * (i - 1) ))"
done

cluster_id_file="$data/cluster.id"
if [[ ! -f "$cluster_id_file" ]]; then
    java -cp "$classpath" kafka.tools.StorageTool random-uuid > "$cluster_id_file"
fi
cluster_id="$(cat "$cluster_id_file")"

for i in $(seq 1 "$nodes"); do
    node="$data/node-$i"
    mkdir -p "$node"
    if [[ -f "$node/pid" ]] && kill -0 "$(cat "$node/pid")" 2>/dev/null; then
        echo "kafka: node $i already running (pid $(cat "$node/pid"))" >&2
        continue
    fi
    client=$(( port + 2 * (i - 1) ))
    cat > "$node/server.properties" <<PROPS
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$client,CONTROLLER://127.0.0.1:$(( client + 1 ))
advertised.listeners=PLAINTEXT://127.0.0.1:$client
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$node/data
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=$replication
min.insync.replicas=$min_isr
offsets.topic.replication.factor=$replication
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$replication
transaction.state.log.min.isr=$min_isr
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=$replication
share.coordinator.state.topic.min.isr=$min_isr
group.initial.rebalance.delay.ms=0
unclean.leader.election.enable=false
PROPS
    if [[ ! -f "$node/data/meta.properties" ]]; then
        java -cp "$classpath" kafka.tools.StorageTool format \
            -t "$cluster_id" -c "$node/server.properties" > "$node/format.log" 2>&1 \
            || { cat "$node/format.log" >&2; exit 1; }
    fi
    # setsid: the broker outlives this script and ignores the terminal's signals.
    # shellcheck disable=SC2086
    setsid java $heap -XX:+UseG1GC -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$here/log4j2.properties" \
        -cp "$classpath" kafka.Kafka "$node/server.properties" \
        > "$node/server.log" 2>&1 < /dev/null &
    echo $! > "$node/pid"
done
echo "$bootstrap" > "$data/bootstrap"

# Ready once every node accepts connections on its client port and has joined the quorum.
deadline=$(( SECONDS + ${KAFKA_START_TIMEOUT:-90} ))
for i in $(seq 1 "$nodes"); do
    node="$data/node-$i"
    until grep -q "Kafka Server started" "$node/server.log" 2>/dev/null; do
        if ! kill -0 "$(cat "$node/pid")" 2>/dev/null; then
            echo "kafka: node $i exited; last lines of $node/server.log:" >&2
            tail -n 20 "$node/server.log" >&2
            exit 1
        fi
        if (( SECONDS > deadline )); then
            echo "kafka: node $i not started after ${KAFKA_START_TIMEOUT:-90}s; see $node/server.log" >&2
            exit 1
        fi
        sleep 0.2
    done
done
echo "$bootstrap"
