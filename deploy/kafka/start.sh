#!/usr/bin/env bash
# Starts Apache Kafka in KRaft mode on loopback, in the background:
#   start.sh [--nodes 1|3] [--data DIR] [--port PORT] [--sasl-ssl TLSDIR]
# Each node is a combined controller and broker. Node i (1-based) listens for clients on
# PORT + 2(i-1) and for the controller quorum on the port after it. Storage is formatted on
# first start; a restart on the same DIR keeps the data. Prints the bootstrap address last.
#
# --sasl-ssl TLSDIR secures every listener. Clients (and the brokers among themselves) speak
# SASL_SSL with SCRAM-SHA-512; the controller quorum speaks TLS with client certificates.
# StandardAuthorizer refuses whatever no ACL allows; only the brokers' own principal,
# User:kafka-broker, is a super user. TLSDIR holds:
#   ca.pem        the CA certificate clients and brokers trust
#   broker.pem    the brokers' PKCS#8 private key (unencrypted) and certificate chain; the
#                 certificate names 127.0.0.1 and has the subject CN=kafka-broker
#   scram-users   one "NAME PASSWORD" a line, created at format time; must name kafka-broker
# DIR/admin.properties then holds the client settings of User:kafka-broker for Kafka's tools
# (see grant-hub.sh). SCRAM users are created on first format only; add more later with
# kafka-configs (kafka.admin.ConfigCommand --alter --add-config SCRAM-SHA-512=...).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
nodes=1
data="$here/../../var/kafka"
port=19092
tls=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --nodes) nodes="$2"; shift 2 ;;
        --data) data="$2"; shift 2 ;;
        --port) port="$2"; shift 2 ;;
        --sasl-ssl) tls="$(cd "$2" && pwd)"; shift 2 ;;
        *) echo "usage: $0 [--nodes N] [--data DIR] [--port PORT] [--sasl-ssl TLSDIR]" >&2; exit 2 ;;
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

# The listener settings: plain, or SASL_SSL for clients and mutual TLS for the quorum.
scram_args=()
if [[ -n "$tls" ]]; then
    umask 077  # server.properties holds the brokers' own password
    for file in ca.pem broker.pem scram-users; do
        [[ -f "$tls/$file" ]] || { echo "kafka: --sasl-ssl: $tls/$file is missing" >&2; exit 2; }
    done
    broker_password=""
    while read -r name password _; do
        [[ -z "$name" || "$name" == \#* ]] && continue
        # The format tool's and JAAS's own syntax would misread other characters.
        if [[ ! "$name" =~ ^[A-Za-z0-9._-]+$ || ! "$password" =~ ^[A-Za-z0-9._~+/=-]{12,}$ ]]; then
            echo "kafka: $tls/scram-users: user $name: names are [A-Za-z0-9._-], passwords" \
                "at least 12 of [A-Za-z0-9._~+/=-]" >&2
            exit 2
        fi
        scram_args+=(--add-scram "SCRAM-SHA-512=[name=$name,password=$password]")
        [[ "$name" == kafka-broker ]] && broker_password="$password"
    done < "$tls/scram-users"
    [[ -n "$broker_password" ]] || { echo "kafka: $tls/scram-users names no kafka-broker" >&2; exit 2; }
    scram_login="org.apache.kafka.common.security.scram.ScramLoginModule required"
    scram_login+=" username=\"kafka-broker\" password=\"$broker_password\";"
    client_listener=CLIENT
    listener_settings="listener.security.protocol.map=CONTROLLER:SSL,CLIENT:SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.client.scram-sha-512.sasl.jaas.config=$scram_login
listener.name.controller.ssl.client.auth=required
ssl.keystore.type=PEM
ssl.keystore.location=$tls/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$tls/ca.pem
ssl.principal.mapping.rules=RULE:^CN=([^,]+)\$/\$1/,DEFAULT
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:kafka-broker"
    ( umask 077; cat > "$data/admin.properties" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=$scram_login
ssl.truststore.type=PEM
ssl.truststore.location=$tls/ca.pem
PROPS
    )
else
    client_listener=PLAINTEXT
    listener_settings="listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
fi

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
listeners=$client_listener://127.0.0.1:$client,CONTROLLER://127.0.0.1:$(( client + 1 ))
advertised.listeners=$client_listener://127.0.0.1:$client
inter.broker.listener.name=$client_listener
controller.listener.names=CONTROLLER
$listener_settings
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
            -t "$cluster_id" -c "$node/server.properties" ${scram_args[@]+"${scram_args[@]}"} \
            > "$node/format.log" 2>&1 \
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
