"""The agency directory and code maps every adapter resolves external names through.

External systems name agencies and codes their own way: a hospital EHR says
``Organization/casa-psychosocial-centre`` or ``urn:oid:...|4471``, a court
registry its court codes, a case database its local service codes. The
directory answers, from the configuration, which hub agency or code each name
means, or an :class:`AdapterError` naming the element and the value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from hub.config import AgencyConfig, HubSettings
from hub.config.code_maps import CodeMapEntry, MappedKind
from hub.contracts import ReferralStatus, ServiceCode
from hub.contracts.events.referral import OutcomeCode
from hub.contracts.vocabulary import SERVICE_SYSTEM, SNOMED_SYSTEM, all_services
from hub.errors import AdapterError

__all__ = ["DEFAULT_CODE_MAPS", "Directory"]

_HUB_CODES: Mapping[MappedKind, frozenset[str]] = MappingProxyType(
    {
        "service": frozenset(code.value for code in ServiceCode),
        "outcome": frozenset(code.value for code in OutcomeCode),
        "status": frozenset(code.value for code in ReferralStatus),
    }
)

#: The built-in map: the SNOMED CT concepts the service vocabulary names.
DEFAULT_CODE_MAPS: tuple[CodeMapEntry, ...] = tuple(
    CodeMapEntry(system=SNOMED_SYSTEM, code=definition.snomed, service=definition.code)
    for definition in all_services()
    if definition.snomed is not None
)


class Directory:
    """Names to agency ids, and ``system|code`` to hub codes."""

    def __init__(
        self,
        agencies: Iterable[AgencyConfig] = (),
        code_maps: Iterable[CodeMapEntry] = (),
    ) -> None:
        self._agencies: dict[str, str] = {}
        self._first_alias: dict[str, str] = {}
        for agency in agencies:
            self._agencies[agency.id] = agency.id
            for alias in agency.aliases:
                self._agencies[alias] = agency.id
                self._first_alias.setdefault(agency.id, alias)
        self._codes: dict[tuple[str, str], tuple[MappedKind, str]] = {}
        for entry in (*DEFAULT_CODE_MAPS, *code_maps):
            self._codes[(entry.system, entry.code)] = (entry.kind, entry.target)
        self._systems = frozenset(system for system, _ in self._codes)

    @classmethod
    def from_settings(cls, settings: HubSettings) -> Directory:
        return cls(settings.agencies, settings.code_maps)

    def knows(self, name: str) -> bool:
        return name.strip() in self._agencies

    def agency(self, name: str, *, element: str) -> str:
        """The hub id of the agency ``name`` denotes (its id or an alias)."""
        found = self._agencies.get(name.strip())
        if found is None:
            raise AdapterError(f"no agency is known as {name!r}", path=element)
        return found

    def maps(self, system: str) -> bool:
        """Whether any code map (the configured ones or the default) is in ``system``."""
        return system in self._systems

    def external_name(self, agency_id: str) -> str:
        """How to name an agency to external systems: its first alias, else its id."""
        return self._first_alias.get(agency_id, agency_id)

    def code(self, kind: MappedKind, code: str, system: str | None, *, element: str) -> str:
        """The hub code for ``system|code``; a code without a system must be the hub's own."""
        code = code.strip()
        if system is None or system == SERVICE_SYSTEM:
            if code in _HUB_CODES[kind]:
                return code
            raise AdapterError(f"{code!r} is not a hub {kind} code; name its system", path=element)
        mapped = self._codes.get((system, code))
        if mapped is None:
            raise AdapterError(f"no code map for {system}|{code}", path=element)
        mapped_kind, target = mapped
        if mapped_kind != kind:
            raise AdapterError(
                f"{system}|{code} maps to a {mapped_kind}, not a {kind}", path=element
            )
        return target
