"""Helpers for the browser tests: axe-core scans, reflow checks, keyboard-only navigation, filing over HTTP."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from tests.support.http import HttpClient

ROOT = Path(__file__).resolve().parents[2]  # the repository
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
REF_RE = re.compile(r"BP-\d{4}-[2-9A-Z]{6}")
DESKTOP = {"width": 1280, "height": 900}
NARROW = {"width": 320, "height": 800}  # WCAG 1.4.10 reflow: 320 CSS px wide


@cache
def axe_source() -> str:
    if not AXE_JS.is_file():
        pytest.fail(f"{AXE_JS.relative_to(ROOT)} is missing: run bin/assets (npm ci installs the "
                    "pinned axe-core from package.json)", pytrace=False)
    return AXE_JS.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Violation:
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]
    url: str

    def __str__(self) -> str:
        return f"[{self.impact}] {self.rule}: {self.help}\n      targets: {', '.join(self.targets)}"


def axe_scan(page) -> list[Violation]:
    """Run axe-core (WCAG 2.0/2.1 A and AA rules) on the page as it is now.

    axe is evaluated through the DevTools protocol, so the portal's CSP (no inline scripts)
    stays in force and is not bypassed for the page's own code.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    raw = page.evaluate(
        """async (tags) => {
            const r = await axe.run(document, {
                runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
            return r.violations.map(v => ({
                rule: v.id, impact: v.impact || '', help: v.help,
                targets: v.nodes.map(n => n.target.map(String).join(' >>> '))}));
        }""",
        WCAG_TAGS,
    )
    return [Violation(v["rule"], v["impact"], v["help"], tuple(v["targets"]), page.url)
            for v in raw]


def format_violations(violations: list[Violation]) -> str:
    return "\n".join(f"  - {v}" for v in violations)


def assert_no_violations(page, label: str = "") -> None:
    found = axe_scan(page)
    assert not found, (
        f"axe-core found {len(found)} WCAG 2.1 A/AA violation(s) on {label or page.url}:\n"
        + format_violations(found)
    )


def horizontal_overflow(page) -> dict | None:
    """None if the page does not scroll sideways; else the widths and the widest elements."""
    return page.evaluate(
        """() => {
            const doc = document.documentElement, vw = window.innerWidth;
            if (doc.scrollWidth <= vw) return null;
            const culprits = [];
            for (const el of document.body.querySelectorAll('*')) {
                const r = el.getBoundingClientRect();
                if (r.right > vw + 0.5 && r.width > 0) {
                    let sel = el.tagName.toLowerCase();
                    if (el.id) sel += '#' + el.id;
                    if (el.classList.length) sel += '.' + [...el.classList].join('.');
                    culprits.push(sel + ' (right edge ' + Math.round(r.right) + 'px)');
                }
            }
            return {scrollWidth: doc.scrollWidth, innerWidth: vw, culprits: culprits.slice(0, 10)};
        }"""
    )


def assert_reflows(page, label: str = "") -> None:
    over = horizontal_overflow(page)
    assert over is None, (
        f"{label or page.url} scrolls horizontally at {over['innerWidth']} px: scrollWidth "
        f"{over['scrollWidth']}; elements past the right edge:\n    "
        + "\n    ".join(over["culprits"])
    )


def screenshot(page, directory: Path, name: str) -> None:
    page.screenshot(path=str(directory / f"{name}.png"), full_page=True)


# ---------- keyboard ---------------------------------------------------------------------------

