"""Fixtures: fresh, mutable copies of the shipped questionnaire files."""

import copy

import pytest

from .helpers import BANK, NORMS, WAVE


@pytest.fixture
def bank_data():
    """A fresh, mutable copy of the shipped item bank."""
    return copy.deepcopy(BANK)


@pytest.fixture
def wave_data():
    """A fresh, mutable copy of the shipped 2025 wave."""
    return copy.deepcopy(WAVE)


@pytest.fixture
def norms_data():
    return copy.deepcopy(NORMS)
