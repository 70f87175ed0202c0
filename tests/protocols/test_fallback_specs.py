"""Fallback specs are canonical VariantSpec keys, so the Django side can make them as given."""

import pytest

from playground.protocols import _common

variants = pytest.importorskip("playground.uploads.variants")  # needs PyAV and Pillow, not Django

SPECS = [_common.TO_PNG.spec, _common.TO_JPEG.spec, _common.TO_MP3.spec, _common.KEYFRAMES_SPEC]


@pytest.mark.parametrize("spec", SPECS)
def test_specs_are_canonical_variant_keys(spec):
    assert variants.VariantSpec.parse(spec).key() == spec


def test_specs_match_the_constructors():
    VS = variants.VariantSpec
    assert SPECS == [VS.image(format="png").key(), VS.image(format="jpeg").key(), VS.audio().key(), VS.keyframes().key()]
