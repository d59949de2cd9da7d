import importlib.util
import os
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")


def load_example(name):
    """examples/<name>.py as a module (examples/ on sys.path while it loads, for _common)."""
    sys.path.insert(0, os.path.abspath(EXAMPLES))
    try:
        spec = importlib.util.spec_from_file_location(f"example_{name}", os.path.join(EXAMPLES, f"{name}.py"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    finally:
        sys.path.remove(os.path.abspath(EXAMPLES))
    return mod


@pytest.fixture
def example():
    """example("name") -> the module examples/name.py."""
    return load_example


@pytest.fixture
def run_example(tmp_path):
    """run_example("name", *args) runs examples/name.py's main with --quick into a temporary
    folder and returns (the dict it returns, the folder)."""
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")

    def run(name, *args):
        mod = load_example(name)
        sys.path.insert(0, os.path.abspath(EXAMPLES))
        try:
            result = mod.main(["--quick", "--out", str(tmp_path), *args])
        finally:
            sys.path.remove(os.path.abspath(EXAMPLES))
        return result, tmp_path
    return run
