"""Progress lines on stderr: redrawn in place on a terminal, absent when stderr is redirected."""

from __future__ import annotations

import io

import pytest

from chatcli.cli.render import PrefillMeter
from chatcli.cli.status_line import StatusLine
from chatcli.engine.base import PrefillProgress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_prefill_meter_redraws_one_line_and_clears_it(monkeypatch: pytest.MonkeyPatch) -> None:
    err = Terminal()
    monkeypatch.setattr("sys.stderr", err)
    meter = PrefillMeter()
    meter.show(PrefillProgress(done=512, total=2048, elapsed_s=2.0))
    meter.clear()
    meter.clear()  # once is enough
    assert err.getvalue() == (
        "\r\x1b[Kchatcli: processing prompt 512/2,048 tokens, ~6 s left\r\x1b[K"
    )


def test_a_labelled_line_names_its_command(monkeypatch: pytest.MonkeyPatch) -> None:
    err = Terminal()
    monkeypatch.setattr("sys.stderr", err)
    StatusLine("eval").show("window 3/9")
    assert err.getvalue() == "\r\x1b[Kchatcli: eval: window 3/9"


def test_a_redirected_stderr_gets_no_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    meter = PrefillMeter()
    meter.show(PrefillProgress(done=1, total=2, elapsed_s=1.0))
    meter.clear()
    assert err.getvalue() == ""
