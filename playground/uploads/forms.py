from django import forms

from playground.uploads.models import MediaItem
from playground.uploads.variants import VariantSpec


class LibraryFilterForm(forms.Form):
    kind = forms.ChoiceField(choices=[("", "All")] + MediaItem.Kind.choices, required=False)
    q = forms.CharField(required=False, max_length=200, label="Search")


class UrlAddForm(forms.Form):
    REFERENCE, FETCH = "reference", "fetch"
    url = forms.URLField(
        max_length=2000, assume_scheme="https", widget=forms.URLInput(attrs={"placeholder": "https://…/photo.jpg"})
    )
    mode = forms.ChoiceField(
        choices=[(FETCH, "Fetch and store a copy"), (REFERENCE, "Keep as a URL reference (sent as a URL)")],
        initial=FETCH,
    )


class VariantForm(forms.Form):
    """The variant options that make sense for one kind of media."""

    IMAGE_FORMATS = [("", "Keep (PNG for HEIC/TIFF/BMP)"), ("jpeg", "JPEG"), ("png", "PNG"), ("webp", "WebP")]

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        if kind == MediaItem.Kind.IMAGE:
            self.fields["max_edge"] = forms.IntegerField(min_value=16, max_value=8192, required=False,
                                                         initial=1568, label="Max edge (px)")
            self.fields["format"] = forms.ChoiceField(choices=self.IMAGE_FORMATS, required=False)
            self.fields["quality"] = forms.IntegerField(min_value=1, max_value=100, initial=85)
        elif kind in (MediaItem.Kind.AUDIO, MediaItem.Kind.VIDEO):
            if kind == MediaItem.Kind.VIDEO:
                self.fields["what"] = forms.ChoiceField(
                    choices=[("keyframes", "Key frames"), ("audio", "Audio track")], initial="keyframes"
                )
                self.fields["count"] = forms.IntegerField(min_value=1, max_value=64, initial=8, label="Frames")
                self.fields["max_edge"] = forms.IntegerField(min_value=16, max_value=4096, required=False,
                                                             initial=768, label="Frame max edge (px)")
            self.fields["audio_format"] = forms.ChoiceField(choices=[("mp3", "MP3"), ("wav", "WAV")],
                                                            initial="mp3", label="Audio format")
            self.fields["sample_rate"] = forms.TypedChoiceField(
                choices=[("", "Keep"), ("16000", "16 kHz"), ("24000", "24 kHz"), ("44100", "44.1 kHz"),
                         ("48000", "48 kHz")],
                coerce=int, empty_value=None, required=False, label="Sample rate",
            )

    def clean(self):
        cleaned = super().clean()
        if self.kind == MediaItem.Kind.PDF:
            raise forms.ValidationError("PDFs are sent as they are; there are no variants to prepare.")
        return cleaned

    def spec(self) -> VariantSpec:
        data = self.cleaned_data
        if self.kind == MediaItem.Kind.IMAGE:
            return VariantSpec.image(max_edge=data["max_edge"], format=data["format"] or None, quality=data["quality"])
        if self.kind == MediaItem.Kind.VIDEO and data["what"] == "keyframes":
            return VariantSpec.keyframes(count=data["count"], max_edge=data["max_edge"])
        return VariantSpec.audio(format=data["audio_format"], sample_rate=data["sample_rate"])
