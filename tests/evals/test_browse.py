"""Browsing a set: 50 cases a page, filters by tag and text, and a fixed number of queries."""

import pytest
from django.urls import reverse

from playground.evals import services
from tests.factories import make_eval_set, make_png, make_wav


@pytest.fixture
def big_set(team, user):
    eset = make_eval_set(team, "Big", user=user)
    images = [make_png(team, f"shape-{i}.png", width=10 + i, height=10, user=user) for i in range(4)]
    tone = make_wav(team, "tone.wav", seconds=0.5, user=user)
    services.add_cases(eset, [
        {"items": [images[i % 4], tone] if i % 3 == 0 else [images[i % 4]],
         "expected": f"answer {i}", "fields": {"colour": "red" if i % 2 else "blue"},
         "tags": ["even" if i % 2 == 0 else "odd", *(["ünïcode"] if i % 10 == 0 else [])]}
        for i in range(120)
    ])
    return eset


def test_pages_of_50_with_thumbnails(client_logged_in, big_set):
    url = reverse("evals:detail", args=[big_set.pk])
    html = client_logged_in.get(url).content.decode()
    assert html.count('<tr id="case-') == 50 and "Page 1 of 3" in html and "answer 49" in html and "answer 50" not in html
    assert "/thumbnail" in html and "?page=2" in html
    last = client_logged_in.get(url, {"page": 3}).content.decode()
    assert last.count('<tr id="case-') == 20
    assert client_logged_in.get(url, {"page": "nope"}).status_code == 200


def test_filter_by_tag_and_text(client_logged_in, big_set):
    url = reverse("evals:detail", args=[big_set.pk])
    odd = client_logged_in.get(url, {"tag": "odd"}).content.decode()
    assert odd.count('<tr id="case-') == 50 and "60 cases shown" in odd
    uni = client_logged_in.get(url, {"tag": "ünïcode"}).content.decode()
    assert uni.count('<tr id="case-') == 12
    text = client_logged_in.get(url, {"q": "answer 11"}).content.decode()
    assert text.count('<tr id="case-') == 11  # answer 11 and answer 110..119
    by_name = client_logged_in.get(url, {"q": "tone.wav"}).content.decode()
    assert "40 cases shown" in by_name
    partial = client_logged_in.get(url, {"tag": "even"}, headers={"HX-Request": "true", "HX-Target": "cases"})
    assert "<html" not in partial.content.decode() and partial.content.decode().count('<tr id="case-') == 50


def test_a_page_costs_the_same_few_queries(client_logged_in, big_set, django_assert_max_num_queries):
    url = reverse("evals:detail", args=[big_set.pk])
    client_logged_in.get(url)
    with django_assert_max_num_queries(16):
        client_logged_in.get(url, {"page": 2})
    with django_assert_max_num_queries(16):
        client_logged_in.get(url, {"tag": "odd", "q": "answer"})
