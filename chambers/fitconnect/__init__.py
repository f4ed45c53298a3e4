"""The ``fitconnect`` adapter: end-to-end encrypted submissions through FIT-Connect.

See ``adapter`` for the flow and the idempotency approach, ``metadata`` for the vendored schema
1.0.0 (provenance in ``SCHEMA_NOTICE.md``), ``events`` for the signed event log.
"""

from .adapter import FitConnectAdapter
from .events import InvalidEventToken, Issuer, Trust, verify_set

__all__ = ["FitConnectAdapter", "InvalidEventToken", "Issuer", "Trust", "verify_set"]
