import numpy as np
import pytest

from spikevision.comm import CODECS, decode_image, encode_image, fit_to_budget


@pytest.fixture
def img():
    yy, xx = np.mgrid[0:48, 0:64].astype(np.float32)
    return (0.5 + 0.4 * np.sin(xx / 5.0) * np.cos(yy / 7.0)).astype(np.float32)


@pytest.mark.parametrize("codec", CODECS)
def test_roundtrip_shape_and_quality(img, codec):
    hi = encode_image(img, codec, quality=90)
    lo = encode_image(img, codec, quality=5 if codec != "webp" else 0)
    assert len(lo) < len(hi)
    dec = decode_image(hi, img.shape)
    assert dec.shape == img.shape and dec.dtype == np.float32
    assert float(np.mean((dec - img) ** 2)) < 2e-3


def test_downscaled_decodes_to_full_size(img):
    data = encode_image(img, "webp", quality=50, scale=0.5)
    assert decode_image(data, img.shape).shape == img.shape
    assert len(data) < len(encode_image(img, "webp", quality=50))


@pytest.mark.parametrize("budget", [150, 400, 2000])
def test_fit_respects_budget_and_improves(img, budget):
    c = fit_to_budget(img, budget)
    assert c is not None and c.nbytes <= budget and c.codec in CODECS
    assert c.image.shape == img.shape


def test_more_bytes_never_worse(img):
    errs = [float(np.mean((fit_to_budget(img, b).image - img) ** 2)) for b in (120, 300, 1500)]
    assert errs[0] >= errs[1] >= errs[2]


def test_nothing_fits(img):
    assert fit_to_budget(img, 10) is None
    assert fit_to_budget(img, 0) is None


def test_bad_inputs(img):
    with pytest.raises(ValueError):
        encode_image(img, "gif", quality=50)
    with pytest.raises(ValueError):
        encode_image(img, "jpeg", quality=0)
    with pytest.raises(ValueError):
        encode_image(img, "webp", quality=50, scale=0)
    with pytest.raises(TypeError):
        encode_image((img * 255).astype(np.uint8), "webp", quality=50)
    with pytest.raises(ValueError):
        encode_image(np.zeros((0, 4), np.float32), "webp", quality=50)
    with pytest.raises(ValueError):
        encode_image(np.full((8, 8), np.nan, np.float32), "webp", quality=50)
    with pytest.raises(ValueError):
        decode_image(b"", (4, 4))
    with pytest.raises(TypeError):
        fit_to_budget(img, 100.5)
    with pytest.raises(ValueError):
        fit_to_budget(img, 100, codecs=())
