from django.urls import reverse

from tests.conftest import HX
from tests.factories import make_png, make_prompt


def test_the_picker_says_when_it_shows_only_the_newest_items(client_logged_in, team, monkeypatch):
    monkeypatch.setattr("playground.prompts.views.PICKER_SIZE", 2)
    prompt = make_prompt(team, "p")
    for i in range(3):
        make_png(team, f"pic{i}.png", width=20 + i, height=20)

    html = client_logged_in.get(reverse("prompts:picker", args=[prompt.pk]), headers=HX).content.decode()

    assert "Showing the newest 2 of 3" in html
    assert "pic2.png" in html and "pic1.png" in html and "pic0.png" not in html
    searched = client_logged_in.get(reverse("prompts:picker", args=[prompt.pk]), {"q": "pic0"}).content.decode()
    assert "pic0.png" in searched and "Showing the newest" not in searched
