"""Evaluations: sets of cases (media + expected answer) a team scores models against (issue 11)."""
