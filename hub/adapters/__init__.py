"""Adapters: agency-native formats to and from canonical events.

One port (:class:`Adapter`), discovered through the ``hub.adapters`` entry-point
group; the built-in ``fhir`` adapter serves hospitals.
"""

from hub.adapters.base import Adapter, AdapterContext, NativeInput, NativeOutput, UnreadableInput
from hub.adapters.pseudonyms import subject_id
from hub.adapters.registry import ENTRY_POINT_GROUP, build_adapter, load_adapters

__all__ = [
    "ENTRY_POINT_GROUP",
    "Adapter",
    "AdapterContext",
    "NativeInput",
    "NativeOutput",
    "UnreadableInput",
    "build_adapter",
    "load_adapters",
    "subject_id",
]
