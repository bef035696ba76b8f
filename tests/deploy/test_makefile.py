"""The Makefile's entry points: `make run PORT=…` serves on that port and installs only what
running needs; the test extras come with `make test` (dry runs, nothing is installed)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def dry_run(*args: str) -> list[str]:
    """The commands `make` would run, every target taken as out of date (-B), none executed."""
    result = subprocess.run(["make", "-n", "-B", *args], cwd=PROJECT, capture_output=True,
                            text=True, timeout=60, check=True)
    return result.stdout.splitlines()


def pip_installs(lines: list[str]) -> list[str]:
    return [line for line in lines if "pip install" in line and "--upgrade pip" not in line]


def test_run_serves_on_the_port_given():
    lines = dry_run("run", "PORT=5123")
    assert any(line.endswith("run --host 127.0.0.1 --port 5123") for line in lines), lines


def test_run_defaults_to_port_5000():
    lines = dry_run("run")
    assert any(line.endswith("run --host 127.0.0.1 --port 5000") for line in lines), lines


def test_run_installs_the_app_without_the_test_extras():
    installs = pip_installs(dry_run("run"))
    assert installs, "make run installs nothing"
    assert not any("[test]" in line for line in installs), installs


def test_test_installs_the_test_extras():
    assert any("'.[test]'" in line for line in pip_installs(dry_run("test")))


def test_install_says_how_to_call_the_installed_commands():
    said = "\n".join(dry_run("install"))
    assert ". .venv/bin/activate" in said
    assert ".venv/bin/flask --app survey" in said
