"""Web pages at production volume against a bare Flask + Jinja page, under the same gunicorn settings.

    python bench/web.py                      # generate (minutes), then measure
    python bench/web.py --keep               # measure the data a previous run left
    python bench/web.py --keep --profile inbox --requests 300   # where one page's time goes
    python bench/web.py --keep --profile inbox --requests 500 --batches 5 --no-cprofile   # its CPU only

Needs PostgreSQL (default: a database ``bizportal_web_bench`` on 127.0.0.1, created if missing;
without ``--keep`` its tables are dropped, rebuilt from the migrations and filled) and
``redis-server`` and ``wrk`` on the PATH (installed with apt-get when missing and run as root).
The data: ``bench/inbox.py``'s 100,000 items in one
chamber's inbox (+10,000 in another), then ``flask demo generate``'s generator
(``demo_history.generate``) with one million filings of 10,000 companies over a year, seeded;
one company owns 200 of them, another none; a draft of a Gewerbeanmeldung; a steering user.

The portal runs as in production (``BIZPORTAL_ENV=production``, ``gunicorn -c gunicorn.conf.py``:
its workers, threads and access log, rate limits counted in a Redis started on loopback for the
run, HTTPS as a TLS-terminating proxy reports it through ``X-Forwarded-Proto``, every security
check on). Only the budget of the form-step POST limit is raised, so the limiter still counts
every request but does not answer 429. The bare page is a Flask app rendering a compiled Jinja
template with 13 links, served by the same gunicorn command. Signed-in pages get a session made as
the login callback makes it (``login_user`` with the login's identity: a server-side session row,
the signed cookie with Flask-Login's strong session protection), fresh for every run so no re-check
at the provider falls into the clock; the form-step POST sends the CSRF token of that session. The
form-step POST is measured twice: 16 connections saving one draft (each save holds its company's lock)
and, as companies use the portal, 16 companies each saving a step of its own draft, sent in turn.

Each round runs ``wrk`` (``--threads`` threads, ``--connections`` connections, ``--duration`` s)
against the bare page and then every page kind; rounds are interleaved and the medians reported:
req/s, p50 and p99 latency, and the ratio to the bare page of the same round (the figure a shared,
loaded machine distorts least). The load average is printed before and after; the web workers'
largest RSS after the last round (with PSS and private memory,
which tell what the workers share).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, func, select, text, update  # noqa: E402

from bench.delivery import free_port  # noqa: E402
from bench.stats import prepare  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bizportal_web_bench"
HOST = "unternehmen.bremen.example.org"
USER_AGENT = "bench-web"
#: the company whose pages are measured owns this many filings
COMPANY_FILINGS = 200
#: companies that save a step of their own draft at the same time (the spread form-step POST)
POSTING_COMPANIES = 16
STEP_SERVICE, STEP_KEY = "gewerbeanmeldung", "inhaber"

BARE_TEMPLATE = """<!doctype html><html lang="de"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><header><h1>{{ title }}</h1></header><nav><ul>
{% for href, label in links %}<li><a href="{{ href }}">{{ label }}</a></li>
{% endfor %}</ul></nav><main><p>{{ text }}</p></main></body></html>"""


#: the programs the run needs, and the Debian package of each
TOOLS = {"wrk": "wrk", "redis-server": "redis-server"}


def ensure_tools() -> None:
    """Install what is missing of ``TOOLS`` with apt-get when this runs as root on Debian (as CI and
    a fresh machine of the project do); otherwise stop with what to install."""
    missing = [package for program, package in TOOLS.items() if shutil.which(program) is None]
    if not missing:
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"bench/web.py: installing {' '.join(missing)} (apt-get)", file=sys.stderr)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)
        return
    sys.exit(f"bench/web.py needs {', '.join(missing)} on the PATH (Debian: apt-get install {' '.join(missing)})")


def bare_app():
    """The ceiling: Flask routing a request to a view that renders a compiled template with 13 links."""
    from flask import Flask, render_template_string

    app = Flask("bare")
    links = [(f"/leistungen/{k}", f"Leistung {k}") for k in range(13)]

    @app.get("/")
    def index():
        return render_template_string(BARE_TEMPLATE, title="Leistungen", links=links, text="Ein Absatz.")

    return app


def production_env(url: str, redis_port: int, state: Path) -> dict[str, str]:
    from tests.support.identity import IDENTITY, PRODUCTION_BASE

    env = {f"BIZPORTAL_{k}": v for k, v in {**PRODUCTION_BASE, **IDENTITY}.items()}
    env.update({
        "BIZPORTAL_ENV": "production",
        "BIZPORTAL_DATABASE_URL": url,
        "BIZPORTAL_SECRET_KEY": secrets.token_urlsafe(32),
        "BIZPORTAL_TRUSTED_HOSTS": HOST,
        "BIZPORTAL_PUBLIC_BASE_URL": f"https://{HOST}",
        "BIZPORTAL_PROXY_FIX_HOPS": "1",
        "BIZPORTAL_RATE_LIMIT_STORAGE_URI": f"redis://127.0.0.1:{redis_port}/0",
        "BIZPORTAL_RATE_LIMIT_UPLOAD": "1000000 per minute",
        "BIZPORTAL_UPLOAD_DIR": str(state / "uploads"),
        "BIZPORTAL_MAIL_FOLDER": str(state / "mail"),
    })
    return env


def fill(app, filings: int, companies: int, inbox: int) -> str:
    """The volume described above; returns how long it took and what was written."""
    from bench import inbox as inbox_bench
    from bizportal.demo_history import generate
    from bizportal.extensions import db

    t0 = time.perf_counter()
    inbox_bench.fill(app, inbox)  # first: it takes ids from the sequence; the generator sets its own
    with app.app_context():
        written = generate(filings, days=365, companies=companies,
                           progress=lambda n: print(f"  {n:,} filings", file=sys.stderr) if n % 100_000 == 0
                           else None)
        db.session.execute(text("SELECT setval(pg_get_serial_sequence('filing', 'id'), (SELECT max(id) FROM filing))"))
        db.session.commit()
    return (f"generated in {time.perf_counter() - t0:.0f} s: {inbox:,} inbox items, "
            + ", ".join(f"{n:,} {k}" for k, n in written.items()))


@dataclass
class Fixtures:
    company_person: int = 0
    empty_person: int = 0
    staff: int = 0
    steering: int = 0
    draft: str = ""
    reference: str = ""
    inbox_item: int = 0
    #: how many filings the measured company owns, how many items the measured inbox holds (the labels)
    company_filings: int = 0
    inbox_items: int = 0
    #: (person, draft) of each of ``POSTING_COMPANIES`` companies with a draft of the step's service
    posters: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)


def fixtures(app) -> Fixtures:
    """The people and records the pages are measured for (found again with ``--keep``)."""
    from bizportal.auth.models import Company, Person, StaffUser
    from bizportal.catalog import queries as catalog
    from bizportal.extensions import db
    from bizportal.filings import services
    from bizportal.filings.models import Draft, Filing
    from bizportal.inbox.models import InboxItem

    out = Fixtures()
    with app.test_request_context("/"), app.app_context():
        def person(org: str) -> Person:
            found = db.session.scalar(select(Person).where(Person.issuer == "bench-web", Person.sub == org))
            if found is None:
                company = Company(issuer="bench-web", org_id=org, name=f"{org} GmbH", legal_form="GmbH",
                                  street="Am Markt 1", postcode="28195", city="Bremen")
                db.session.add(company)
                db.session.flush()
                found = Person(issuer="bench-web", sub=org, company_id=company.id, name=f"Person {org}",
                               email=f"{org}@example.org")
                db.session.add(found)
                db.session.flush()
            found.company.reviewed_fingerprint = found.company.provider_fingerprint()
            db.session.commit()
            return found

        owner, empty = person("bench-200"), person("bench-empty")
        out.company_person, out.empty_person = owner.id, empty.id
        have = db.session.scalar(select(func.count()).select_from(Filing).where(Filing.company_id == owner.company_id))
        if have < COMPANY_FILINGS:
            others = (Filing.company_id != owner.company_id, Filing.company_id != empty.company_id)
            ids = select(Filing.id).where(*others).order_by(Filing.id.desc()).limit(COMPANY_FILINGS - have) \
                .scalar_subquery()
            db.session.execute(update(Filing).where(Filing.id.in_(ids))
                               .values(company_id=owner.company_id, person_id=owner.id)
                               .execution_options(synchronize_session=False))
            db.session.commit()
        for n in range(POSTING_COMPANIES):
            poster = person(f"bench-post-{n}")
            own = db.session.scalar(select(Draft.id).where(Draft.company_id == poster.company_id,
                                                           Draft.service_key == STEP_SERVICE))
            if own is None:
                service = catalog.get_service(STEP_SERVICE)
                own = services.start_draft(poster, service, _prefill_of(service, poster.company, poster)).id
            out.posters.append((poster.id, own))
        out.reference = db.session.scalar(select(Filing.reference).where(Filing.company_id == owner.company_id)
                                          .order_by(Filing.submitted_at.desc()).limit(1))
        draft = db.session.scalar(select(Draft).where(Draft.company_id == owner.company_id,
                                                      Draft.service_key == STEP_SERVICE))
        if draft is None:
            service = catalog.get_service(STEP_SERVICE)
            company = owner.company
            draft = services.start_draft(owner, service, _prefill_of(service, company, owner))
        out.draft = draft.id
        staff = db.session.scalar(select(StaffUser).where(StaffUser.sub == "staff-0"))  # bench/inbox.py's
        out.staff = staff.id
        steering = db.session.scalar(select(StaffUser).where(StaffUser.sub == "bench-web-steering"))
        if steering is None:
            steering = StaffUser(issuer="bench-web", sub="bench-web-steering", name="Steuerung", roles=["steering"])
            db.session.add(steering)
            db.session.commit()
        out.steering = steering.id
        out.company_filings = db.session.scalar(select(func.count()).select_from(Filing)
                                                 .where(Filing.company_id == owner.company_id))
        out.inbox_items = db.session.scalar(select(func.count()).select_from(InboxItem)
                                            .where(InboxItem.chamber_id == staff.chamber_id))
        out.inbox_item = db.session.scalar(select(InboxItem.id).where(InboxItem.chamber_id == staff.chamber_id)
                                           .order_by(InboxItem.received_at.desc()).limit(1))
        db.session.remove()
    return out


def _prefill_of(service, company, person):
    from bizportal.filings.forms import prefill_values

    return prefill_values(service, {
        "company": {**company.master_data(), "phone": company.phone, "email": company.notification_email},
        "person": {"name": person.name, "email": person.email}})


def signed_in(app, kind: str, user_id: int) -> tuple[str, str]:
    """(Cookie header, CSRF token) of a new login of ``user_id`` as the login callback makes it."""
    from flask import g, session
    from flask_login import login_user
    from flask_wtf.csrf import generate_csrf

    from bizportal.auth.models import Person, StaffUser
    from bizportal.extensions import db

    model = Person if kind == "company" else StaffUser
    environ = {"REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "https"}
    with app.test_request_context("/", base_url=f"https://{HOST}", environ_base=environ,
                                  headers={"User-Agent": USER_AGENT}):
        user = db.session.get(model, user_id)
        g.login_identity = {"issuer": user.issuer, "sub": user.sub, "sid": None, "trust_level": "high"}
        login_user(user)
        token = generate_csrf()
        value = app.session_interface.get_signing_serializer(app).dumps(dict(session))
        db.session.remove()
    return f"{app.config['SESSION_COOKIE_NAME']}={value}", token


@dataclass
class Page:
    name: str
    path: str
    user: tuple[str, str] | None = None  # (kind, fixture attribute)
    method: str = "GET"
    body: dict | None = None
    #: a page asked for by every (person, draft) of this ``Fixtures`` list in turn; ``path`` has ``{draft}``
    spread: str | None = None


@dataclass
class Request:
    """One request wrk sends: the path, the session's cookie, the form body of a POST."""
    path: str
    cookie: str | None
    body: str | None


