from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from apptools import MakeApp, app_maker  # noqa: E402


@pytest.fixture
def make_app(tmp_path: Path) -> MakeApp:
    return app_maker(tmp_path / "tui.db")
