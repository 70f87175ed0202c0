from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None


@register.filter
def duration(seconds) -> str:
    """Seconds as m:ss (or h:mm:ss), as media players show it: 61.4 -> '1:01'."""
    if seconds is None:
        return ""
    total = int(round(float(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@register.filter
def humanize_key(key: str) -> str:
    """'sample_rate' -> 'Sample rate'."""
    return str(key).replace("_", " ").capitalize()


@register.filter
def without_refused(reason) -> str:
    """A refusal's reason without a leading "Refused: ", which the card already says.

    The URL fetcher's sentences start with it ("Refused: 10.0.0.1 is a private address.");
    the decoder's do not ("The PDF is damaged…"). Either way the card reads "Refused: " once.
    """
    text = str(reason).strip()
    while text[:8].lower() == "refused:":
        text = text[8:].lstrip()
    return text
