import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3] / 'tests' / 'lab' / 'verify'))

from lab import Lab  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope='session')
def lab():
    return Lab(pathlib.Path(__file__).resolve().parents[1].name)
