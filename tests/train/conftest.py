"""Fixtures of the training tests (the tiny specs and data live in _trainspecs.py)."""
import pytest


@pytest.fixture
def write(tmp_path):
    def _write(name, text):
        path = tmp_path / name
        path.write_text(text)
        return path
    return _write