def requests_of(app, fx: Fixtures, page: Page) -> list[Request]:
    """The requests of a page kind, each with a new login (and for a POST the step's fields as its
    draft holds them and the session's CSRF token)."""
    from urllib.parse import urlencode

    if page.spread:
        users = [("company", person, page.path.format(draft=draft), draft)
                 for person, draft in getattr(fx, page.spread)]
    else:
        users = [(page.user[0] if page.user else "", getattr(fx, page.user[1]) if page.user else 0, page.path,
                  fx.draft)]
    out = []
    for kind, user_id, path, draft in users:
        cookie, token = signed_in(app, kind, user_id) if kind else (None, "")
        body = None
        if page.method == "POST":
            body = urlencode({**step_form(app, draft), **(page.body or {}), "csrf_token": token})
        out.append(Request(path, cookie, body))
    return out


def pages(fx: Fixtures) -> list[Page]:
    step = f"/antraege/entwurf/{fx.draft}/{STEP_KEY}"
    save = {"inhaber_art": "natuerliche_person", "registereintrag": "no", "action": "save"}
    return [
        Page("catalog", "/"),
        Page("catalog search", "/?q=gewerbe+anmelden"),
        Page("service page", f"/leistungen/{STEP_SERVICE}"),
        Page(f"start page, signed in ({fx.company_filings:,} filings)", "/", ("company", "company_person")),
        Page("filing list, no filings", "/antraege", ("company", "empty_person")),
        Page(f"filing list, {fx.company_filings:,} filings", "/antraege", ("company", "company_person")),
        Page("form step GET", step, ("company", "company_person")),
        Page("form step POST, one draft (save, redirect)", step, ("company", "company_person"), "POST", save),
        Page(f"form step POST, {POSTING_COMPANIES} companies' drafts in turn",
             f"/antraege/entwurf/{{draft}}/{STEP_KEY}", None, "POST", save, spread="posters"),
        Page("filing status page", f"/antraege/{fx.reference}", ("company", "company_person")),
        Page(f"staff inbox ({fx.inbox_items:,} items)", "/staff/posteingang", ("staff", "staff")),
        Page("staff filing page", f"/staff/posteingang/{fx.inbox_item}", ("staff", "staff")),
        Page("steering dashboard", "/staff/statistik", ("staff", "steering")),
    ]


