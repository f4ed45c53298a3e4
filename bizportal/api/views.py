"""Machine API for chamber systems (status callbacks; the filings API follows)."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")
