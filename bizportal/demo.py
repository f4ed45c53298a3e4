"""Demo data: chambers of Bremen and Hamburg, and the demo logins of the development provider."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from .bodies.models import Chamber
from .extensions import db

#: the demo bodies' areas as postcode prefixes, drawn to the municipalities' borders: the city of
#: Bremen (28195–28359, 28717–28779: not Achim 28832 or Schwanewede 28790 next to it, in Lower
#: Saxony), Bremerhaven (its seven postcodes, not Geestland or Loxstedt around it) and Hamburg
#: (20095–20539, 21029–21149, 22041–22769: not Winsen 21423, Lüneburg 21335 or Norderstedt 22844)
BREMEN = ["281", "282", "283", "2871", "2875", "2877"]
BREMERHAVEN = ["27568", "27570", "27572", "27574", "27576", "27578", "27580"]
HAMBURG = ["20", "210", "211", "220", "221", "222", "223", "224", "225", "226", "227"]

CHAMBERS: list[dict[str, Any]] = [
    {"slug": "hwk-bremen", "name": "Handwerkskammer Bremen", "kind": "HWK", "region": "Bremen",
     "postcode_prefixes": [*BREMEN, *BREMERHAVEN]},
    {"slug": "hk-bremen", "name": "Handelskammer Bremen – IHK für Bremen und Bremerhaven", "kind": "IHK",
     "region": "Bremen", "postcode_prefixes": [*BREMEN, *BREMERHAVEN]},
    {"slug": "gewerbeamt-bremen", "name": "Gewerbeamt Bremen (Stadtamt)", "kind": "GEWERBEAMT",
     "region": "Bremen", "postcode_prefixes": BREMEN},
    {"slug": "gewerbeamt-bremerhaven", "name": "Gewerbeamt Bremerhaven (Bürger- und Ordnungsamt)",
     "kind": "GEWERBEAMT", "region": "Bremerhaven", "postcode_prefixes": BREMERHAVEN},
    {"slug": "hwk-hamburg", "name": "Handwerkskammer Hamburg", "kind": "HWK", "region": "Hamburg",
     "postcode_prefixes": HAMBURG},
    {"slug": "hk-hamburg", "name": "Handelskammer Hamburg", "kind": "IHK", "region": "Hamburg",
     "postcode_prefixes": HAMBURG},
    {"slug": "gewerbeamt-hamburg", "name": "Gewerbeamt Hamburg (Bezirksamt)", "kind": "GEWERBEAMT",
     "region": "Hamburg", "postcode_prefixes": HAMBURG},
]

#: Demo users of the development login provider (sub → claims). Company users carry ``org_*``
#: claims, staff users ``roles`` and, for chamber staff, ``chamber``.
DEMO_USERS: dict[str, dict[str, Any]] = {
    "anna.becker": {
        "name": "Anna Becker", "email": "anna.becker@becker-elektro.example",
        "org_id": "demo-org-becker", "org_name": "Becker Elektrotechnik GmbH", "org_legal_form": "GmbH",
        "org_address": {"street_address": "Am Wall 120", "postal_code": "28195", "locality": "Bremen"},
        "org_tax_number": "2475081508152", "acr": "http://eidas.europa.eu/LoA/substantial",
    },
    "jonas.weber": {
        "name": "Jonas Weber", "email": "jonas.weber@becker-elektro.example",
        "org_id": "demo-org-becker", "org_name": "Becker Elektrotechnik GmbH", "org_legal_form": "GmbH",
        "org_address": {"street_address": "Am Wall 120", "postal_code": "28195", "locality": "Bremen"},
        "org_tax_number": "2475081508152", "acr": "http://eidas.europa.eu/LoA/substantial",
    },
    "lea.hansen": {
        "name": "Lea Hansen", "email": "lea@hansen-versicherungen.example",
        "org_id": "demo-org-hansen", "org_name": "Hansen Versicherungsmakler e. K.", "org_legal_form": "e. K.",
        "org_address": {"street_address": "Große Elbstraße 14", "postal_code": "22767", "locality": "Hamburg"},
        "org_tax_number": "2247012345678", "acr": "http://eidas.europa.eu/LoA/substantial",
    },
    "hwk.bremen": {"name": "Petra Schulz (HWK Bremen)", "email": "p.schulz@hwk-bremen.example",
                   "roles": ["chamber_staff"], "chamber": "hwk-bremen"},
    "hk.bremen": {"name": "Tobias Meyer (Handelskammer Bremen)", "email": "t.meyer@hk-bremen.example",
                  "roles": ["chamber_staff"], "chamber": "hk-bremen"},
    "gewerbeamt.bremen": {"name": "Sabine Krüger (Gewerbeamt Bremen)", "email": "s.krueger@stadtamt.example",
                          "roles": ["chamber_staff"], "chamber": "gewerbeamt-bremen"},
    "hk.hamburg": {"name": "Mehmet Yilmaz (Handelskammer Hamburg)", "email": "m.yilmaz@hk-hamburg.example",
                   "roles": ["chamber_staff"], "chamber": "hk-hamburg"},
    "steering": {"name": "Dr. Karin Vogt (Lenkungskreis)", "email": "k.vogt@lenkung.example",
                 "roles": ["steering"]},
    "admin": {"name": "Portal-Administration", "email": "admin@portal.example", "roles": ["admin"]},
}


def ensure_chambers() -> int:
    """Create the demo chambers that are missing (all on the ``inbox`` adapter); returns how many."""
    created = 0
    present = set(db.session.scalars(select(Chamber.slug).where(Chamber.slug.in_([c["slug"] for c in CHAMBERS]))))
    for spec in CHAMBERS:
        if spec["slug"] not in present:
            db.session.add(Chamber(adapter_key="inbox", options={"chamber_slug": spec["slug"]},
                                   enabled=True, **spec))
            created += 1
    db.session.commit()
    return created
