import pytest

from tests.factories import make_prompt, make_team


@pytest.fixture
def prompt(db):
    return make_prompt(make_team(), "Caption")


def test_saving_changed_content_makes_a_new_numbered_version(prompt):
    first = prompt.save_version({"system": "a"})
    second = prompt.save_version({"system": "b"})

    assert (first.number, second.number) == (1, 2)
    assert prompt.latest_version() == second


def test_saving_the_same_content_again_makes_no_new_version(prompt):
    first = prompt.save_version({"system": "a", "messages": []})
    again = prompt.save_version({"messages": [], "system": "a"})

    assert again.pk == first.pk
    assert prompt.versions.count() == 1


def test_a_version_cannot_be_changed(prompt):
    version = prompt.save_version({"system": "a"})
    version.content = {"system": "changed"}

    with pytest.raises(ValueError, match="immutable"):
        version.save()
    version.refresh_from_db()
    assert version.content == {"system": "a"}
