"""What ``hub contracts check`` enforces: compatibility between versions, free text under a
data category, fresh docs."""

from __future__ import annotations

import filecmp
import tempfile
from collections.abc import Mapping
from itertools import pairwise
from pathlib import Path

from hub.contracts.categories import free_text_outside_categories
from hub.contracts.compatibility import classify
from hub.contracts.docs import export_docs
from hub.contracts.registry import ContractRegistry

__all__ = ["category_problems", "compatibility_problems", "stale_docs"]


def compatibility_problems(registry: ContractRegistry) -> list[str]:
    """One message per adjacent version pair that breaks the newer one's declared mode."""
    problems: list[str] = []
    for event_type in registry.types():
        versions = registry.versions(event_type)
        for older, newer in pairwise(versions):
            new_contract = registry.get(event_type, newer)
            report = classify(
                registry.get(event_type, older).json_schema(), new_contract.json_schema()
            )
            mode = new_contract.compatibility
            if not report.satisfies(mode):
                reasons = "; ".join(report.reasons(mode))
                problems.append(
                    f"{event_type} v{older} -> v{newer} breaks {mode.value} compatibility: "
                    + reasons
                )
    return problems


def category_problems(registry: ContractRegistry) -> list[str]:
    """One message per free-text field that no data category covers (see ``categories``)."""
    return [
        f"{contract.event_type} v{contract.version}: free text {path} has no data category"
        for contract in registry
        for path in free_text_outside_categories(contract.model)
    ]


def stale_docs(
    registry: ContractRegistry, docs: Path, extra: Mapping[str, str] | None = None
) -> list[str]:
    """One message per file that differs between ``docs`` and a fresh export (with ``extra``)."""
    if not docs.is_dir():
        return [f"{docs}: no generated docs; run `hub contracts export --out {docs}`"]
    with tempfile.TemporaryDirectory() as scratch:
        fresh = Path(scratch)
        export_docs(registry, fresh, extra)
        expected = {path.relative_to(fresh) for path in fresh.rglob("*") if path.is_file()}
        present = {path.relative_to(docs) for path in docs.rglob("*") if path.is_file()}
        problems = [f"{docs / name}: missing" for name in sorted(expected - present)]
        problems += [f"{docs / name}: not generated" for name in sorted(present - expected)]
        problems += [
            f"{docs / name}: stale"
            for name in sorted(expected & present)
            if not filecmp.cmp(fresh / name, docs / name, shallow=False)
        ]
    if problems:
        problems.append(f"regenerate with `hub contracts export --out {docs}`")
    return problems
