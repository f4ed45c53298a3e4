"""The rows of the filings table of "Meine Anträge", each rendered once per filing, status and language.

What a row shows is a function of the filing's reference, service, answers, date filed and status,
the reader's language and time zone, and the catalog and translations the app loaded at start. A
submitted filing's answers, service, reference and date are never changed (only its status is, by
the lifecycle, the delivery worker and chamber staff), so the page's statement reads the status and
the rest of each row every time and the rendered row is looked up by all of them: a status change,
a deleted filing or a new one shows at once, and nothing has to be invalidated. Kept per app and
catalog snapshot: a catalog import (``catalog.refresh``) puts a new snapshot in place, and the rows
rendered with the old one's titles and status labels are dropped with it. Bounded, least recently
used dropped first.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence

from flask import current_app, get_template_attribute, request
from flask_babel import get_timezone
from markupsafe import Markup
from sqlalchemy import Row

from ..catalog.models import ServiceDefinition

#: rendered rows kept per app: about 1.2 KB each with its key (measured on the bench data), so at
#: most about 2.5 MB of a worker's memory (goal: under 150 MB); a page shows 25
ROWS_KEPT = 2048


class _Rows:
    def __init__(self, size: int, snapshot: object) -> None:
        self.size = size
        self.snapshot = snapshot  #: the catalog snapshot the rows were rendered with
        self.rows: OrderedDict[tuple, Markup] = OrderedDict()
        self.lock = threading.Lock()


def _kept(snapshot: object) -> _Rows:
    kept: _Rows | None = current_app.extensions.get(_KEPT)
    if kept is None or kept.snapshot is not snapshot:  # first use, or a catalog import since
        kept = current_app.extensions[_KEPT] = _Rows(ROWS_KEPT, snapshot)
    return kept


_KEPT = "bizportal.filing_rows"


def filing_rows(filings: Sequence[Row], services: Mapping[str, ServiceDefinition], locale: str,
                snapshot: object) -> Markup:
    """The table rows of ``filings`` (``queries.company_filings``) as HTML, rendered by the macro
    ``filing_row`` of ``filings/_filing_row.html`` for a row whose inputs were not seen before.
    ``services`` are those of the catalog ``snapshot`` (``Portal.snapshot``) the rows are kept with.

    The key holds every input of the row that can differ between requests: the language, time
    zone and script root of the request, and the filing's reference, service, status, date filed
    and a digest of its answers' stored JSON text (decoded only to render a row)."""
    kept = _kept(snapshot)
    where = (locale, str(get_timezone()), request.script_root)
    keys = [(*where, f.reference, f.service_key, f.status, f.submitted_at,
             hashlib.blake2b(f.data_text.encode(), digest_size=16).digest()) for f in filings]
    with kept.lock:
        found = {key: html for key in keys if (html := kept.rows.get(key)) is not None}
        for key in found:
            kept.rows.move_to_end(key)
    missing = [(f, key) for f, key in zip(filings, keys, strict=True) if key not in found]
    if missing:
        render = get_template_attribute("filings/_filing_row.html", "filing_row")
        made = {key: Markup(render(f.reference, f.service_key, services.get(f.service_key),
                                   json.loads(f.data_text) if f.data_text else {}, f.submitted_at, f.status,
                                   locale))
                for f, key in missing}
        with kept.lock:
            kept.rows.update(made)
            while len(kept.rows) > kept.size:
                kept.rows.popitem(last=False)
        found.update(made)
    return Markup("\n    ").join(found[key] for key in keys)
