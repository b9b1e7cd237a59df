"""For mypy only: the tui tests' ``apptools`` is tests/tui/apptools.py (``tui.apptools`` to mypy).

pytest imports tests/tui/apptools.py by its bare name: tests/tui is on sys.path while the tui
tests run. mypy cannot call it ``apptools`` as well, because a folder it searches for imports is
also a folder it names modules from: tests/tui/conftest.py would become a second ``conftest``
beside tests/conftest.py. So pyproject.toml names modules from tests/ (``tui.conftest``,
``tui.apptools``, ``tui.test_app_chat``, ...) and this stub, found there, hands the tui tests'
``from apptools import ...`` the real module's names.
"""

from tui.apptools import *  # noqa: F403
