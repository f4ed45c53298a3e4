"""Who runs a business, as its legal form tells: the answer to "Wer betreibt das Gewerbe?" (GewA 1)
that the account's legal form (the company login's ``org_legal_form``, free text) determines."""

from __future__ import annotations

import re

#: legal forms by the kind of owner they make, folded (``folded``): a sole trader's, a partnership's
#: (its partners run it), a legal person's (its legal representatives do)
OWNER_KINDS: dict[str, str] = {
    **dict.fromkeys(("ek", "ekfm", "ekfr", "eingetragenerkaufmann", "eingetragenekauffrau", "eingetrageneskaufmann",
                     "eingetrageneseinzelunternehmen", "einzelunternehmen", "einzelunternehmer",
                     "einzelunternehmerin"), "natuerliche_person"),
    **dict.fromkeys(("gbr", "egbr", "gesellschaftbuergerlichenrechts", "gesellschaftdesbuergerlichenrechts", "ohg",
                     "offenehandelsgesellschaft", "kg", "kommanditgesellschaft", "gmbhcokg", "ugcokg",
                     "ughaftungsbeschraenktcokg", "partg", "partgmbb", "partnerschaftsgesellschaft"),
                    "personengesellschaft"),
    **dict.fromkeys(("gmbh", "ggmbh", "gesellschaftmitbeschraenkterhaftung", "ug", "ughaftungsbeschraenkt",
                     "unternehmergesellschaft", "unternehmergesellschafthaftungsbeschraenkt", "ag",
                     "aktiengesellschaft", "se", "europaeischeaktiengesellschaft", "kgaa", "eg",
                     "eingetragenegenossenschaft", "ev", "eingetragenerverein", "stiftung"), "juristische_person"),
}


def folded(text: str | None) -> str:
    """A legal form as a lookup key: lower case, umlauts spelled out, letters only; "& Co." and
    "und Co." alike."""
    value = str(text or "").casefold().replace("&", "und")
    for umlaut, spelled in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        value = value.replace(umlaut, spelled)
    return re.sub(r"[^a-z]+", "", value).replace("undco", "co")


def owner_kind(legal_form: str | None) -> str | None:
    """"natuerliche_person", "personengesellschaft" or "juristische_person" for a legal form that
    determines it (e.g. "e. K.", "GbR", "GmbH & Co. KG", "UG (haftungsbeschränkt)"); None for one
    that does not, or none."""
    return OWNER_KINDS.get(folded(legal_form))


#: legal forms entered in a register by law (Handels-, Genossenschafts-, Vereins-, Partnerschafts- or
#: Gesellschaftsregister; GewA 1 field 2), folded: a GbR or an Einzelunternehmen may or may not be
#: (an eGbR, an e. K. are), a foundation is in the Stiftungsverzeichnis, not a register
REGISTERED: frozenset[str] = frozenset({
    "ek", "ekfm", "ekfr", "eingetragenerkaufmann", "eingetragenekauffrau", "eingetrageneskaufmann",
    "egbr", "ohg", "offenehandelsgesellschaft", "kg", "kommanditgesellschaft", "gmbhcokg", "ugcokg",
    "ughaftungsbeschraenktcokg", "partg", "partgmbb", "partnerschaftsgesellschaft", "gmbh", "ggmbh",
    "gesellschaftmitbeschraenkterhaftung", "ug", "ughaftungsbeschraenkt", "unternehmergesellschaft",
    "unternehmergesellschafthaftungsbeschraenkt", "ag", "aktiengesellschaft", "se", "europaeischeaktiengesellschaft",
    "kgaa", "eg", "eingetragenegenossenschaft", "ev", "eingetragenerverein"})

#: the role of a business's first person as its kind of owner tells (the bundles' "Funktion" of the
#: persons): the owner of a sole trader's business, a partnership's managing partner, a legal
#: person's legal representative
OWNER_FUNCTIONS = {"natuerliche_person": "inhaber", "personengesellschaft": "gesellschafter",
                   "juristische_person": "vertreter"}


def in_register(legal_form: str | None) -> bool | None:
    """True for a legal form entered in a register by law (``REGISTERED``); None when the form does
    not tell (a GbR, an Einzelunternehmen, an unknown or no form)."""
    return True if folded(legal_form) in REGISTERED else None


def owner_function(legal_form: str | None) -> str | None:
    """The role of the business's first person (``OWNER_FUNCTIONS``) for a legal form that
    determines the kind of owner; None otherwise."""
    return OWNER_FUNCTIONS.get(owner_kind(legal_form) or "")
