from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from apptools import MakeApp, app_maker


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[MakeApp]:
    maker = app_maker(tmp_path / "tui.db")
    yield maker
    maker.close()
