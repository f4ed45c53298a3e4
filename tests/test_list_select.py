"""The step forms' select widget (``filings.forms.ListSelect``) writes the same markup as WTForms'
own, faster: a person using a screen reader or the tests reading the page see no difference."""

from __future__ import annotations

from wtforms import Form, SelectField
from wtforms.widgets import Select

from bizportal.filings.forms import ListSelect

CHOICES = [("", "Bitte auswählen"), ("43.21.0", "43.21.0 Elektroinstallation"),
           ('a"<b>&', 'Quote " <tag> & ampersand'), ("x", "")]


def _render(widget, data):
    class F(Form):
        pick = SelectField("Auswahl", choices=CHOICES, widget=widget)

    form = F(data={"pick": data})
    return str(form.pick(class_="kern-form-input__select", aria_describedby="pick-hint"))


def test_same_markup_as_wtforms_select_for_each_selection():
    for data in ("", "43.21.0", 'a"<b>&', "x", "not offered"):
        fast, plain = _render(ListSelect(), data), _render(Select(), data)
        assert fast == plain
    assert '<option selected value="43.21.0">43.21.0 Elektroinstallation</option>' in _render(ListSelect(), "43.21.0")
    assert "&lt;tag&gt; &amp; ampersand" in _render(ListSelect(), "")
