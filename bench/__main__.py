"""``python -m bench``: measure, print the table, write the results."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import machine, report
from bench.config import DEFAULT_OUT, BenchConfig
from bench.context import Prepared, log
from bench.cpu_figures import run_cpu_figures
from bench.profiling import Profiler
from bench.results import Results
from bench.runner import run_kafka_figures
from bench.workload import Workload

_QUICK_OUT = DEFAULT_OUT.with_name("results-quick.json")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.runs < 1:
        _parser().error("--runs must be at least 1")
    # A profiled run is slowed by the sampler: its numbers stay with its profiles.
    default_out = args.profile / "results.json" if args.profile else DEFAULT_OUT
    out: Path = args.out or (_QUICK_OUT if args.quick and not args.profile else default_out)
    config = (BenchConfig.smoke if args.quick else BenchConfig.full)(args.runs, out)
    command = "python -m bench" + (" --quick" if args.quick else "") + f" --runs {args.runs}"
    host = machine.describe()
    started = datetime.now(UTC)
    profiler = Profiler(args.profile)
    results = asyncio.run(_kafka_runs(config, profiler))
    run_cpu_figures(config, Workload(), results, profiler)
    header = {
        "generated_at": started.isoformat(timespec="seconds"),
        "command": command,
        "machine": host,
        "code": machine.code_state(),
        "config": {key: value for key, value in vars(config).items() if key not in {"out"}},
        "payload": _payload_size(),
        "method": {
            "latency": "per event, from the producer's send call to the moment a pull-mode "
            "reader polling the inbox table every 2 ms sees the committed row; "
            "details also give it to the row's delivered_at stamp",
            "memory": "VmHWM from /proc of the `hub run` child after every phase of the run",
            "ratios": "hub figure / baseline measured in the same run, then summarised",
        },
    }
    report.write_json(out, results, header)
    print(report.table(results))
    log(f"results written to {out}")
    if (
        not config.quick
        and args.out is None
        and args.profile is None
        and report.update_readme(results, machine.summary_line(host), command)
    ):
        log("bench/README.md table updated")
    return 0


async def _kafka_runs(config: BenchConfig, profiler: Profiler) -> Results:
    workload = Workload()
    prepared = Prepared.build(config, workload)
    results = Results()
    for number in range(1, config.runs + 1):
        await run_kafka_figures(config, prepared, workload, results, profiler, number)
    return results


def _payload_size() -> dict[str, int]:
    record = Workload().records("size", 1)[0]
    return {
        "value_bytes": len(record.value),
        "header_bytes": sum(len(key) + len(value) for key, value in record.headers),
        "key_bytes": len(record.key),
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (default 3)")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"results file (default {DEFAULT_OUT.name}, or {_QUICK_OUT.name} with --quick)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="record py-spy profiles of each phase into DIR (slows the run down)",
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
