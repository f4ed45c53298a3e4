"""The audit chain's head pinned outside the database (``flask audit head``, kept e.g. in the
backup log): someone with write access to the database who cuts the chain back, or rewrites it
with fresh hashes and a fresh head row, passes ``audit verify`` alone but not with the pinned head."""

from __future__ import annotations

import re

from sqlalchemy import select, text

from bizportal.audit import chain
from bizportal.audit.models import AuditEvent
from bizportal.audit.services import record
from bizportal.extensions import db


def cli(app, *args):
    return app.test_cli_runner().invoke(args=["audit", *args])


def pin(app) -> tuple[int, str]:
    result = cli(app, "head")
    assert result.exit_code == 0, result.output
    match = re.fullmatch(r"count=(\d+) head=([0-9a-f]{64})\n", result.output)
    assert match, result.output
    return int(match.group(1)), match.group(2)


def verify_pinned(app, pinned: tuple[int, str]):
    return cli(app, "verify", "--expect-count", str(pinned[0]), "--expect-head", pinned[1])


def write(app, n: int, start: int = 0) -> None:
    with app.test_request_context():
        for i in range(start, start + n):
            record("logout", f"company:{i}")


def test_the_printed_head_is_found_again_while_the_chain_grows(app):
    write(app, 4)
    pinned = pin(app)
    assert pinned[0] == 4
    write(app, 3, start=4)
    result = verify_pinned(app, pinned)
    assert result.exit_code == 0, result.output
    assert "audit chain intact: 7 entries checked; it still contains the pinned entry 4" in result.output


def _rehash_from(app, seq: int) -> None:
    """What a careful intruder does after changing the chain: recompute every hash from ``seq`` on
    and set the head row to the new end, so the stored chain is consistent again."""
    with app.app_context():
        prev = db.session.scalar(select(AuditEvent.entry_hash).where(AuditEvent.seq == seq - 1)) or chain.GENESIS
        last = seq - 1
        for event in db.session.scalars(select(AuditEvent).where(AuditEvent.seq >= seq).order_by(AuditEvent.seq)):
            event.prev_hash = prev
            event.entry_hash = prev = chain.entry_hash(prev, event)
            last = event.seq
        db.session.execute(text("UPDATE audit_chain_head SET seq = :s, entry_hash = :h"), {"s": last, "h": prev})
        db.session.commit()


def test_a_chain_cut_back_before_the_pinned_head_fails_verification(app):
    write(app, 6)
    pinned = pin(app)
    with app.app_context():  # the last two entries go, the head row follows them
        db.session.execute(text("DELETE FROM audit_event WHERE seq > 4"))
        db.session.commit()
    _rehash_from(app, 5)
    assert cli(app, "verify").exit_code == 0  # consistent in itself
    result = verify_pinned(app, pinned)
    assert result.exit_code == 1
    assert "the pinned entry at position 6 is missing: the chain was cut back" in result.output


def test_a_chain_rewritten_before_the_pinned_head_fails_verification(app):
    write(app, 6)
    pinned = pin(app)
    with app.app_context():
        db.session.execute(text("UPDATE audit_event SET actor = 'company:99' WHERE seq = 2"))
        db.session.commit()
    assert cli(app, "verify").exit_code == 1  # the plain check sees the change itself …
    _rehash_from(app, 2)
    assert cli(app, "verify").exit_code == 0  # … not once the hashes are recomputed
    result = verify_pinned(app, pinned)
    assert result.exit_code == 1
    assert "(position 6" in result.output and "is not the pinned entry" in result.output
    assert "the chain was rewritten" in result.output


def test_a_head_without_its_count_or_a_malformed_hash_is_a_usage_error(app):
    write(app, 1)
    count, head = pin(app)
    assert cli(app, "verify", "--expect-head", head).exit_code == 2
    assert cli(app, "verify", "--expect-count", str(count), "--expect-head", "not-a-hash").exit_code == 2
