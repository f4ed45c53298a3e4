"""Form fields are written with ``web.widgets.html_params`` instead of WTForms' own: the same
markup, byte for byte, so nobody (a browser, a screen reader, the tests reading pages) sees a
difference — quotes and markup in values stay escaped."""

from __future__ import annotations

from markupsafe import Markup
from wtforms import BooleanField, Form, RadioField, SelectField, StringField, TextAreaField, widgets
from wtforms.widgets import core

from bizportal.web.widgets import html_params, install, wtforms_html_params

CASES = [
    {},
    {"name": "text1", "id": "f", "class_": "text"},
    {"checked": True, "readonly": False, "name": "text1", "abc": "hello"},
    {"data_attr": "user.name", "aria_labeledby": "name", "aria_describedby": "a-hint a-error"},
    {"value": 'a"<b>&\'c', "for_": "x"},
    {"value": Markup('already "safe" <b>'), "title": Markup("&amp;")},
    {"value": 0, "maxlength": 100, "step": 2.5, "placeholder": None},
    {"id": 'x" onfocus="alert(1)', "data_x_y_z": "1"},
    {"aria_invalid": "true", "autocomplete": False, "required": True, "list": "dl"},
]


def test_same_text_as_wtforms_for_each_kind_of_value():
    for case in CASES:
        fast, plain = html_params(**case), wtforms_html_params(**case)
        assert fast == plain, case
        assert isinstance(fast, Markup)
    assert 'value="a&#34;&lt;b&gt;&amp;&#39;c"' in html_params(value='a"<b>&\'c')
    assert 'value="already &quot;safe&quot; <b>"' in html_params(value=Markup('already "safe" <b>'))


class _Form(Form):
    name = StringField("Name")
    text = TextAreaField("Text")
    pick = SelectField("Auswahl", choices=[("", "Bitte"), ('a"<', 'Quote " <tag>'), ("b", "B")])
    yes = BooleanField("Ja")
    kind = RadioField("Art", choices=[("x", "X"), ("y", 'Y "')])


def _render_all() -> list[str]:
    form = _Form(data={"name": 'Müller "&" <Söhne>', "text": "</textarea><script>", "pick": 'a"<', "yes": True,
                       "kind": "y"})
    attrs = {"class_": "kern-form-input__input", "aria_describedby": "f-hint", "aria_invalid": False}
    return [str(form.name(**attrs)), str(form.text(**attrs)), str(form.pick(**attrs)), str(form.yes()),
            *(str(option()) for option in form.kind), str(form.name.label(class_="kern-label"))]


def test_fields_render_as_with_wtforms_own():
    install()
    fast = _render_all()
    saved = (core.html_params, widgets.html_params, core.Input.html_params)
    try:
        core.html_params = widgets.html_params = wtforms_html_params
        core.Input.html_params = staticmethod(wtforms_html_params)
        plain = _render_all()
    finally:
        core.html_params, widgets.html_params = saved[0], saved[1]
        core.Input.html_params = staticmethod(saved[2])
    assert fast == plain
    assert core.Input.html_params is html_params  # installed