FOCUS_INFO_JS = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) {
        return {tag: 'body', text: '', id: '', value: '', href: '', name: '',
                indicator: false, inView: false, inMain: false};
    }
    // a visible focus indicator: an outline or box-shadow on the element or its ::before/::after
    const indicator = [null, '::before', '::after'].some(pseudo => {
        const cs = getComputedStyle(el, pseudo);
        const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0;
        return outline || cs.boxShadow !== 'none';
    });
    const r = el.getBoundingClientRect();
    return {tag: el.tagName.toLowerCase(), id: el.id || '', value: el.value || '',
            text: (el.innerText || el.getAttribute('aria-label') || '')
                  .trim().replace(/\\s+/g, ' '),
            href: el.getAttribute('href') || '', name: el.getAttribute('name') || '', indicator,
            inView: r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth,
            inMain: !!el.closest('main')};
}"""


def focused(page) -> dict:
    return page.evaluate(FOCUS_INFO_JS)


def tab_to(page, matches, what: str, limit: int = 60, key: str = "Tab",
           check_focus: bool = True) -> dict:
    """Press ``key`` (Tab) until the focused element satisfies ``matches(info)``.

    With ``check_focus`` (the portal's own pages), every element that receives focus on the way
    must show a focus indicator (outline or box-shadow, WCAG 2.4.7) and lie in the viewport.
    """
    seen = []
    for _ in range(limit):
        page.keyboard.press(key)
        info = focused(page)
        label = f"{info['tag']}#{info['id']} {info['text'][:40]!r}"
        if check_focus and info["tag"] != "body":
            assert info["indicator"], f"no visible focus indicator on {label} ({page.url})"
            assert info["inView"], f"focused {label} is outside the viewport ({page.url})"
        if matches(info):
            return info
        seen.append(label)
    raise AssertionError(f"{what} not reached by {limit}x {key} on {page.url}; focus went through: "
                         + ", ".join(seen))


def tab_to_text(page, text: str, tag: str | None = None, **kw) -> dict:
    return tab_to(page, lambda i: i["text"] == text and (tag is None or i["tag"] == tag),
                  f"{tag or 'element'} {text!r}", **kw)


def tab_to_id(page, element_id: str, **kw) -> dict:
    return tab_to(page, lambda i: i["id"] == element_id, f"#{element_id}", **kw)


def press_and_wait(page, key: str = "Enter") -> None:
    """Press ``key`` on the focused element and wait for the page load it starts."""
    with page.expect_navigation():
        page.keyboard.press(key)


def wait_for_focus(page, element_id: str) -> None:
    page.wait_for_function("id => document.activeElement && document.activeElement.id === id",
                           arg=element_id, timeout=5000)


# ---------- logins and data over plain HTTP (fast; what is tested is the browser part) ----------





def share_login(page, client: HttpClient) -> None:
    """Give the browser page the HTTP client's login (its session cookie)."""
    page.context.add_cookies([{"name": c.name, "value": c.value, "url": client.base}
                              for c in client.session.cookies])




def file_over_http(client: HttpClient) -> str:
    """As ``client`` (a company person): file a Gewerbeanmeldung of a crafts business (to the
    Gewerbeamt Bremen, a copy to the Handwerkskammer Bremen); returns the reference."""
    from tests.support.filing import file_service, gewerbe_answers

    return file_service(client, "gewerbeanmeldung", gewerbe_answers(activity="Elektroinstallation in Gebäuden"))


VISIBLE_FIELDS_JS = """names => [...document.querySelectorAll('#step-form [name]')]
    .filter(e => names.includes(e.name) && !e.disabled && e.type !== 'hidden' && e.type !== 'file'
                 && e.offsetParent !== null)
    .map(e => ({id: e.id, name: e.name, type: e.type, tag: e.tagName.toLowerCase()}))"""


def _month_first(page) -> bool:
    """Whether this browser's date fields take the month before the day (its own locale decides,
    not the page's): probed once per browser context on a blank page of its own."""
    context = page.context
    if not hasattr(context, "_month_first"):
        probe = context.new_page()
        probe.set_content("<input id=a><input type=date id=d>")
        probe.focus("#a")
        probe.keyboard.press("Tab")
        probe.keyboard.type("02011999")
        context._month_first = probe.input_value("#d") == "1999-02-01"
        probe.close()
    return context._month_first


def keyboard_fill(page, answers: dict) -> None:
    """Fill the step form's visible fields named in ``answers`` with the keyboard alone: Tab to
    each field; type text, numbers and dates (day, month, year as a German browser takes them);
    choose a radio button with the arrow keys and Space; a select by typing its option's text; a
    checkbox with Space. Fields that appear on a choice (conditions) are filled when they show."""
    filled: set[str] = set()
    for _ in range(60):
        todo = [f for f in page.evaluate(VISIBLE_FIELDS_JS, list(answers)) if f["name"] not in filled]
        if not todo:
            return
        f = todo[0]
        name, value = f["name"], str(answers[f["name"]])
        filled.add(name)
        if f["type"] == "radio":
            target = page.get_attribute(f"#step-form [name='{name}'][value='{value}']", "id")
            tab_to(page, lambda i, name=name: i["name"] == name, f"radio group {name}")
            for _ in range(20):
                if focused(page)["id"] == target:
                    break
                page.keyboard.press("ArrowDown")
            page.keyboard.press("Space")
            assert page.is_checked(f"#{target}"), f"{target} not chosen by keyboard"
        elif f["type"] == "checkbox":
            tab_to_id(page, f["id"])
            if value.lower() in ("y", "yes", "true", "1", "on") and not page.is_checked(f"#{f['id']}"):
                page.keyboard.press("Space")
        elif f["tag"] == "select":
            tab_to_id(page, f["id"])
            label = page.evaluate("([id, v]) => [...document.getElementById(id).options]"
                                  ".find(o => o.value === v).text", [f["id"], value])
            page.keyboard.type(label)
            assert page.input_value(f"#{f['id']}") == value, f"{f['id']}: typing {label!r} did not choose {value}"
        else:
            tab_to_id(page, f["id"])
            if f["type"] == "date":  # each part moves on to the next when full
                year, month, day = value.split("-")
                page.keyboard.type(month + day + year if _month_first(page) else day + month + year)
            else:
                page.keyboard.press("Control+A")
                page.keyboard.type(value)
            got = page.input_value(f"#{f['id']}")
            assert got == value, f"{f['id']} ({f['type']}): typed {value!r}, the field holds {got!r}"
    raise AssertionError("the step's fields did not settle")
