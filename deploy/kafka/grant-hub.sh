#!/usr/bin/env bash
# Grants one principal, the hub's, what the hub does on a cluster start.sh --sasl-ssl runs:
#   grant-hub.sh [--data DIR] [--user NAME]        (defaults: var/kafka, hub)
# Read, write, create and describe the topics named hub.* and agency.* (hub.ingress, hub.audit,
# hub.ingress.dlq, agency.<id>.inbox and agency.<id>.dlq, prefixed ACLs so new agencies need no
# new grant), and read the consumer groups named hub-* (hub-router, hub-delivery-*). No other
# principal is granted anything, and StandardAuthorizer refuses what no ACL allows. Runs as the
# brokers' super user, with DIR/admin.properties that start.sh wrote.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="$here/../../var/kafka"
user=hub
while [[ $# -gt 0 ]]; do
    case "$1" in
        --data) data="$2"; shift 2 ;;
        --user) user="$2"; shift 2 ;;
        *) echo "usage: $0 [--data DIR] [--user NAME]" >&2; exit 2 ;;
    esac
done
[[ "$user" =~ ^[A-Za-z0-9._-]+$ ]] || { echo "kafka: --user: $user is not a SCRAM user name" >&2; exit 2; }
for file in admin.properties bootstrap; do
    [[ -f "$data/$file" ]] || { echo "kafka: $data/$file is missing; start.sh --sasl-ssl first" >&2; exit 1; }
done
acls=(java -Dlog4j2.configurationFile="$here/tools-log4j2.properties" -cp "$here/lib/*"
    org.apache.kafka.tools.AclCommand --bootstrap-server "$(cat "$data/bootstrap")"
    --command-config "$data/admin.properties" --add --allow-principal "User:$user"
    --resource-pattern-type prefixed)
"${acls[@]}" --topic hub. --topic agency. \
    --operation Read --operation Write --operation Create --operation Describe \
    --operation DescribeConfigs >&2
"${acls[@]}" --group hub- --operation Read --operation Describe >&2
