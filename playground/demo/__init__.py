"""Demo data: `manage.py seed_demo` creates a team, a user, media and a prompt, so a newcomer sees
Prism working at once (bin/run calls it on every start). The top app: it seeds the apps below it and
nothing imports it (tests/test_layering.py)."""
