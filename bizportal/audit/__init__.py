"""The audit log: who did what, when, from where — for administrators, never a token or a secret.

Writing an entry: ``services.record(action, actor, target=None, detail=None, *, outcome=None,
filing_id=None, chamber_id=None)``, in its own transaction (it survives the caller's rollback and
never raises).

The convention for what goes where (``models.AuditEvent``):

- ``action`` — the kind of event, a key of ``kinds.KINDS`` (add new kinds there, with their label;
  an unknown kind is still stored and shown as it is). Dotted names for actions on a thing:
  ``filing.transition``, ``filing.export``.
- ``actor`` — ``user.get_id()`` of the acting person (``"staff:7"``, ``"company:3"``), else
  ``"anonymous"``, ``"cli"`` or ``"provider:<name>"``. The admin page shows the person's name and
  e-mail address (and chamber or company) instead.
- ``filing_id`` — set on every entry about one filing (the integer ``Filing.id``); the admin page
  shows the filing's reference and can filter by it. Do not put the filing into ``target``.
- ``chamber_id`` — the receiving body the action was done for or by (the staff member's chamber);
  shown by name.
- ``target`` — anything else the action was about, as short text: a request (``"GET /path"``),
  ``"company:<id>"`` or ``"chamber:<slug>"`` (both shown by name), a subject id.
- ``outcome`` — ``success`` (the default), ``refused`` (access or state change not allowed) or
  ``failed``; ``kinds.KINDS`` gives the default for a kind (``access_refused`` → refused).
- ``detail`` — short human text (credentials are blanked out), e.g. ``"forwarded → received"``.

A staff member's transition of a filing is recorded as::

    audit.record("filing.transition", current_user.get_id(), filing_id=filing.id,
                 chamber_id=current_user.chamber_id, detail=f"{old_status} → {new_status}")

and with ``outcome="refused"`` when the transition was refused.
"""
