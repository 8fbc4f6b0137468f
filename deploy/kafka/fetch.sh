#!/usr/bin/env bash
# Copies Apache Kafka's jars from Maven Central (cached in ~/.m2) into deploy/kafka/lib, once:
# a lib/ newer than pom.xml is left alone.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
stamp="$here/lib/.fetched"
if [[ -f "$stamp" && "$stamp" -nt "$here/pom.xml" ]]; then
    exit 0
fi
command -v mvn >/dev/null || { echo "kafka: mvn not found; install Maven (apt-get install maven)" >&2; exit 1; }
rm -rf "$here/lib"
mvn -q -B -Dstyle.color=never -f "$here/pom.xml" dependency:copy-dependencies >&2
touch "$stamp"
