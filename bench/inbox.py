"""The chamber inbox list at scale: one chamber with 100,000 inbox items (and their filings).

    python bench/inbox.py --items 100000

Needs PostgreSQL (default: a database ``bizportal_inbox_bench`` on 127.0.0.1, created if missing;
its tables are dropped and rebuilt from the migrations). The script inserts N filings, each with
one delivered delivery and one inbox item of the first chamber (plus N/10 items of a second
chamber, so the chamber condition has something to exclude), spread over a year, with company
names, register numbers, services, statuses and assignments drawn from fixed pools (seeded, so
every run builds the same data); then ANALYZE. It then times what one request of the list asks
the database for, through the same functions the view calls (``inbox.queries.list_page`` and
``count_matching``): the first page, a page deep in the list through its "Weitere" cursor, searches
and filters. Each case runs ``--repeat`` times after one warm-up; the medians are printed in ms.
For comparison, the deep page is also fetched with OFFSET, as a page number would.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, text  # noqa: E402

from bench.delivery import ensure_database, make_app  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bizportal_inbox_bench"
SERVICES = ["gewerbeanmeldung", "gewerbeummeldung", "gewerbeabmeldung", "gaststaettenerlaubnis",
            "bewachungserlaubnis-34a", "immobilienmakler-34c", "versicherungsvermittler-34d", "reisegewerbekarte"]
STATUSES = ["forwarded"] * 30 + ["received"] * 25 + ["in_progress"] * 20 + ["information_requested"] * 5 + \
           ["accepted"] * 12 + ["rejected"] * 3 + ["withdrawn"] * 5
WORDS = ["Becker", "Müller", "Schmidt", "Hansen", "Weber", "Krüger", "Nordlicht", "Hanse", "Weser", "Elbe",
         "Bau", "Elektro", "Logistik", "Handel", "Versicherung", "Immobilien", "Gastro", "Sicherheit"]
FORMS = ["GmbH", "GmbH & Co. KG", "e. K.", "KG", "OHG", "AG", "UG (haftungsbeschränkt)"]
COURTS = ["Bremen", "Hamburg", "Oldenburg", "Hannover"]


def fill(app, n: int, seed: int = 11) -> dict:
    """N items of the first chamber, N/10 of the second; returns what the cases search for."""
    from bizportal.auth.models import Company, Person, StaffUser
    from bizportal.bodies.models import Chamber
    from bizportal.common.validators import register_key
    from bizportal.delivery.models import Delivery
    from bizportal.demo import ensure_chambers
    from bizportal.extensions import db
    from bizportal.filings.models import Filing
    from bizportal.inbox.models import InboxItem

    rng = random.Random(seed)
    end = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    with app.app_context():
        ensure_chambers()
        chamber_ids = list(db.session.scalars(select(Chamber.id).order_by(Chamber.id).limit(2)))
        company = Company(issuer="bench", org_id="bench", name="Benchmark GmbH", postcode="28195")
        db.session.add(company)
        db.session.flush()
        person = Person(issuer="bench", sub="bench", company_id=company.id, name="Bench")
        staff = [StaffUser(issuer="bench", sub=f"staff-{k}", name=f"Staff {k}", roles=["chamber_staff"],
                           chamber_id=chamber_ids[0]) for k in range(10)]
        db.session.add_all([person, *staff])
        db.session.commit()
        staff_ids = [s.id for s in staff]
        names = [f"{rng.choice(WORDS)} {rng.choice(WORDS)} {k} {rng.choice(FORMS)}" for k in range(5000)]
        total = n + n // 10
        batch = 5000
        for start in range(0, total, batch):
            count = min(batch, total - start)
            filings, deliveries, items = [], [], []
            for i in range(start, start + count):
                chamber_id = chamber_ids[0] if i < n else chamber_ids[1]
                at = end - timedelta(seconds=rng.randrange(365 * 86400))
                name = rng.choice(names)
                register = (f"{rng.choice(COURTS)} {rng.choice(['HRA', 'HRB'])} {rng.randrange(1000, 200000)}"
                            if rng.random() < 0.6 else None)
                service = rng.choice(SERVICES)
                data = {"postcode": "28195", **({"handelsregisternummer": register} if register else {})}
                delivery_id = uuid.uuid4()
                filings.append({"reference": f"BP-{at.year}-{i:06d}", "submit_token": f"bench-{i}",
                                "company_id": company.id, "person_id": person.id, "service_key": service,
                                "data": data, "company_snapshot": {"name": name}, "status": rng.choice(STATUSES),
                                "submitted_at": at})
                deliveries.append({"id": delivery_id, "chamber_id": chamber_id, "role": "primary",
                                   "state": "delivered", "attempts": 1, "next_attempt_at": at, "created_at": at,
                                   "delivered_at": at})
                items.append({"delivery_id": delivery_id, "chamber_id": chamber_id,
                              "reference": f"BP-{at.year}-{i:06d}",
                              "service_key": service, "service_title": service, "destination_role": "primary",
                              "company": {"name": name, "postcode": "28195"}, "data": data, "attachments": [],
                              "submitted_at": at, "received_at": at, "company_name_folded": name.casefold(),
                              "register_number": register_key(register) if register else None,
                              "assigned_to_id": rng.choice(staff_ids) if rng.random() < 0.3 else None})
            ids = list(db.session.scalars(insert(Filing).returning(Filing.id, sort_by_parameter_order=True), filings))
            for d, fid in zip(deliveries, ids, strict=True):
                d["filing_id"] = fid
            db.session.execute(insert(Delivery), deliveries)
            db.session.execute(insert(InboxItem), items)
            db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        some = db.session.execute(select(InboxItem.reference, InboxItem.register_number, InboxItem.company_name_folded)
                                  .where(InboxItem.chamber_id == chamber_ids[0], InboxItem.register_number.isnot(None))
                                  .order_by(InboxItem.id).offset(n // 2).limit(1)).one()
        return {"chamber_id": chamber_ids[0], "staff_id": staff_ids[0], "reference": some[0], "register": some[1],
                "rare_name": " ".join(some[2].split()[2:3]) + " ", "end": end}


def cases(probe: dict) -> dict:
    from bizportal.inbox.queries import InboxFilter

    me, end = probe["staff_id"], probe["end"]
    return {
        "first page (newest first)": InboxFilter(),
        "first page, oldest first": InboxFilter(sort="aelteste"),
        "first page, by company": InboxFilter(sort="unternehmen"),
        "search: reference exact": InboxFilter(reference=probe["reference"]),
        "search: reference prefix (BP-2026-0)": InboxFilter(reference="BP-2026-0"),
        "search: company contains, rare": InboxFilter(company=probe["rare_name"]),
        "search: company contains, common (gmbh)": InboxFilter(company="gmbh"),
        "search: company contains, no match": InboxFilter(company="gibt es nicht"),
        "search: register number": InboxFilter(register=probe["register"]),
        "filter: status accepted": InboxFilter(status="accepted"),
        "filter: status information_requested": InboxFilter(status="information_requested"),
        "filter: status submitted (no item has it)": InboxFilter(status="submitted"),
        "filter: service": InboxFilter(service_key="reisegewerbekarte"),
        "filter: assigned to me": InboxFilter(assignment="mir", staff_user_id=me),
        "filter: unassigned": InboxFilter(assignment="niemand", staff_user_id=me),
        "filter: one week": InboxFilter(received_from=end - timedelta(days=100),
                                        received_before=end - timedelta(days=93)),
        "filter: new since (2 days)": InboxFilter(new_since=end - timedelta(days=2)),
        "combined: status + service + by company": InboxFilter(status="in_progress", service_key="gewerbeanmeldung",
                                                               sort="unternehmen"),
    }


def timed(fn, repeat: int) -> float:
    from bizportal.extensions import db

    fn()
    db.session.rollback()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
        db.session.rollback()
        db.session.expunge_all()
    return statistics.median(times)


def measure(app, probe: dict, repeat: int, deep: int) -> list[tuple[str, float, float | None]]:
    from bizportal.extensions import db
    from bizportal.inbox import queries
    from bizportal.inbox.queries import Cursor, InboxFilter

    chamber = probe["chamber_id"]
    results = []
    with app.app_context():
        for name, where in cases(probe).items():
            page = timed(lambda w=where: queries.list_page(chamber, w), repeat)
            count = timed(lambda w=where: queries.count_matching(chamber, w), repeat)
            results.append((name, page, count))
        where = InboxFilter()
        # the "Weitere" cursor of the page that ends at row ``deep`` (found once, not timed)
        item = db.session.execute(queries._ordered(queries._listing(where), where.sort)
                                  .offset(deep - 1).limit(1), queries._values(chamber, where)).one()[0]
        cursor = Cursor(where.sort, item.received_at, item.id)
        results.append((f"deep page after row {deep:,} (keyset cursor)",
                        timed(lambda: queries.list_page(chamber, where, after=cursor), repeat), None))
        results.append((f"deep page after row {deep:,} (OFFSET, for comparison)",
                        timed(lambda: db.session.execute(queries._ordered(queries._listing(where), where.sort)
                                                         .offset(deep).limit(queries.PAGE_SIZE + 1),
                                                         queries._values(chamber, where)).all(), repeat),
                        None))
        back = cursor
        results.append((f"page before row {deep:,} (Zurück)",
                        timed(lambda: queries.list_page(chamber, where, before=back), repeat), None))
        status = InboxFilter(status="accepted")
        item = db.session.execute(queries._ordered(queries._listing(status), status.sort)
                                  .offset(deep // 10 - 1).limit(1), queries._values(chamber, status)).one()[0]
        cursor = Cursor(status.sort, item.received_at, item.id)
        results.append((f"deep page, status accepted, after its row {deep // 10:,}",
                        timed(lambda: queries.list_page(chamber, status, after=cursor), repeat), None))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--deep", type=int, default=90_000, help="row after which the deep page starts")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from flask_migrate import upgrade

    ensure_database(args.database_url)
    app = make_app(args.database_url)
    with app.app_context():
        upgrade()
        version = app.extensions["sqlalchemy"].engine.connect().execute(text("SHOW server_version")).scalar()
    t0 = time.perf_counter()
    probe = fill(app, args.items)
    filled = time.perf_counter() - t0
    results = measure(app, probe, args.repeat, min(args.deep, args.items - 100))
    if args.json:
        print(json.dumps({"items": args.items, "results": results}, indent=2))
        return
    print(f"{args.items:,} items in one chamber (+{args.items // 10:,} in another), filled in {filled:.0f} s; "
          f"PostgreSQL {version}, Python {platform.python_version()}; median of {args.repeat} runs, ms")
    print("| case | page (ms) | count, capped at 1,001 (ms) |\n|---|---|---|")
    for name, page, count in results:
        print(f"| {name} | {page:.1f} | {'' if count is None else f'{count:.1f}'} |")


if __name__ == "__main__":
    main()
