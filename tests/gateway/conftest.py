"""The gateway tests' shared project with a tiny registered model (built once)."""

from __future__ import annotations

import pytest

from heliograph.core import Project
from tests.gateway.test_workers import tiny_project


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A bare project whose ``/invocations`` model is a registered linear regression."""
    return tiny_project(tmp_path_factory.mktemp("tiny") / "tiny")
