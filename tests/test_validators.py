"""German identifiers: valid numbers pass (normalised), invalid ones get a message a company understands."""

from __future__ import annotations

import pytest

from bizportal.common import validators as v


@pytest.mark.parametrize("check, good, normalised", [
    (v.check_iban, "DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
    (v.check_vat_de, "DE 136 695 976", "DE136695976"),
    (v.check_steuernummer, "2475081508152", "2475081508152"),
    (v.check_steuernummer, "75 815 08152", "7581508152"),
    (v.check_handelsregisternummer, "Bremen HRB 12345", "Bremen HRB 12345"),
    (v.check_handelsregisternummer, "Hamburg HRA 98765", "Hamburg HRA 98765"),
    (v.check_wirtschafts_idnr, "DE136695976-00001", "DE136695976-00001"),
    (v.check_wz2008, "43.21.0", "43.21.0"),
    (v.check_wz2008, "47111", "47.11.1"),
    (v.check_phone, "0421 361-0", "0421 361-0"),
])
def test_valid_identifiers_pass_and_are_normalised(app, check, good, normalised):
    with app.test_request_context():
        assert check(good) == normalised


@pytest.mark.parametrize("check, bad, message", [
    (v.check_iban, "DE89 3704 0044 0532 0130 01", "IBAN ist ungültig"),
    (v.check_iban, "DE89", "IBAN ist ungültig"),
    (v.check_vat_de, "DE136695977", "Umsatzsteuer-Identifikationsnummer ist ungültig"),
    (v.check_vat_de, "DE12345", "Umsatzsteuer-Identifikationsnummer ist ungültig"),
    (v.check_steuernummer, "12345", "Steuernummer ist ungültig"),
    (v.check_handelsregisternummer, "HRB 12345", "Registergericht"),
    (v.check_handelsregisternummer, "Bremen XYZ 1", "Registergericht"),
    (v.check_wirtschafts_idnr, "DE136695976", "DE123456789-00001"),
    (v.check_wirtschafts_idnr, "DE136695977-00001", "Prüfziffer"),
    (v.check_wz2008, "4321", "fünf Ziffern"),
    (v.check_wz2008, "99.99.9", "gibt es nicht"),
    (v.check_phone, "ruf mich an", "Telefonnummer"),
])
def test_invalid_identifiers_are_refused_with_a_clear_message(app, check, bad, message):
    with app.test_request_context(), pytest.raises(ValueError) as exc:
        check(bad)
    assert message in str(exc.value.args[0])


@pytest.mark.parametrize("plz, ok", [("28195", True), ("20095", True), ("2819", False), ("281955", False),
                                     ("00123", False), ("2819a", False)])
def test_postleitzahl(plz, ok):
    assert v.is_plz(plz) is ok
