"""Any module can be a script's first import (no import cycle), and backends are
chosen by capability: a backend instance's prime is the one the engine uses."""

from __future__ import annotations

import subprocess
import sys

import pytest

import conslaws.core as cl
from conslaws.backends.modular import ModularBackend


@pytest.mark.parametrize("module", [
    "conslaws.backends.modular", "conslaws.backends.rational", "conslaws.backends.floating",
    "conslaws.architectures.relu", "conslaws.core.engine.probe_count",
    "conslaws.core.engine.selfcheck",
])
def test_module_imports_first(module: str) -> None:
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_a_backend_instance_brings_its_prime() -> None:
    # 4 laws for relu 3,4,2: one rescaling per hidden neuron (theory, by hand).
    small = cl.count("relu", widths="3,4,2", backend=ModularBackend(101), seed=1)
    assert (small.engine, small.backend_details["modulus"], small.laws) == ("probes", 101, 4)
    large = cl.count("relu", widths="3,4,2", backend=ModularBackend(2**31 - 1), seed=1)
    assert large.backend_details["modulus"] == 2**31 - 1 and large.laws == 4
    assert large.certified and small.certified
