"""Markup rendered once per key and kept: a bounded store, the least recently used dropped first.

For parts of a page that hold nothing of the person (no CSRF token, no name), so the same key gives
the same markup to everyone: the staff inbox's filter form and the blank forms of the staff filing
page and the rows of the staff inbox (``inbox.views``), the rows of "Meine Anträge"
(``filings.listing``). The key must name everything the markup depends on, the language among it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from flask import current_app
from markupsafe import Markup


class Rendered:
    def __init__(self, size: int) -> None:
        self._kept: OrderedDict[tuple, Markup] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: tuple, render: Callable[[], str]) -> Markup:
        """The markup kept for ``key``, or ``render()``'s, kept from now on."""
        with self._lock:
            html = self._kept.get(key)
            if html is not None:
                self._kept.move_to_end(key)
                return html
        html = Markup(render())
        with self._lock:
            self._kept[key] = html
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)
        return html

    def form_fields(self, blank: bool, key: tuple, render: Callable[[], str]) -> Markup:
        """A form's fields: kept for ``key`` when the form is ``blank`` (made without the request's
        input, so it shows nothing of anyone), rendered anew when it is shown again with its input
        and errors. The key must name what the blank fields show besides the form itself."""
        return self.get(key, render) if blank else Markup(render())


def kept_with(name: str, snapshot: object, size: int) -> Rendered:
    """The app's store ``name`` of markup rendered with the catalog ``snapshot`` (``Portal.snapshot``):
    a new store at the first use and after a catalog import (``catalog.refresh`` puts a new snapshot
    in place), so nothing rendered with an older catalog's titles or labels is served again."""
    key = f"bizportal.rendered.{name}"
    kept: tuple[object, Rendered] | None = current_app.extensions.get(key)
    if kept is None or kept[0] is not snapshot:
        kept = current_app.extensions[key] = (snapshot, Rendered(size))
    return kept[1]
