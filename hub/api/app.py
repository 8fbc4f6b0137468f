"""The FastAPI application: routes, problem handlers, and the context they share."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import Depends, FastAPI
from pydantic import SecretStr

from hub import __version__
from hub.api import consents, events, fhir, inbox, ops, ops_page, referrals, stats
from hub.api.context import ApiContext
from hub.api.limits import RateLimitMiddleware, RequestLimiter
from hub.api.problems import install_problem_handlers
from hub.api.url_text import url_text_the_store_can_hold
from hub.config.settings import LimitSettings

__all__ = ["create_api"]

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_api(
    context: ApiContext,
    lifespan: Lifespan | None = None,
    *,
    pseudonym_key: SecretStr | None = None,
    limits: LimitSettings | None = None,
) -> FastAPI:
    """The API; with ``pseudonym_key`` also the FHIR endpoints, which derive subject ids.

    Requests are rate-limited by ``limits`` (the defaults when omitted).
    """
    app = FastAPI(
        title="Referral Hub",
        version=__version__,
        description=(
            "The consent-aware exchange of referrals between agencies. Agencies submit "
            "CloudEvents, read their inbox and follow the referrals they are party to."
        ),
        lifespan=lifespan,
        dependencies=[Depends(url_text_the_store_can_hold)],
    )
    app.state.hub = context
    install_problem_handlers(app)
    limiter = RequestLimiter(limits or LimitSettings(), context.tokens, context.metrics)
    app.add_middleware(RateLimitMiddleware, limiter=limiter)
    for module in (events, referrals, inbox, consents, ops, ops_page, stats):
        app.include_router(module.router)
    if pseudonym_key is not None:
        app.include_router(fhir.create_router(pseudonym_key=pseudonym_key))
    return app
