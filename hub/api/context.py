"""What the routes need, handed to the app once at start-up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request

from hub.adapters.directory import Directory
from hub.api.auth import TokenDirectory, hash_token
from hub.api.problems import ProblemError
from hub.audit import AuditRecorder
from hub.config import AgencyConfig
from hub.config.pathways import PathwayConfig
from hub.contracts import AgencyKind, ContractRegistry
from hub.observability import HubMetrics
from hub.observability.ops_history import OpsHistory
from hub.services.group_intake import GroupIntake
from hub.store import Store

__all__ = ["ApiContext", "Caller", "Hub", "Observer", "authenticated", "observer"]


@dataclass(frozen=True)
class ApiContext:
    store: Store
    registry: ContractRegistry
    agencies: Mapping[str, AgencyConfig]
    tokens: TokenDirectory
    metrics: HubMetrics
    audit: AuditRecorder | None = None
    intake: GroupIntake | None = None
    on_accepted: Callable[[], None] = lambda: None
    broker_ready: Callable[[], Awaitable[bool]] | None = None
    #: Whether each agency database the hub reads and writes answered last time.
    agency_databases: Callable[[], Mapping[str, bool]] | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    #: Operator token hash to operator id: these tokens open /ops and nothing else.
    operators: Mapping[str, str] = field(default_factory=dict)
    #: The charts' recent past; None shows the page without charts.
    ops_history: OpsHistory | None = None
    #: The configuration's agency aliases and code maps, for what FHIR clients send.
    directory: Directory | None = None
    #: The configured pathways: statistics name each step's pathway.
    pathways: tuple[PathwayConfig, ...] = ()
    statistics_threshold: int = 5


def _context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.hub
    return context


Hub = Annotated[ApiContext, Depends(_context)]


def authenticated(request: Request) -> str:
    """The agency id behind the request's bearer token, or a 401 problem.

    An observer is refused (403) here: it receives no referrals and reads
    nothing but aggregates, through :func:`observer` alone.
    """
    agency_id = _token_holder(request)
    if _is_observer(request, agency_id):
        raise ProblemError(
            403, "Forbidden", f"{agency_id} is an observer: it reads only aggregates (/v1/stats)"
        )
    return agency_id


def observer(request: Request) -> str:
    """The observer agency behind the bearer token; any other agency gets a 403 problem."""
    agency_id = _token_holder(request)
    if not _is_observer(request, agency_id):
        raise ProblemError(403, "Forbidden", "only an observer agency reads statistics")
    return agency_id


def _is_observer(request: Request, agency_id: str) -> bool:
    agency = _context(request).agencies.get(agency_id)
    return agency is not None and agency.kind is AgencyKind.OBSERVER


def _token_holder(request: Request) -> str:
    context = _context(request)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ProblemError(401, "Unauthorized", "a bearer token is required")
    agency_id = context.tokens.agency_for(token.strip())
    if agency_id is None and hash_token(token.strip()) in context.operators:
        raise ProblemError(
            403, "Forbidden", "an operator token opens the operations page only, not the API"
        )
    if agency_id is None:
        raise ProblemError(401, "Unauthorized", "the bearer token is not valid")
    return agency_id


Caller = Annotated[str, Depends(authenticated)]
Observer = Annotated[str, Depends(observer)]
