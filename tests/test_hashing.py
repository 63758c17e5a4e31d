"""Frame hashes: value-object behaviour and the integrity of every algorithm."""

from __future__ import annotations

import imagehash
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from vidprov import samples
from vidprov.errors import FormatError, ValidationError
from vidprov.hashing import ALGORITHMS, FrameHash, get_hasher, gradient_quality


def scene(seed: int, size: int = 64) -> np.ndarray:
    """A grayscale picture from the synthetic footage generator."""
    spec = samples.ClipSpec((samples.Shot(0.04, seed),), width=size * 2, height=size * 2, fps=25)
    _, rgb = next(iter(samples.render(spec)))
    gray = rgb.mean(axis=2).astype(np.uint8)
    import cv2

    return cv2.resize(gray, (size, size), interpolation=cv2.INTER_AREA)


@given(st.binary(min_size=1, max_size=64))
def test_hex_round_trips_exactly(data: bytes) -> None:
    digest = FrameHash(data, len(data) * 8)
    assert FrameHash.from_hex(str(digest)) == digest
    assert str(FrameHash.from_hex(str(digest).upper())) == str(digest)


@given(st.binary(min_size=8, max_size=8), st.binary(min_size=8, max_size=8))
def test_subtraction_is_hamming_distance(a: bytes, b: bytes) -> None:
    expected = sum(bin(x ^ y).count("1") for x, y in zip(a, b))
    assert FrameHash(a, 64) - FrameHash(b, 64) == expected
    assert FrameHash(a, 64) - FrameHash(a, 64) == 0


@pytest.mark.parametrize("text", ["", "abc", "zz", "12 34 5"])
def test_bad_hex_is_a_format_error(text: str) -> None:
    with pytest.raises(FormatError):
        FrameHash.from_hex(text)


def test_sizes_must_agree() -> None:
    with pytest.raises(ValidationError, match="data"):
        FrameHash(b"\x00" * 4, 64)
    with pytest.raises(ValueError, match="64-bit hash with a 256-bit"):
        FrameHash(b"\x00" * 8, 64) - FrameHash(b"\x00" * 32, 256)


def test_unknown_algorithm_names_what_is_allowed() -> None:
    with pytest.raises(ValidationError, match="pdq, phash, phash256"):
        get_hasher("md5")


def test_phash_hex_matches_imagehash() -> None:
    """Our hex form is imagehash's, so hashes can be exchanged with it."""
    image = scene(3)
    ours, _ = get_hasher("phash").hash_image(image)
    assert str(ours) == str(imagehash.phash(Image.fromarray(image)))
    ours256, _ = get_hasher("phash256").hash_image(image)
    assert str(ours256) == str(imagehash.phash(Image.fromarray(image), hash_size=16))


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
class TestIntegrity:
    """Every algorithm: small edits move the hash a little, other pictures a lot."""

    def test_shape_and_determinism(self, name: str) -> None:
        hasher = get_hasher(name)
        first, quality = hasher.hash_image(scene(1))
        again, _ = hasher.hash_image(scene(1))
        assert first == again
        assert first.bits == hasher.bits
        assert 0 <= quality <= 100

    def test_small_edits_stay_close(self, name: str) -> None:
        hasher = get_hasher(name)
        image = scene(5)
        original, _ = hasher.hash_image(image)
        rng = np.random.default_rng(0)
        noisy = np.clip(image + rng.normal(0, 4, image.shape), 0, 255).astype(np.uint8)
        brighter = np.clip(image.astype(np.int16) + 20, 0, 255).astype(np.uint8)
        for edited in (noisy, brighter):
            assert hasher.hash_image(edited)[0] - original <= 0.1 * hasher.bits

    def test_different_pictures_are_far(self, name: str) -> None:
        hasher = get_hasher(name)
        distances = [hasher.hash_image(scene(a))[0] - hasher.hash_image(scene(b))[0]
                     for a, b in ((1, 2), (3, 4), (5, 6), (7, 8))]
        assert min(distances) >= 0.25 * hasher.bits

    def test_flat_picture_has_no_quality(self, name: str) -> None:
        _, quality = get_hasher(name).hash_image(np.full((64, 64), 128, np.uint8))
        assert quality == 0


def test_gradient_quality_tracks_pdq_quality() -> None:
    """pHash frames are scored on PDQ's scale: check both agree on real-looking pictures."""
    pdq = get_hasher("pdq")
    for seed in range(6):
        image = scene(seed)
        faded = (image * 0.05).astype(np.uint8)
        assert abs(gradient_quality(image) - pdq.hash_image(image)[1]) <= 15
        assert abs(gradient_quality(faded) - pdq.hash_image(faded)[1]) <= 15


def test_pinned_pdq_value() -> None:
    """A fixed picture must keep its hash; a change here breaks every stored index."""
    ramp = np.add.outer(np.arange(64), 2 * np.arange(64)).astype(np.uint8)
    ramp[16:48, 20:40] = 255
    digest, quality = get_hasher("pdq").hash_image(ramp)
    assert str(digest) == PINNED_PDQ
    assert quality == PINNED_QUALITY


PINNED_PDQ = "9aa91659165996591496e9a6e9a6e9a6b9b39659165916595473e9a6e9a61659"
PINNED_QUALITY = 73


def test_batched_pdq_is_pdqhash_bit_for_bit() -> None:
    """The stacked PDQ transform gives pdqhash's hash and quality for every usable frame."""
    import cv2

    pdq = get_hasher("pdq")
    rng = np.random.default_rng(7)
    images = [scene(seed) for seed in range(40)]
    for _ in range(400):
        noise = rng.integers(0, 256, (64, 64), dtype=np.uint8)
        image = cv2.GaussianBlur(noise, (0, 0), float(rng.uniform(0.3, 6)))
        images.append((image * rng.uniform(0.3, 1.0)).astype(np.uint8))
    stack = np.stack(images)
    batched = pdq.hash_images(stack)
    single = [pdq.hash_image(image) for image in stack]
    usable = 0
    for (digest, quality), (expected, expected_quality) in zip(batched, single):
        assert quality == expected_quality
        # A quality-0 frame is flat: its DCT is rounding noise, in C++ and here alike.
        if expected_quality > 0:
            usable += 1
            assert digest == expected
    assert usable > 200


@pytest.mark.parametrize("algorithm", ["pdq", "phash"])
def test_digests_are_the_hashes_without_the_quality(algorithm: str) -> None:
    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, (12, 64, 64), dtype=np.uint8)
    images[3] = 0  # a black frame too
    hasher = get_hasher(algorithm)
    assert hasher.digests(images) == [digest for digest, _ in hasher.hash_images(images)]
