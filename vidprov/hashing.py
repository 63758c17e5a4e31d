"""Perceptual frame hashes as value objects, and the hash algorithms.

A :class:`FrameHash` is an immutable bit string: ``str(h)`` is its hex form,
:meth:`FrameHash.from_hex` parses that back exactly, and ``a - b`` is the
Hamming distance. The bit order is the one imagehash and Meta's PDQ use, so
hex strings are interchangeable with theirs.

The algorithms take a small grayscale image (``uint8``, 2-D) of the active
picture and return a hash and a 0-100 quality score:

* ``pdq``: Meta's PDQ (256 bits) through the ``pdqhash`` package, the hash
  behind ThreatExchange's vPDQ.
* ``phash``: imagehash's DCT pHash at 64 bits.
* ``phash256``: the same at 256 bits (``hash_size=16``).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .errors import FormatError, ValidationError

#: Side of the square grayscale image every algorithm is given by default.
#: PDQ works on 64x64 internally and pHash-256 needs 64x64, so this loses nothing.
HASH_INPUT_SIZE = 64

# popcount of every byte value, for Hamming distances on packed bits.
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


@dataclass(frozen=True)
class FrameHash:
    """A perceptual hash: ``bits`` long, stored packed big-endian in ``data``."""

    data: bytes
    bits: int

    def __post_init__(self) -> None:
        if self.bits <= 0 or self.bits % 8:
            raise ValidationError("bits", self.bits, "a positive multiple of 8")
        if len(self.data) * 8 != self.bits:
            raise ValidationError("data", self.data.hex(), f"{self.bits // 8} bytes")

    @classmethod
    def from_hex(cls, text: str) -> FrameHash:
        """Parse the hex form; the inverse of ``str()``."""
        cleaned = text.strip()
        if not cleaned or len(cleaned) % 2:
            raise FormatError(f"hash {text!r} is not an even number of hex digits")
        try:
            data = bytes.fromhex(cleaned)
        except ValueError as error:
            raise FormatError(f"hash {text!r} is not hexadecimal") from error
        return cls(data, len(data) * 8)

    @classmethod
    def from_bool_array(cls, array: np.ndarray) -> FrameHash:
        """Build from an array of bits in row-major order (imagehash's layout)."""
        flat = np.asarray(array, dtype=bool).ravel()
        return cls(np.packbits(flat).tobytes(), int(flat.size))

    def to_bool_array(self) -> np.ndarray:
        return np.unpackbits(np.frombuffer(self.data, dtype=np.uint8)).astype(bool)

    def __str__(self) -> str:
        return self.data.hex()

    def __repr__(self) -> str:
        return f"FrameHash('{self.data.hex()}')"

    def __sub__(self, other: object) -> int:
        if not isinstance(other, FrameHash):
            return NotImplemented
        if other.bits != self.bits:
            raise ValueError(f"cannot compare a {self.bits}-bit hash with a {other.bits}-bit hash")
        xor = np.bitwise_xor(np.frombuffer(self.data, np.uint8), np.frombuffer(other.data, np.uint8))
        return int(_POPCOUNT[xor].sum())


def hamming_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distances between every row of ``a`` and every row of ``b``.

    Both are ``uint8`` arrays of packed hashes, shape ``(n, bytes)``.
    """
    if a.shape[1] % 8 == 0 and hasattr(np, "bitwise_count"):
        # numpy 2: a hardware popcount over 64-bit words.
        # One 2-D pass per word, summed as it goes: reducing a (n, m, words) array over
        # its short last axis costs several times more.
        wa = np.ascontiguousarray(a).view(np.uint64)
        wb = np.ascontiguousarray(np.ascontiguousarray(b).view(np.uint64).T)
        total = np.zeros((len(wa), wb.shape[1]), dtype=np.int32)
        for word in range(wa.shape[1]):
            total += np.bitwise_count(wa[:, word, None] ^ wb[word][None, :])
        return total
    xor = np.bitwise_xor(a[:, None, :], b[None, :, :])
    return _POPCOUNT[xor].sum(axis=2, dtype=np.int32)


def gradient_quality(gray: np.ndarray) -> int:
    """A 0-100 score of how much picture there is, on PDQ's scale.

    PDQ rates a frame by the summed absolute difference of neighbouring pixels
    in its 64x64 buffer, divided by 90 and capped at 100. We compute the same on
    the hash input so that pHash frames are scored like PDQ frames: black, flat
    and washed-out frames score near 0.
    """
    image = np.asarray(gray, dtype=np.int16)
    if image.shape != (HASH_INPUT_SIZE, HASH_INPUT_SIZE):
        import cv2

        image = cv2.resize(np.asarray(gray, np.uint8), (HASH_INPUT_SIZE, HASH_INPUT_SIZE),
                           interpolation=cv2.INTER_AREA).astype(np.int16)
    # PDQ's buffer holds luma in 0..1 scaled by 100 per unit; for 8-bit input that
    # is a factor of 100/255 on the raw differences.
    total = (np.abs(np.diff(image, axis=0)).sum() + np.abs(np.diff(image, axis=1)).sum()) * (100 / 255)
    return int(min(100, total / 90))


class Hasher(abc.ABC):
    """A frame-hash algorithm: a name, its parameters and ``hash_image``."""

    name: ClassVar[str]
    bits: ClassVar[int]

    @property
    def params(self) -> dict[str, object]:
        """Parameters that change the hash values; recorded in fingerprints."""
        return {"input": f"gray{HASH_INPUT_SIZE}"}

    @abc.abstractmethod
    def hash_image(self, gray: np.ndarray) -> tuple[FrameHash, int]:
        """Hash a 2-D ``uint8`` grayscale image; return the hash and its 0-100 quality."""

    def hash_images(self, grays: np.ndarray) -> list[tuple[FrameHash, int]]:
        """Hash a stack of equal-sized gray images, shape ``(n, h, w)``.

        Gives the same results as :meth:`hash_image` on each; algorithms that
        can share work across frames override it.
        """
        return [self.hash_image(gray) for gray in grays]

    def digests(self, grays: np.ndarray) -> list[FrameHash]:
        """The hashes alone of a stack of gray images, for views whose quality is not kept (mirrored,
        inside a window); algorithms that can skip the quality score override it."""
        return [digest for digest, _ in self.hash_images(grays)]

    def hash_rgb(self, rgb: np.ndarray) -> tuple[FrameHash, int]:
        """Hash an RGB image (H, W, 3). Algorithms that use colour override this."""
        import cv2

        return self.hash_image(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))


class PDQHasher(Hasher):
    """Meta's PDQ: 256 bits and PDQ's own quality score."""

    name = "pdq"
    bits = 256

    def __init__(self) -> None:
        import pdqhash  # imported here: building it is the slowest part of installing

        self._pdq = pdqhash

    def hash_image(self, gray: np.ndarray) -> tuple[FrameHash, int]:
        # PDQ takes RGB and weighs it into luma with weights that sum to 1, so a
        # gray image given as three equal channels hashes as itself.
        rgb = np.repeat(np.asarray(gray, np.uint8)[:, :, None], 3, axis=2)
        return self.hash_rgb(rgb)

    def hash_rgb(self, rgb: np.ndarray) -> tuple[FrameHash, int]:
        vector, quality = self._pdq.compute(np.ascontiguousarray(rgb, dtype=np.uint8))
        return FrameHash.from_bool_array(vector), int(quality)

    def hash_images(self, grays: np.ndarray) -> list[tuple[FrameHash, int]]:
        """PDQ of a stack of 64x64 gray images, several times faster than ``pdqhash``.

        ``pdqhash`` spends about 90 us a frame in its scalar 64x64-to-16x16 DCT,
        as much as decoding a small frame. For 64x64 input PDQ's Jarosz blur has
        a window of one and its decimation picks every pixel, so the hash is the
        DCT alone: it is computed here as two BLAS matrix products per frame,
        with the median and bit packing done for the whole stack at once.
        The tests check the result bit for bit against ``pdqhash``.
        """
        grays = np.asarray(grays)
        if grays.ndim != 3 or grays.shape[1:] != (HASH_INPUT_SIZE, HASH_INPUT_SIZE):
            return super().hash_images(grays)
        luma = grays.astype(np.float32)
        return list(zip(_pdq_dct_hashes(luma), _pdq_quality(luma)))

    def digests(self, grays: np.ndarray) -> list[FrameHash]:
        """:meth:`hash_images` without the quality score, which costs more than the hash."""
        grays = np.asarray(grays)
        if grays.ndim != 3 or grays.shape[1:] != (HASH_INPUT_SIZE, HASH_INPUT_SIZE):
            return super().digests(grays)
        return _pdq_dct_hashes(grays.astype(np.float32))

    def hash_rgb_dihedral(self, rgb: np.ndarray) -> list[FrameHash]:
        """The hashes of the 8 rotations and mirrors of an image, from one pass."""
        vectors, _quality = self._pdq.compute_dihedral(np.ascontiguousarray(rgb, dtype=np.uint8))
        return [FrameHash.from_bool_array(v) for v in vectors]


def _pdq_dct_hashes(luma: np.ndarray) -> list[FrameHash]:
    """PDQ hashes of a stack of 64x64 luma images (see :meth:`PDQHasher.hash_images`)."""
    # One small product per frame: each stays under OpenBLAS's threading
    # threshold, so no BLAS threads spin against the decoder's threads.
    flat = np.stack([_PDQ_DCT @ frame @ _PDQ_DCT.T for frame in luma.astype(np.float64)]).reshape(-1, 256)
    # PDQ thresholds at Torben's median, the 128th smallest of the 256 values.
    medians = np.partition(flat, 127, axis=1)[:, 127:128]
    # pdqhash lists bit 255 first; flip so the hex form is identical.
    packed = np.packbits((flat > medians)[:, ::-1], axis=1)
    return [FrameHash(row.tobytes(), 256) for row in packed]


def _pdq_dct_matrix() -> np.ndarray:
    # PDQ's 16x64 DCT-II basis without the DC row, as in Meta's reference code.
    i = np.arange(1, 17)[:, None]
    j = np.arange(64)[None, :]
    return np.sqrt(2.0 / 64.0) * np.cos((np.pi / 2 / 64.0) * i * (2 * j + 1))


_PDQ_DCT = _pdq_dct_matrix()


def _pdq_quality(luma: np.ndarray) -> np.ndarray:
    """PDQ's quality for a stack of 64x64 float32 luma buffers.

    Meta's code truncates each scaled neighbour difference to an integer
    before summing, then divides by 90 and caps at 100; so does this.
    """
    down = np.trunc((luma[:, :-1, :] - luma[:, 1:, :]) * np.float32(100) / np.float32(255))
    across = np.trunc((luma[:, :, :-1] - luma[:, :, 1:]) * np.float32(100) / np.float32(255))
    total = np.abs(down).sum(axis=(1, 2), dtype=np.int64) + np.abs(across).sum(axis=(1, 2), dtype=np.int64)
    return np.minimum(100, total // 90).astype(int).tolist()


class PHasher(Hasher):
    """imagehash's pHash: DCT of a (4·n)² image, thresholded at the median."""

    def __init__(self, hash_size: int) -> None:
        import imagehash
        from PIL import Image

        self._imagehash = imagehash
        self._image = Image
        self.hash_size = hash_size

    @property
    def params(self) -> dict[str, object]:
        return {**super().params, "hash_size": self.hash_size, "highfreq_factor": 4}

    def hash_image(self, gray: np.ndarray) -> tuple[FrameHash, int]:
        image = self._image.fromarray(np.asarray(gray, np.uint8), mode="L")
        digest = self._imagehash.phash(image, hash_size=self.hash_size)
        return FrameHash.from_bool_array(digest.hash), gradient_quality(gray)


class PHash64(PHasher):
    name = "phash"
    bits = 64

    def __init__(self) -> None:
        super().__init__(8)


class PHash256(PHasher):
    name = "phash256"
    bits = 256

    def __init__(self) -> None:
        super().__init__(16)


ALGORITHMS: dict[str, type[Hasher]] = {cls.name: cls for cls in (PDQHasher, PHash64, PHash256)}

#: The algorithm used when none is named.
DEFAULT_ALGORITHM = "pdq"


def get_hasher(name: str) -> Hasher:
    """The hasher registered under ``name``."""
    try:
        return ALGORITHMS[name]()
    except KeyError:
        raise ValidationError("algorithm", name, "one of " + ", ".join(sorted(ALGORITHMS))) from None
