"""Fixtures for the benchmarks: thread counts pinned for pynn and its peers alike."""

import pytest

from pynn.bench import Peers


@pytest.fixture(scope="session")
def peers():
    return Peers()


@pytest.fixture(params=[1, 2], ids=lambda n: f"{n}thr")
def threads(request, peers):
    peers.set_threads(request.param)
    return request.param
