"""``python -m chaos [--workdir DIR]``: one run; its counts as one JSON line on stdout, last."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

from chaos.run import run_chaos
from chaos.settings import ChaosSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--workdir", type=Path, help="Logs, configuration and Kafka data.")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="hub-chaos-"))
    print(f"chaos: working in {workdir}", file=sys.stderr)
    summary = asyncio.run(run_chaos(ChaosSettings.from_env(workdir)))
    print(json.dumps(summary, separators=(",", ":")), flush=True)
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
