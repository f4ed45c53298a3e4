"""Keeping a session alive on request (the warning before the idle timeout offers this)."""

from flask import Blueprint, jsonify

from . import sessions
from .access import public

bp = Blueprint("sessions", __name__)


@bp.post("/sitzung/verlaengern")
@public
def extend():
    """Extend the signed-in session (CSRF-checked POST); 401 when there is no session to extend."""
    left = sessions.extend()
    if left is None:
        return jsonify(error="not signed in"), 401
    return jsonify(seconds_left=left)


@bp.get("/sitzung")
@public
def status():
    left = sessions.seconds_left()
    if left is None:
        return jsonify(error="not signed in"), 401
    return jsonify(seconds_left=left)
