"""Fixtures for runs: a prompt version and a model per protocol on the fake provider. The factories
they use are in tests/factories.py; the fake provider and the runs worker a test can kill are
fixtures of tests/conftest.py."""

import pytest

from tests.factories import doc_with, make_version, model_for


@pytest.fixture
def text_version(team, user):
    return make_version(team, doc_with({"text": "Describe {{subject}} in one line."}, variables={"subject": "a cat"}), user)


@pytest.fixture
def four_models(team, provider_server):
    """One model per protocol, each behind its own provider (all on the fake server)."""
    return [model_for(team, provider_server, p) for p in ("chat", "responses", "messages", "gemini")]
