"""How long reading one file's metadata takes, beside exiftool.

    python benchmarks/metadata.py [CLIP ...]

Without arguments it times the clips in ../shared/corpus. Each clip is read
once to warm the page cache and the imports, then ``--repeat`` times; the table
shows the median per clip. ``vidprov`` is the whole :func:`read_metadata`,
which includes the SHA-256 of every byte (shown alone in its own column) and
the C2PA check when c2pa-python is installed. ``exiftool`` runs as one
persistent process (``-stay_open True -@ -``) so its Perl start-up is not
counted; it reads tags only and hashes nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

from vidprov.metadata import read_metadata
from vidprov.metadata.credentials import _load as load_c2pa

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"

#: The target: metadata for one file under this, at the median over the corpus.
TARGET_MS = 20.0


class Exiftool:
    """One exiftool process answering request after request."""

    def __init__(self, binary: str) -> None:
        self.process = subprocess.Popen([binary, "-stay_open", "True", "-@", "-"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def read(self, path: Path) -> bytes:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"-json\n{path}\n-execute\n".encode())
        self.process.stdin.flush()
        out = bytearray()
        while not out.endswith(b"{ready}\n"):
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("exiftool stopped answering")
            out += line
        return bytes(out)

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"-stay_open\nFalse\n")
        self.process.stdin.flush()
        self.process.wait(timeout=10)


def sha256_only(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def median_ms(action: Callable[[], object], repeat: int) -> float:
    action()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clips", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args(argv)
    clips = args.clips or sorted(CORPUS.glob("*.mp4"))
    if not clips:
        print(f"no clips given and no corpus at {CORPUS}", file=sys.stderr)
        return 1

    binary = shutil.which("exiftool")
    exiftool = Exiftool(binary) if binary else None
    print(f"c2pa check: {'included (c2pa-python installed)' if load_c2pa() else 'not installed, not timed'}")
    if exiftool is None:
        print("exiftool: not installed, column left out (apt-get install libimage-exiftool-perl)")
    header = f"{'clip':<42} {'MiB':>6} {'vidprov ms':>11} {'sha256 ms':>10}"
    header += f" {'exiftool ms':>12}" if exiftool else ""
    print(header)
    print("-" * len(header))
    ours, hashes, theirs = [], [], []
    try:
        for clip in clips:
            ours.append(median_ms(lambda: read_metadata(clip), args.repeat))
            hashes.append(median_ms(lambda: sha256_only(clip), args.repeat))
            row = f"{clip.name[:42]:<42} {clip.stat().st_size / 2**20:>6.2f} {ours[-1]:>11.2f} {hashes[-1]:>10.2f}"
            if exiftool is not None:
                theirs.append(median_ms(lambda: exiftool.read(clip), args.repeat))
                row += f" {theirs[-1]:>12.2f}"
            print(row)
    finally:
        if exiftool is not None:
            exiftool.close()
    print("-" * len(header))
    row = f"{'median':<42} {'':>6} {statistics.median(ours):>11.2f} {statistics.median(hashes):>10.2f}"
    if theirs:
        row += f" {statistics.median(theirs):>12.2f}"
    print(row)
    verdict = "met" if statistics.median(ours) < TARGET_MS else "NOT met"
    print(f"target: median under {TARGET_MS:.0f} ms per file, sha256 included: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
