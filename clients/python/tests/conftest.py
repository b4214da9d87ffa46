"""The suite runs against a live canopyd: scripts/test-clients.sh starts one
and sets CANOPY_ADDR, CANOPY_REST and CANOPY_CREDENTIALS (its first-run
admin client). The package under test is the installed one."""

import os
import uuid

import pytest

import canopy_client


@pytest.fixture(scope="session")
def client():
    with canopy_client.Client() as c:
        yield c


@pytest.fixture
def name():
    """A unique name per test (canopyd outlives a test; names must not clash)."""
    return "py-" + uuid.uuid4().hex[:8]


def rest() -> str:
    return os.environ["CANOPY_REST"]