def step_form(app, draft_id: str) -> dict:
    """The form-step POST body: the step's fields as the draft holds them (a complete, valid step)."""
    from bizportal.catalog import queries as catalog
    from bizportal.extensions import db
    from bizportal.filings.forms import formdata_from_answers, visible_step_fields
    from bizportal.filings.models import Draft

    with app.app_context():
        draft = db.session.get(Draft, draft_id)
        fields = visible_step_fields(catalog.get_service(STEP_SERVICE), STEP_KEY, draft.data)
        data = formdata_from_answers(fields, draft.data)
        db.session.remove()
    return {k: v for k, v in data.items(multi=True) if v not in (None, "")}


def headers_for(cookie: str | None, path: str) -> list[str]:
    out = [f"Host: {HOST}", "X-Forwarded-Proto: https", f"User-Agent: {USER_AGENT}"]
    if cookie:
        out += [f"Cookie: {cookie}", f"Referer: https://{HOST}{path}"]
    return out


def wrk(port: int, page: Page, sent: list[Request], args, scratch: Path) -> dict:
    """wrk on one page kind; several requests (a spread page) are sent in turn by each wrk thread."""
    argv = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency"]
    first = sent[0]
    if len(sent) > 1:
        argv += ["-s", str(_rotation_script(page, sent, scratch))]
    else:
        for h in headers_for(first.cookie, first.path):
            argv += ["-H", h]
        if page.method == "POST":
            script = scratch / "post.lua"
            script.write_text(f'wrk.method = "POST"\nwrk.body = "{first.body}"\n'
                              'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n')
            argv += ["-s", str(script)]
    argv.append(f"http://127.0.0.1:{port}{first.path}")
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),
            "p99": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),
            "bad": int(bad.group(1)) if bad else 0}


