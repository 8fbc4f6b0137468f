"""``python -m chaos``: referrals through several hub processes while faults are injected.

Operators run it (``make chaos``) against a three-node Apache Kafka cluster and PostgreSQL to see,
counted by the recipients themselves, that no accepted referral is lost or delivered twice.
"""
