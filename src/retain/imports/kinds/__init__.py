"""The import kinds, one module each; ``handler_class`` finds the one for a kind.

Importing this package imports every kind module, so each registers its handler.
"""

from __future__ import annotations

from retain.imports.kinds import (  # noqa: F401 - imported to register their handlers
    complaints,
    contacts,
    customers,
    followups,
    loyalty,
    orders,
    surveys,
)
from retain.imports.kinds.base import HANDLERS, Handler


def handler_class(kind: str) -> type[Handler]:
    return HANDLERS[kind]