def _lua(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _rotation_script(page: Page, sent: list[Request], scratch: Path) -> Path:
    """A wrk script whose threads send the requests in turn (each thread starting elsewhere)."""
    rows = []
    for r in sent:
        headers = dict(h.split(": ", 1) for h in headers_for(r.cookie, r.path))
        if r.body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        fields = ", ".join(f"[{_lua(k)}] = {_lua(v)}" for k, v in headers.items())
        body = _lua(r.body) if r.body is not None else "nil"
        rows.append(f"  {{{_lua(r.path)}, {{{fields}}}, {body}}},")
    script = scratch / "rotation.lua"
    script.write_text(
        "local specs = {\n" + "\n".join(rows) + "\n}\n"
        "local made, n = {}, 0\n"
        "function init(args)\n"
        "  for i, s in ipairs(specs) do made[i] = wrk.format(" + _lua(page.method) + ", s[1], s[2], s[3]) end\n"
        "  n = math.random(#made) - 1\n"
        "end\n"
        "function request()\n"
        "  n = n % #made + 1\n"
        "  return made[n]\n"
        "end\n")
    return script


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def gunicorn(target: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    argv = [str(ROOT / ".venv/bin/gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}",
            target]
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def wait_up(port: int, path: str, proc: subprocess.Popen) -> None:
    import requests

    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn on {port} exited with {proc.returncode}")
        try:
            requests.get(f"http://127.0.0.1:{port}{path}", headers={"Host": HOST, "X-Forwarded-Proto": "https"},
                         timeout=10)
            return
        except requests.RequestException:  # not listening yet, or the workers still loading
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn on {port} did not answer")


def worker_memory_mb(master: int) -> dict[str, float]:
    """The web workers' largest RSS, PSS (shared pages divided among the processes sharing them)
    and private memory (pages no other process maps), in MB, from ``/proc/<pid>/smaps_rollup``."""
    children = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
    out = {"rss": 0.0, "pss": 0.0, "private": 0.0}
    for pid in children:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        kb = {k: int(v) for k, v in re.findall(r"^(\w+):\s+(\d+) kB", rollup, re.M)}
        for key, value in (("rss", kb["Rss"]), ("pss", kb["Pss"]),
                           ("private", kb["Private_Clean"] + kb["Private_Dirty"])):
            out[key] = max(out[key], value / 1024)
    return out


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def check(app, page: Page, sent: Request) -> tuple[int, str]:
    """One request through the test client; the status code (a page that answers an error or
    sends to the login is no figure) and the field errors the page shows, if any."""
    client = app.test_client(use_cookies=False)  # the Cookie header as wrk sends it
    headers = dict(h.split(": ", 1) for h in headers_for(sent.cookie, sent.path))
    headers.pop("Host")
    body = sent.body
    kwargs = {"data": body, "content_type": "application/x-www-form-urlencoded"} if body else {}
    response = client.open(sent.path, method=page.method, base_url=f"https://{HOST}", headers=headers,
                           environ_base={"REMOTE_ADDR": "127.0.0.1"}, **kwargs)
    errors = re.findall(r'id="([\w-]+)-error">.*?Fehler: </span>(.*?)</span>', response.get_data(as_text=True), re.S)
    return response.status_code, "; ".join(f"{name}: {text}" for name, text in errors)


def profile(app, page: Page, fx: Fixtures, requests: int, sort: str = "cumulative", out: str | None = None,
            batches: int = 1, profiled: bool = True) -> None:
    """``requests`` requests of one page in-process under cProfile; SQL statements per request."""
    from bizportal.extensions import db

    sent = requests_of(app, fx, page)[0]
    statements: list[str] = []
    with app.app_context():
        engine = db.engine
    listener = lambda *a: statements.append(a[2])  # noqa: E731
    status, _errors = check(app, page, sent)
    event.listen(engine, "before_cursor_execute", listener)
    check(app, page, sent)
    event.remove(engine, "before_cursor_execute", listener)
    print(f"{page.name}: HTTP {status}, {len(statements)} SQL statements per request:")
    for sql in statements:
        print("   ", " ".join(sql.split())[:160])
    walls, cpus, own = [], [], []
    for size in [requests // batches] * batches:  # batches: the least disturbed one tells the CPU a request needs
        t0, c0, o0 = time.perf_counter(), time.process_time(), time.thread_time()
        for _ in range(size):
            check(app, page, sent)
        walls.append((time.perf_counter() - t0) / size * 1000)
        cpus.append((time.process_time() - c0) / size * 1000)
        own.append((time.thread_time() - o0) / size * 1000)
    print(f"per request, in-process through the test client: {statistics.median(walls):.1f} ms, "
          f"CPU of this process {statistics.median(cpus):.1f} ms, of the requests' thread "
          f"{statistics.median(own):.1f} ms (medians of {batches} batches; least {min(walls):.1f} / "
          f"{min(cpus):.1f} / {min(own):.1f} ms); load average {load()}")
    if not profiled:
        return
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(requests):
        check(app, page, sent)
    prof.disable()
    if out:
        prof.dump_stats(out)
    pstats.Stats(prof).sort_stats(sort).print_stats(45)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="measure the data of a previous run")
    parser.add_argument("--filings", type=int, default=1_000_000)
    parser.add_argument("--companies", type=int, default=10_000)
    parser.add_argument("--inbox", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--only", help="measure only the page kinds whose names contain one of these words "
                                       "(comma-separated)")
    parser.add_argument("--profile", help="profile the first page kind whose name contains this word instead")
    parser.add_argument("--requests", type=int, default=200, help="requests of the profiled page")
    parser.add_argument("--sort", default="cumulative", help="order of the profile (pstats: cumulative, tottime, …)")
    parser.add_argument("--profile-out", help="also write the profile to this file (for pstats or snakeviz)")
    parser.add_argument("--batches", type=int, default=1, help="time the profiled page's requests in this many "
                                                                "batches (medians and least of them)")
    parser.add_argument("--no-cprofile", action="store_true", help="only the statements and the times, no cProfile")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args()
    ensure_tools()

    scratch = Path(tempfile.mkdtemp(prefix="bench-web-"))
    procs: list[subprocess.Popen] = []
    try:
        redis_port = free_port()
        procs.append(subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                                       "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL))
        env = {**os.environ, **production_env(args.database_url, redis_port, scratch)}
        os.environ.update(env)  # the bench process builds the same app as the servers

        from flask_migrate import upgrade

        from bizportal import create_app

        prepare(args.database_url, args.keep)
        app = create_app()
        with app.app_context():
            upgrade(revision="heads")
        generated = "" if args.keep else fill(app, args.filings, args.companies, args.inbox) + "; "
        fx = fixtures(app)
        with app.app_context():
            from bizportal.extensions import db

            version = db.session.execute(text("SHOW server_version")).scalar()
            filings = db.session.scalar(text("SELECT count(*) FROM filing"))
            db.session.remove()
        kinds = pages(fx)
        if args.profile:
            profile(app, next(p for p in kinds if args.profile in p.name), fx, args.requests, args.sort,
                    args.profile_out, max(1, args.batches), not args.no_cprofile)
            return
        if args.only:
            words = args.only.split(",")
            kinds = [p for p in kinds if any(w in p.name for w in words)]

        portal_port, bare_port = free_port(), free_port()
        portal = gunicorn("wsgi:app", portal_port, env, scratch / "portal.log")
        bare = gunicorn("bench.web:bare_app()", bare_port, {**os.environ}, scratch / "bare.log")
        procs += [portal, bare]
        wait_up(portal_port, "/healthz", portal)
        wait_up(bare_port, "/", bare)
        run(app, args, fx, kinds, portal_port, bare_port, scratch, portal.pid, version, filings, generated)
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(scratch, ignore_errors=True)


def run(app, args, fx: Fixtures, kinds: list[Page], portal_port: int, bare_port: int, scratch: Path,
        portal_pid: int, version: str, filings: int, generated: str) -> None:
    bare_page = Page("bare Flask + Jinja page (13 links)", "/")
    results: dict[str, list[dict]] = {p.name: [] for p in [bare_page, *kinds]}
    before = load()
    for _ in range(args.rounds):
        bare = wrk(bare_port, bare_page, [Request(bare_page.path, None, None)], args, scratch)
        results[bare_page.name].append({**bare, "ratio": 1.0})
        for page in kinds:
            sent = requests_of(app, fx, page)
            for one in sent:
                status, errors = check(app, page, one)
                if status != (302 if page.method == "POST" else 200):
                    raise RuntimeError(f"{page.name}: HTTP {status} {errors}".strip())
            figures = wrk(portal_port, page, sent, args, scratch)
            if figures["bad"]:
                raise RuntimeError(f"{page.name}: {figures['bad']} error responses under load")
            for one in sent:  # wrk counts a redirect as an answer: the sessions must still be good after it
                status, errors = check(app, page, one)
                if status != (302 if page.method == "POST" else 200):
                    raise RuntimeError(f"{page.name}: HTTP {status} after the run {errors}".strip())
            results[page.name].append({**figures, "ratio": figures["rps"] / bare["rps"]})
    memory = worker_memory_mb(portal_pid)
    print(f"{filings:,} filings; {generated}PostgreSQL {version}, Python {platform.python_version()}, "
          f"{platform.machine()}, {os.cpu_count()} cores; gunicorn.conf.py settings; wrk -t{args.threads} "
          f"-c{args.connections} -d{args.duration}s, medians of {args.rounds} interleaved rounds; load average "
          f"(1/5/15 min) {before} before, {load()} after; largest web worker RSS after the run: "
          f"{memory['rss']:.0f} MB (PSS {memory['pss']:.0f} MB, private {memory['private']:.0f} MB)")
    print("| page | req/s | p50 ms | p99 ms | × bare page |")
    print("|---|---|---|---|---|")
    for name, rounds in results.items():
        med = {k: statistics.median(r[k] for r in rounds) for k in ("rps", "p50", "p99", "ratio")}
        print(f"| {name} | {med['rps']:,.0f} | {med['p50']:.1f} | {med['p99']:.1f} | {med['ratio']:.2f} |")


if __name__ == "__main__":
    main()
