"""llama.cpp's log goes to the ``chatcli.llama_cpp`` logger; its error lines are remembered."""

from __future__ import annotations

import ctypes
import logging

import pytest

from chatcli.engine import llama_log


def _say(level: int, text: bytes) -> None:
    llama_log.route_llama_log(verbose=False)
    llama_log._CALLBACK(level, text, ctypes.c_void_p(0))


def test_an_error_line_is_remembered_even_when_debug_is_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="chatcli.llama_cpp"):
        _say(2, b"llama_model_loader: - kv 0: general.name str = x\n")
        _say(llama_log.GGML_LOG_LEVEL_ERROR, b"llama_init: error: cannot map tensor\n")
    assert caplog.records == []
    assert llama_log.last_llama_error() == "cannot map tensor"
    assert llama_log.last_llama_error() == ""  # forgotten once read


def test_every_line_reaches_the_debug_logger(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="chatcli.llama_cpp"):
        _say(2, b"llama_model_loader: - kv 0: general.name str = x\n")
        _say(3, b"bad \xff byte\n")
    assert [record.getMessage() for record in caplog.records] == [
        "llama_model_loader: - kv 0: general.name str = x",
        "bad \ufffd byte",
    ]
