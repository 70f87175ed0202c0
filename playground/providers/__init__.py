"""Send rendered requests to model providers and read their answers (issue 4). HTTP only: no
Django, no models; the runs app stores what these functions return.

    from playground.providers import make_client, send, RetryPolicy, Timeouts
    async with make_client(max_connections=50) as client:
        outcome = await send(rendered, api_key=key, client=client, limiter=asyncio.Semaphore(20))
    outcome.ok, outcome.result.output_text, outcome.result.usage, outcome.error, outcome.to_dict()

Modules: :mod:`.client` (sending, timeouts, the limiter, a Dispatcher for sync code),
:mod:`.parse` (response and error bodies per protocol, normalized usage and finish reasons),
:mod:`.retry` (what is retried and how long to wait).
"""

from .client import STREAM_ABOVE, USER_AGENT, Attempt, Dispatcher, SendOutcome, Timeouts, make_client, send, send_sync
from .parse import FINISH_REASONS, ProviderError, ProviderResult, Usage, parse_error, parse_response
from .retry import NO_RETRY, Decision, RetryPolicy, parse_retry_after, retryable_status

__all__ = [
    "Attempt", "Decision", "Dispatcher", "FINISH_REASONS", "NO_RETRY", "ProviderError", "ProviderResult",
    "RetryPolicy", "STREAM_ABOVE", "SendOutcome", "Timeouts", "USER_AGENT", "Usage", "make_client",
    "parse_error", "parse_response", "parse_retry_after", "retryable_status", "send", "send_sync",
]
