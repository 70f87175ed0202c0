"""Scoring for evaluations, without Django: scorers (registry.py: SCORERS, validate_config, make_scorer,
score), named text normalisers (normalise.py), model-as-judge prompts and answers (judge.py), the
statistics a leaderboard and a comparison need (stats.py) and their plain-words summaries (words.py).
"""
