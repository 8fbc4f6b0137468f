"""``--profile DIR``: py-spy attached to the code under test, one profile per phase.

py-spy samples another process from outside, so the hub child is profiled
as it runs, unmodified. Each phase leaves ``DIR/<phase>.txt`` (collapsed
stacks, loadable in speedscope or flamegraph.pl) and ``DIR/<phase>.summary.txt``
(the functions most often on the stack, and most often on top of it, as a
share of the samples). Sampling costs the profiled process little, but py-spy
needs a core of its own: numbers from a profiled run are not the table's.
"""

from __future__ import annotations

import collections
import contextlib
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

__all__ = ["Profiler", "summarize"]

_RATE_HZ = 250
_LINE_NUMBER = re.compile(r":\d+\)$")


class Profiler:
    def __init__(self, directory: Path | None) -> None:
        self._directory = directory
        self._binary = shutil.which("py-spy") or _next_to_python()
        if directory is not None:
            if self._binary is None:
                raise SystemExit("--profile needs py-spy: pip install py-spy")
            directory.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def record(self, name: str, pid: int) -> Iterator[None]:
        """Sample ``pid`` while the block runs; nothing when profiling is off."""
        if self._directory is None or self._binary is None:
            yield
            return
        output = self._directory / f"{name}.txt"
        spy = subprocess.Popen(
            [
                self._binary,
                "record",
                "--pid",
                str(pid),
                "--rate",
                str(_RATE_HZ),
                "--format",
                "raw",
                "--threads",
                "--nonblocking",
                "--output",
                str(output),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            yield
        finally:
            # SIGINT makes py-spy write what it has sampled and exit.
            spy.send_signal(signal.SIGINT)
            spy.wait()
        if output.exists():
            summary = summarize(output)
            output.with_suffix(".summary.txt").write_text(summary)


def summarize(collapsed: Path, top: int = 40) -> str:
    """Inclusive and self shares per function (line numbers folded together)."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    threads: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        frames = [_LINE_NUMBER.sub(")", frame) for frame in stack.split(";")]
        total += samples
        threads[frames[0]] += samples
        for frame in set(frames[1:]):
            inclusive[frame] += samples
        own[frames[-1]] += samples
    if total == 0:
        return "no samples\n"

    def block(title: str, counter: collections.Counter[str]) -> list[str]:
        rows = [f"{100 * n / total:5.1f}%  {frame}" for frame, n in counter.most_common(top)]
        return [title, *rows, ""]

    lines = [f"{total} samples at {_RATE_HZ} Hz", ""]
    lines += block("threads", threads)
    lines += block("inclusive (on the stack)", inclusive)
    lines += block("self (on top of the stack)", own)
    return "\n".join(lines)


def _next_to_python() -> str | None:
    candidate = Path(sys.executable).with_name("py-spy")
    return str(candidate) if candidate.exists() else None
