"""``flask chambers check`` and ``flask delivery poll``."""

from __future__ import annotations

import pytest

from bizportal.delivery.cli import register
from tests.support.adapters import SECRET
from tests.support.factories import set_adapter


@pytest.fixture
def runner(app):
    register(app)
    return app.test_cli_runner()


def test_chambers_check_prints_ok_for_every_chamber(runner):
    result = runner.invoke(args=["chambers", "check"])
    assert result.exit_code == 0, result.output
    assert "OK     hk-bremen" in result.output and "OK     hwk-hamburg" in result.output


def test_chambers_check_names_the_problem_and_exits_1(app, runner):
    set_adapter(app, "hk-bremen", "webhook", {"url": "https://hk.example/hook", "secret": "short"})
    set_adapter(app, "hwk-bremen", "nope", {})
    result = runner.invoke(args=["chambers", "check"])
    assert result.exit_code == 1
    assert "FAILED hk-bremen: webhook: option 'secret' must have at least 16 characters" in result.output
    assert "FAILED hwk-bremen: no adapter is installed under the key 'nope'" in result.output
    assert "OK     hk-hamburg" in result.output


def test_chambers_check_one_slug(app, runner):
    set_adapter(app, "hk-bremen", "webhook", {"url": "https://hk.example/hook", "secret": SECRET})
    result = runner.invoke(args=["chambers", "check", "hk-bremen"])
    assert result.exit_code == 0 and result.output.strip() == "OK     hk-bremen"
    result = runner.invoke(args=["chambers", "check", "no-such-chamber"])
    assert result.exit_code != 0 and "no chamber with the slug" in result.output


def test_delivery_poll_without_back_channels_does_nothing(runner):
    result = runner.invoke(args=["delivery", "poll"])
    assert result.exit_code == 0 and "0 delivery(ies) polled, 0 event(s) applied" in result.output
