"""A provider's failure in plain words: one set of sentences for a run's result card
(runs/display.py) and a provider's Test connection (catalog/probe.py), which the layers keep
apart (catalog sits below runs; both sit above this package).

    status_words(429, "rate_limit_error", retried=True)  # "Rate limited or out of quota at the provider, even after retrying."
    TRANSPORT["timeout"]                                 # when no HTTP answer came
"""

from __future__ import annotations

__all__ = ["RESPONSE", "TRANSPORT", "status_words"]

# ProviderError.kind -> the sentence, when the failure was not an HTTP error answer.
TRANSPORT = {
    "timeout": "The provider did not answer in time.",
    "connection": "Could not connect to the provider, or the connection broke before the answer was complete.",
    "malformed": "The provider's answer could not be read.",
}
RESPONSE = "The provider answered, but reported a failure instead of a complete answer."


def status_words(status: int | None, error_type: str | None = "", *, message: str | None = "", details=None,
                 retried: bool = False) -> str:  # fmt: skip
    """The sentence for an error answer's HTTP status and the provider's error type; "" when
    neither says anything. ``retried``: the request was retried first (a run's), said for the
    failures retrying is for."""
    kind = (error_type or "").lower()
    after = ", even after retrying" if retried else ""
    # Gemini answers a wrong key with 400 INVALID_ARGUMENT "API key not valid" (reason API_KEY_INVALID).
    key_words = "api key not valid" in (message or "").lower() or "API_KEY_INVALID" in str(details or "")
    if status in (401, 403) or "auth" in kind or "permission" in kind or key_words:
        return "The provider did not accept the API key (or the key may not use this model)."
    if status == 404 or "not_found" in kind:
        return "The provider does not know this model or endpoint."
    if status == 429 or "rate" in kind or "quota" in kind or "exhausted" in kind:
        return f"Rate limited or out of quota at the provider{after}."
    if status == 413 or "too_large" in kind:
        return "The request was too large for the provider."
    if status == 400 or "invalid" in kind:
        return "The provider rejected the request as invalid."
    if status in (408, 504) or "timeout" in kind:
        return "No answer in time."
    if status is not None and status >= 500:
        return f"The provider had an error or was overloaded{after}."
    return ""
