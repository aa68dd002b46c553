"""Fetch the held-out REDS-style spike clips that the reconstruction bar is measured on.

The ``spikezoo`` wheel on PyPI (version 0.2.3.7, MIT License, (c) the spikezoo
authors) ships three test clips of the Spk2ImgNet REDS spike set next to the two
training clips in ``../shared/data/reds_train_sample``: 250 x 400, 301 frames,
ground truth at the middle frame. TFP scores 28.00 dB on them, the value the
issue quotes for its held-out clips. This script is a development tool for
reproducing the README's numbers; the package itself never downloads anything.

    .venv/bin/python scripts/fetch_reds_heldout.py --out /work/data/reds_heldout
    spikevision eval recon --data /work/data/reds_heldout --method cnn

It runs ``pip download --no-deps spikezoo==0.2.3.7`` (a package registry, the
only network access this project assumes), or reads a wheel you already have
(``--wheel``), checks the wheel's and every file's SHA-256, and writes
``OUT/spike/*.dat``, ``OUT/gt/*.png``, the licence and a MANIFEST. The output
folder appears whole or not at all.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL = "spikezoo-0.2.3.7-py3-none-any.whl"
WHEEL_SHA256 = "4dc7cb47e09f061e8023a3092de3b1bf937a72be32700547d9ed27089551e855"
PREFIX = "spikezoo/data/base/test/"
FILES = {
    "spike/200_part1_key_id151.dat": "c03e101bca99803e1a688c80652ca87922bb71ab2e31d7032bc839cb6bd50ee5",
    "spike/200_part3_key_id151.dat": "d6fc184dfd7ef326ca7a498b5f01a7adea50cc8b145347dfd002f27224c84f88",
    "spike/203_part1_key_id151.dat": "92e8fdb32d239fd6fead65aee4c9dbadd40517582c4fc442cc40a5c80a5c4939",
    "gt/200_part1_key_id151.png": "864293aa9befd4cb3fc6370fde5436a724ecc2208cd48ed82ca47f00da83e419",
    "gt/200_part3_key_id151.png": "7b82295b3b66a50e960c3a5fce8acba37528d7b6440905fb7c898b5d1247c1c7",
    "gt/203_part1_key_id151.png": "c79848b4a81a326a64df27a3c79832d831367b04150a986cee065ea911e1b164",
}
MANIFEST = """# reds_heldout

Three spike-camera clips with their ground-truth frames, taken unchanged from the
`spikezoo` wheel (version 0.2.3.7, folder `spikezoo/data/base/test/`), released
under the MIT License (LICENSE.txt, (c) the spikezoo authors). The clips were
simulated by the spikezoo authors from the REDS video dataset (the Spk2ImgNet
REDS spike set). Same format as `reds_train_sample`: headerless `.dat`,
250 x 400, 301 frames, ground truth at frame 150. TFP (41 frames / 0.6): 28.00 dB.
Written by `scripts/fetch_reds_heldout.py`.
"""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download(dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "-d", str(dest),
           "spikezoo==0.2.3.7"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"pip download failed (exit {done.returncode}):\n{done.stderr.strip()[-2000:]}")
    return dest / WHEEL


def extract(wheel: Path, out: Path) -> None:
    if not wheel.is_file():
        raise SystemExit(f"no such wheel: {wheel}")
    from spikevision.weights import sha256_of

    if sha256_of(wheel) != WHEEL_SHA256:
        raise SystemExit(f"{wheel} is not the expected {WHEEL} (SHA-256 differs)")
    if out.exists():
        raise SystemExit(f"{out} exists; remove it or choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        with zipfile.ZipFile(wheel) as z:
            for rel, digest in FILES.items():
                data = z.read(PREFIX + rel)
                if sha256(data) != digest:
                    raise SystemExit(f"{rel} in the wheel has an unexpected SHA-256")
                (tmp / rel).parent.mkdir(exist_ok=True)
                (tmp / rel).write_bytes(data)
            (tmp / "LICENSE.txt").write_bytes(z.read("spikezoo-0.2.3.7.dist-info/LICENSE.txt"))
        (tmp / "MANIFEST.md").write_text(MANIFEST)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path, help="folder to create (spike/, gt/)")
    ap.add_argument("--wheel", type=Path, help=f"use this {WHEEL} instead of downloading it")
    args = ap.parse_args()
    if args.wheel is not None:
        extract(args.wheel, args.out)
    else:
        with tempfile.TemporaryDirectory() as d:
            extract(download(Path(d)), args.out)
    print(f"wrote {args.out}: {len(FILES) // 2} clips with ground truth")


if __name__ == "__main__":
    main()
