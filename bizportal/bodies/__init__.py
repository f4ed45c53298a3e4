"""The receiving bodies (Handwerkskammer, Handelskammer/IHK, Gewerbeamt): the ``Chamber`` rows,
routing by competence, and each body's adapter settings.

Below the features: auth (a staff member's chamber), delivery, inbox and stats import this package;
it imports none of them.
"""
