"""Benchmarks: the hub measured against the bare Kafka client, in one run.

``python -m bench`` starts an embedded broker per run, measures the raw
aiokafka ceiling and the hub (run as ``hub run`` in a child process) on the
same broker, plus the FHIR adapter and the audit verifier against bare
baselines, and writes ``bench/results.json``. See ``bench/README.md``.
"""
