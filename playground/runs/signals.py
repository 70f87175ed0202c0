"""Signals runs sends, so apps above it can follow results without runs knowing them.

    results_recorded.send(sender=Result, result_ids=[...], run_ids=[...])

Sent by sending.execute_many once a batch's answers are recorded and its runs finished (in a
worker: on a database thread). Receivers must be quick and must not raise into sending: they are
called with send_robust and a failure is only logged.
"""

from django.dispatch import Signal

results_recorded = Signal()
