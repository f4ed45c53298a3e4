"""A complete operator identity, as production needs it, and the words of the development demo values."""

from __future__ import annotations

#: a complete identity, as production needs it
IDENTITY = {
    "PUBLIC_BASE_URL": "https://unternehmen.bremen.example.org",
    "PORTAL_NAME": "Unternehmensportal Bremen",
    "LAND": "Freie Hansestadt Bremen",
    "LOGO": "/static/css/portal.css",
    "OPERATOR": "Die Senatorin für Wirtschaft, Zweite Schlachtpforte 3, 28195 Bremen",
    "IMPRINT_EMAIL": "impressum@wirtschaft.bremen.example.org",
    "PRIVACY_CONTACT": "Behördliche Datenschutzbeauftragte, Zweite Schlachtpforte 3, 28195 Bremen",
    "PRIVACY_EMAIL": "datenschutz@wirtschaft.bremen.example.org",
    "ACCESSIBILITY_EMAIL": "barrierefrei@wirtschaft.bremen.example.org",
    "MAIL_FROM": "Unternehmensportal Bremen <portal@wirtschaft.bremen.example.org>",
    "MAIL_REPLY_TO": "Servicestelle <service@wirtschaft.bremen.example.org>",
}
#: what production needs besides the identity (tests/test_platform, test_hosts_and_cookies, test_operator)
PRODUCTION_BASE = {
    "SECRET_KEY": "x" * 40, "DATABASE_URL": "postgresql+psycopg://db/bizportal",
    "COMPANY_OIDC_ISSUER": "https://login.example", "COMPANY_OIDC_CLIENT_SECRET": "s1",
    "STAFF_OIDC_ISSUER": "https://staff.example", "STAFF_OIDC_CLIENT_SECRET": "s2",
    "TRUSTED_HOSTS": "portal.example,unternehmen.bremen.example.org", "RATE_LIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
}
#: words of the development demo values; none may remain once the identity is configured
DEMO_WORDS = ("Demo", "Muster", "unternehmensportal.example", "keine offizielle")
