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
from collections.abc import Mapping, Sequence

from flask import get_template_attribute, request
from flask_babel import get_timezone
from markupsafe import Markup
from sqlalchemy import Row

from ..catalog.models import ServiceDefinition
from ..web.rendered import kept_with

#: rendered rows kept per app: about 1.2 KB each with its key (measured on the bench data), so at
#: most about 2.5 MB of a worker's memory (goal: under 150 MB); a page shows 25
ROWS_KEPT = 2048


def filing_rows(filings: Sequence[Row], services: Mapping[str, ServiceDefinition], locale: str,
                snapshot: object) -> Markup:
    """The table rows of ``filings`` (``queries.company_filings``) as HTML, rendered by the macro
    ``filing_row`` of ``filings/_filing_row.html`` for a row whose inputs were not seen before.
    ``services`` are those of the catalog ``snapshot`` (``Portal.snapshot``) the rows are kept with.

    The key holds every input of the row that can differ between requests: the language, time
    zone and script root of the request, and the filing's reference, service, status, date filed
    and a digest of its answers' stored JSON text (decoded only to render a row)."""
    kept = kept_with("filing_rows", snapshot, ROWS_KEPT)
    where = (locale, str(get_timezone()), request.script_root)

    def render(f: Row) -> str:
        macro = get_template_attribute("filings/_filing_row.html", "filing_row")
        return macro(f.reference, f.service_key, services.get(f.service_key),
                     json.loads(f.data_text) if f.data_text else {}, f.submitted_at, f.status, locale)

    def row(f: Row) -> Markup:
        key = (*where, f.reference, f.service_key, f.status, f.submitted_at,
               hashlib.blake2b(f.data_text.encode(), digest_size=16).digest())
        return kept.get(key, lambda: render(f))

    return Markup("\n    ").join(row(f) for f in filings)
