"""Creating and updating companies, persons and staff users from verified login claims."""

from __future__ import annotations

from typing import Any, cast

from flask import g, has_request_context, session
from flask_babel import gettext as _
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from ..audit import services as audit
from ..auth.models import ROLES, Company, LoginSession, Person, StaffUser
from ..bodies.models import Chamber
from ..common.i18n import LOCALES
from ..common.time import utcnow
from ..extensions import db
from ..stats import services as stats
from .oidc import LoginFailed
from .sessions import SESSION_KEY, end_sessions, remember_login_claims


def _str(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text[:limit] or None


def _refused(account: Person | StaffUser | None, end_reason: str, reason: str, message: str) -> LoginFailed:
    """The ``LoginFailed`` for a login the provider's current claims do not allow.

    The open sessions of an existing ``account`` end too (commits): they were granted on claims the
    provider no longer makes (another company, an unknown chamber, no portal role).
    """
    if account is not None:
        ended = end_sessions(LoginSession.user_key == account.get_id(), end_reason)
        reason += f"; {ended} open session(s) ended"
    return LoginFailed(reason, message)


def _once_more_after_a_clash(login: Any) -> Any:
    """Run a find-or-create login once more when it lost the race to create the same rows (two
    first logins of one company or person at the same moment): the second run finds them."""
    for attempt in (1, 2):
        try:
            return login()
        except IntegrityError:
            db.session.rollback()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def company_login(issuer: str, claims: dict[str, Any], company_id_claim: str) -> Person:
    """Find or create the company (issuer + organisation id) and the person (issuer + sub).

    Master data from the provider is refreshed on every login. Raises ``LoginFailed`` when the
    claims name no company, or another company than the person's (the account is not moved, and
    the person's open sessions end). Commits; a concurrent first login of the same company or
    person is no error (``_once_more_after_a_clash``).
    """
    person: Person = _once_more_after_a_clash(lambda: _company_login(issuer, claims, company_id_claim))
    remember_login_claims(issuer, claims)
    return person


def _company_login(issuer: str, claims: dict[str, Any], company_id_claim: str) -> Person:
    org_id = _str(claims.get(company_id_claim), 255)
    if not org_id:
        raise LoginFailed(
            f"company login without '{company_id_claim}' claim (sub={claims.get('sub')!r})",
            _("Ihr Konto ist keinem Unternehmen zugeordnet. Bitte melden Sie sich mit einem Unternehmenskonto an."),
        )
    raw_address = claims.get("org_address")
    address: dict[str, Any] = raw_address if isinstance(raw_address, dict) else {}
    master = {
        "name": _str(claims.get("org_name"), 255) or org_id,
        "legal_form": _str(claims.get("org_legal_form"), 100),
        "street": _str(address.get("street_address"), 255),
        "postcode": _str(address.get("postal_code"), 10),
        "city": _str(address.get("locality"), 100),
        "tax_number": _str(claims.get("org_tax_number"), 20),
    }
    company = db.session.scalar(select(Company).where(Company.issuer == issuer, Company.org_id == org_id))
    if company is None:
        company = Company(issuer=issuer, org_id=org_id, **master)
        db.session.add(company)
    else:
        for key, value in master.items():
            setattr(company, key, value)
    db.session.flush()

    sub = _str(claims["sub"], 255)
    person = db.session.scalar(select(Person).where(Person.issuer == issuer, Person.sub == sub))
    if person is None:
        person = Person(issuer=issuer, sub=sub, company_id=company.id)
        db.session.add(person)
    elif person.company_id != company.id:
        db.session.rollback()
        raise _refused(
            person, "company_changed",
            f"person {sub!r} of {issuer} now claims company {org_id!r}; refusing to move the account",
            _("Ihr Konto gehört laut Anmeldedienst zu einem anderen Unternehmen als bisher. "
              "Bitte wenden Sie sich an den Support."),
        )
    person.name = _str(claims.get("name"), 255)
    person.email = _str(claims.get("email"), 255)
    person.last_login_at = utcnow()
    stats.company_login(company.id, person.last_login_at)
    db.session.commit()
    return person


def role_mapping() -> dict[str, str]:
    """Provider role value → portal role, from ``STAFF_ROLE_MAPPING`` ("value=role, …").

    Without a setting the provider's values are the portal's role names.
    """
    from flask import current_app

    text = current_app.config["SETTINGS"].oidc.staff_role_mapping
    mapping = {r: r for r in ROLES} if not text.strip() else {}
    for pair in text.split(","):
        value, _, role = pair.strip().rpartition("=")
        if value and role in ROLES:
            mapping[value.strip()] = role
    return mapping


def portal_roles(claims: dict[str, Any], roles_claim: str) -> list[str]:
    """The portal roles the provider's ``roles_claim`` grants (mapped, sorted; unknown values dropped)."""
    raw_roles = claims.get(roles_claim) or []
    if isinstance(raw_roles, str):
        raw_roles = raw_roles.split()
    mapping = role_mapping()
    return sorted({mapping[r] for r in raw_roles if isinstance(r, str) and r in mapping})


def staff_claims_hold(user: StaffUser, claims: dict[str, Any], roles_claim: str, chamber_claim: str) -> str | None:
    """Whether the provider's current claims still grant what ``user``'s sessions were given.

    Returns None when they do, else the reason to end the sessions: ``role_withdrawn`` (no portal
    role any more), ``role_changed`` (other roles), ``chamber_changed`` (another or no chamber).
    Any change ends the session; the next login takes the new roles (``staff_login``).
    """
    roles = portal_roles(claims, roles_claim)
    if not roles:
        return "role_withdrawn"
    if roles != sorted(user.roles or []):
        return "role_changed"
    if "chamber_staff" in roles:
        slug = _str(claims.get(chamber_claim), 64)
        if user.chamber is None or slug != user.chamber.slug:
            return "chamber_changed"
    return None


def company_claims_hold(person: Person, claims: dict[str, Any], company_id_claim: str) -> str | None:
    """None while the provider still names ``person``'s company, else ``company_changed``."""
    org_id = _str(claims.get(company_id_claim), 255)
    return None if org_id and org_id == person.company.org_id else "company_changed"


def staff_login(issuer: str, claims: dict[str, Any], roles_claim: str, chamber_claim: str) -> StaffUser:
    """Find or create the staff user; roles and chamber come from the claims on every login.

    Raises ``LoginFailed`` when the claims carry no portal role, or a chamber role without a
    known chamber; the open sessions of a known staff user then end. Commits; a concurrent first
    login of the same person is no error (``_once_more_after_a_clash``).
    """
    user, old = _once_more_after_a_clash(lambda: _staff_login(issuer, claims, roles_claim, chamber_claim))
    if old is not None and old != (user.roles, user.chamber_id):
        audit.record("role_change", user.get_id(), target=user.sub,
                     detail=f"roles {old[0]} -> {user.roles}; chamber {old[1]} -> {user.chamber_id}")
    remember_login_claims(issuer, claims)
    return user


def _staff_login(issuer: str, claims: dict[str, Any], roles_claim: str,
                 chamber_claim: str) -> tuple[StaffUser, tuple[list[str], int | None] | None]:
    sub = _str(claims["sub"], 255)
    user = db.session.scalar(select(StaffUser).where(StaffUser.issuer == issuer, StaffUser.sub == sub))
    roles = portal_roles(claims, roles_claim)
    if not roles:
        raise _refused(
            user, "role_withdrawn",
            f"staff login of {claims.get('sub')!r} without a portal role (claim {roles_claim!r})",
            _("Ihr Konto hat keine Berechtigung für den Mitarbeiterbereich dieses Portals."),
        )
    chamber = None
    if "chamber_staff" in roles:
        slug = _str(claims.get(chamber_claim), 64)
        chamber = db.session.scalar(select(Chamber).where(Chamber.slug == slug)) if slug else None
        if chamber is None:
            raise _refused(
                user, "chamber_unknown",
                f"chamber staff {claims.get('sub')!r} with unknown chamber {slug!r}",
                _("Ihr Konto ist keiner bekannten Kammer oder Behörde zugeordnet."),
            )
    if user is None:
        user = StaffUser(issuer=issuer, sub=sub)
        db.session.add(user)
    old = (list(user.roles or []), user.chamber_id) if user.id is not None else None
    user.roles = roles
    user.chamber_id = chamber.id if chamber else None
    user.name = _str(claims.get("name"), 255)
    user.email = _str(claims.get("email"), 255)
    user.last_login_at = utcnow()
    db.session.commit()
    return user, old


#: the statement of ``load_user`` per model, built once: a statement built anew for every request
#: costs more CPU than the database takes to answer it (SQLAlchemy computes its cache key each time)
_USER_WITH_SESSION = {
    model: select(model, LoginSession).outerjoin(LoginSession, LoginSession.id == bindparam("sid"))
    .where(model.id == bindparam("user_id"))
    for model in (Person, StaffUser)
}


def load_user(user_id: str) -> Person | StaffUser | None:
    """The signed-in person or staff user of the session's ``user_id`` ("company:7", "staff:3").

    In a request with a server-side login session, that row comes with the user in one query
    and is held on ``g`` for the request, so ``sessions._check_session`` (``db.session.get``)
    finds it in the identity map instead of asking the database a second time.
    """
    kind, _, raw_id = user_id.partition(":")
    model: type[Person] | type[StaffUser]
    if kind == "company":
        model = Person
    elif kind == "staff":
        model = StaffUser
    else:
        return None
    if not raw_id.isdigit():
        return None
    sid = session.get(SESSION_KEY) if has_request_context() else None
    if not isinstance(sid, str):
        return cast(Person | StaffUser | None, db.session.get(model, int(raw_id)))
    found = db.session.execute(_USER_WITH_SESSION[model], {"user_id": int(raw_id), "sid": sid}).first()
    if found is None:
        return None
    user, g.login_session_row = found  # the identity map holds rows only while they are referenced
    return cast(Person | StaffUser, user)


def remember_language(person: Person, locale: str) -> None:
    """Keep the person's language choice for the mails the portal sends them later; commits.

    Raises ``ValueError`` for a language the portal does not offer.
    """
    if locale not in LOCALES:
        raise ValueError(f"unknown language {locale!r}")
    if person.locale != locale:
        person.locale = locale
        db.session.commit()


def confirm_company_data(company: Company, person: Person, phone: str | None, email: str | None) -> None:
    """Record that a person reviewed the provider's data, with the contact details the company adds.

    Commits.
    """
    company.reviewed_fingerprint = company.provider_fingerprint()
    company.reviewed_at = utcnow()
    company.phone = (phone or "").strip() or None
    company.notification_email = (email or "").strip() or None
    db.session.commit()
    audit.record("company_data_confirmed", person.get_id(), target=f"company:{company.id}")
