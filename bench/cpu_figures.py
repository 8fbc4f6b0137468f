"""The CPU-bound figures, in the bench's own process after the Kafka runs."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bench import audit_verify, fhir_decode
from bench.config import BenchConfig
from bench.context import log
from bench.errors import Unavailable
from bench.profiling import Profiler
from bench.results import Results
from bench.stats import rate
from bench.workload import Workload

__all__ = ["run_cpu_figures"]

_FHIR_FIGURES = ("fhir_decode_per_s", "fhir_bare_parse_per_s", "fhir_decode_ratio")
_AUDIT_FIGURES = (
    "audit_verify_per_s",
    "audit_bare_per_s",
    "audit_verify_ratio",
    "audit_verify_store_per_s",
)


def run_cpu_figures(
    config: BenchConfig, workload: Workload, results: Results, profiler: Profiler
) -> None:
    _fhir(config, workload, results, profiler)
    with tempfile.TemporaryDirectory(prefix="hub-bench-audit-") as workdir:
        _audit(config, results, profiler, Path(workdir))


def _fhir(config: BenchConfig, workload: Workload, results: Results, profiler: Profiler) -> None:
    try:
        bench = fhir_decode.prepare(workload, config.fhir_bundles)
    except Unavailable as exc:
        results.unavailable(_FHIR_FIGURES, str(exc))
        log(f"fhir decode unavailable: {exc}")
        return
    results.detail("fhir_bundle_bytes", bench.bundle_bytes)
    for number in range(1, config.runs + 1):
        adapter, bare = bench.measure(config.cpu_seconds)
        results.add("fhir_decode_per_s", adapter)
        results.add("fhir_bare_parse_per_s", bare)
        results.add("fhir_decode_ratio", adapter / bare)
        log(f"run {number}: fhir decode {adapter:,.0f}/s, bare {bare:,.0f}/s")
    # Profiled apart from the timed runs: the sampler shares the machine.
    with profiler.record("fhir-decode", os.getpid()):
        rate(bench.decode, bench.bundles, config.cpu_seconds)


def _audit(config: BenchConfig, results: Results, profiler: Profiler, workdir: Path) -> None:
    try:
        bench = audit_verify.prepare(workdir, config.audit_referrals)
    except Unavailable as exc:
        results.unavailable(_AUDIT_FIGURES, str(exc))
        log(f"audit verify unavailable: {exc}")
        return
    try:
        results.detail("audit_entries", len(bench.lines))
        results.detail("audit_checkpoints", len(bench.checkpoints))
        for number in range(1, config.runs + 1):
            verified, bare, from_store = bench.measure(config.cpu_seconds)
            results.add("audit_verify_per_s", verified)
            results.add("audit_bare_per_s", bare)
            results.add("audit_verify_ratio", verified / bare)
            results.add("audit_verify_store_per_s", from_store)
            log(f"run {number}: audit verify {verified:,.0f}/s, bare {bare:,.0f}/s")
        with profiler.record("audit-verify", os.getpid()):
            rate(lambda _: bench.verify_lines(), [None], config.cpu_seconds)
    finally:
        bench.store.close()
