"""PSNR/SSIM of every method over a range of SNRs: the numbers behind ``spikevision comm eval``.

Methods (:data:`METHODS`):

``spiking_jscc``   the spiking code; its spikes are BPSK symbols, the receiver decodes soft bits.
``analog_jscc``    the DeepJSCC-style analog reference (real-valued channels only: awgn, rayleigh).
``separate_ideal`` classical reconstruction at the sender + best standard codec at the binary-input
                   capacity of the link (:mod:`.separate`, ``bound="ideal"``).
``separate_ldpc``  the same with a real 5G LDPC code and CRC (needs Sionna).

Every method gets the same number of real channel uses per image: that of the
learned codes (frames padded to multiples of 16), reported as ``bandwidth``.
Scores are against the ground truth (data range 1; SSIM with a Gaussian
window, sigma 1.5) and averaged over the samples. The channel noise of sample
``i`` at SNR index ``j`` is seeded by ``(seed, i, j)``, the same for every method.

>>> rows = evaluate(samples, channel="awgn", snrs=[0, 10], bandwidth="1/32")   # doctest: +SKIP
>>> rows[0]["method"], rows[0]["psnr"]                                           # doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

__all__ = [
    "METHODS",
    "Sample",
    "load_samples",
    "parse_snrs",
    "parse_bandwidth",
    "evaluate",
    "results_table",
    "plot_results",
    "code_name",
    "load_code",
]

METHODS = ("spiking_jscc", "analog_jscc", "separate_ideal", "separate_ldpc")
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm")


@dataclass(frozen=True)
class Sample:
    """One evaluation case: a spike window ``(T, H, W)`` uint8 and the image at its centre ``(H, W)`` float32."""

    name: str
    window: np.ndarray
    gt: np.ndarray


def _metrics():
    try:
        from ..metrics import psnr, ssim
    except ImportError:  # pragma: no cover - metrics stage absent
        from skimage.metrics import peak_signal_noise_ratio as _p
        from skimage.metrics import structural_similarity as _s

        def psnr(a, b, *, data_range):
            return float(_p(b, a, data_range=data_range))

        def ssim(a, b, *, data_range):
            return float(_s(b, a, data_range=data_range, gaussian_weights=True, sigma=1.5, use_sample_covariance=False))
    return psnr, ssim


def load_samples(path: str | Path, *, window: int = 41, seed: int = 0, max_side: int | None = None) -> list[Sample]:
    """Evaluation samples from a folder.

    * REDS-style (``spike/NAME.dat`` + ``gt/NAME.png``) or ``synth`` folders
      (:mod:`spikevision.datasets.recon`): the ``window`` frames around the GT's
      frame, GT = the PNG.
    * Otherwise every image file in the folder (sorted): a static scene,
      luminance in [0, 1] (resized so the long side is at most ``max_side``
      when given), simulated into a ``window``-frame spike window with
      :func:`spikevision.sim.fire` (default camera preset, seed ``seed + i``).
    """
    p = Path(path)
    if not p.is_dir():
        raise FileNotFoundError(f"data folder not found: {p}")
    if (p / "spike").is_dir() or (p / "index.json").is_file():
        from ..datasets import find_recon_items, read_recon_item

        return [Sample(it.name, *read_recon_item(it, window=window)) for it in find_recon_items(p)]
    files = sorted(f for f in p.iterdir() if f.suffix.lower() in _IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"{p} holds neither spike/*.dat (REDS-style) nor images ({', '.join(_IMAGE_SUFFIXES)})")
    import imageio.v3 as iio

    from ..sim import REDS_PRESET, fire, to_intensity
    from ..sim.sources import resize_intensity

    out = []
    for i, f in enumerate(files):
        img = to_intensity(np.asarray(iio.imread(f)), name=f.name)
        if max_side and max(img.shape) > max_side:
            sc = max_side / max(img.shape)
            img = resize_intensity(img, max(1, round(img.shape[0] * sc)), max(1, round(img.shape[1] * sc)))
        spikes = fire(np.broadcast_to(img, (window, *img.shape)).astype(np.float32), settings=REDS_PRESET, seed=seed + i)
        out.append(Sample(f.stem, spikes, img.astype(np.float32)))
    return out


def parse_snrs(spec: str | Iterable[float]) -> list[float]:
    """``"-5:20:5"`` (start:stop:step, stop included), ``"0,10"`` or a list of numbers -> SNRs in dB."""
    if isinstance(spec, str):
        s = spec.strip()
        try:
            if ":" in s:
                parts = [float(v) for v in s.split(":")]
                if len(parts) != 3 or parts[2] <= 0 or parts[1] < parts[0]:
                    raise ValueError
                n = int(math.floor((parts[1] - parts[0]) / parts[2] + 1e-9)) + 1
                vals = [parts[0] + i * parts[2] for i in range(n)]
            else:
                vals = [float(v) for v in s.split(",") if v.strip()]
        except ValueError:
            raise ValueError(f"SNRs must look like 'start:stop:step' (stop >= start, step > 0) or 'a,b,c', got {spec!r}") from None
    else:
        vals = [float(v) for v in spec]
    if not vals or not all(math.isfinite(v) for v in vals):
        raise ValueError(f"need at least one finite SNR, got {spec!r}")
    return vals


def parse_bandwidth(spec: str | float) -> Fraction:
    """``"1/32"``, ``"0.03125"`` or a number -> bandwidth ratio as a fraction (real channel uses per pixel)."""
    try:
        f = Fraction(spec).limit_denominator(4096) if not isinstance(spec, str) else Fraction(spec.strip()).limit_denominator(4096)
    except (ValueError, ZeroDivisionError, TypeError):
        raise ValueError(f"bandwidth must be a ratio like '1/32', got {spec!r}") from None
    if not 0 < f <= 1:
        raise ValueError(f"bandwidth must be in (0, 1], got {spec!r}")
    if (f * 256).denominator != 1:
        raise ValueError(f"bandwidth * 256 must be a whole number of symbols per 16x16 block, got {spec!r}")
    return f


def code_name(kind: str, bandwidth: str | float | Fraction) -> str:
    """Registry name of the shipped weights: ``comm_snn_bw32`` for ``("snn", "1/32")``."""
    f = parse_bandwidth(bandwidth) if not isinstance(bandwidth, Fraction) else bandwidth
    if f.numerator != 1:
        raise ValueError(f"shipped weights exist only for bandwidths 1/N, got {f}")
    return f"comm_{kind}_bw{f.denominator}"


def load_code(name_or_path: str | Path) -> Any:
    """A trained code (eval mode) from a registered weights name or a checkpoint file.

    Files are loaded by :func:`spikevision.learned.load_checkpoint` (``weights_only``, digest
    checked); a corrupt file or one of another task is a :class:`spikevision.learned.CheckpointError`.
    """
    from ..learned.checkpoint import CheckpointError, load_checkpoint
    from .jscc import build_code
    from .nets import CodeConfig

    ck = load_checkpoint(name_or_path, task="comm", models=("snn", "analog"))
    try:
        code = build_code(CodeConfig(**ck.model_args))
        code.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in ck.state.items()})
    except (TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{ck.path}: the weights do not fit the code its settings describe ({exc})") from exc
    return code.eval()


def _noise_seed(seed: int, i: int, j: int) -> int:
    return (int(seed) * 1_000_003 + i * 10_007 + j) % (2**31)


def _sender_image(win: np.ndarray, method: str) -> np.ndarray:
    from ..recon import reconstruct

    return np.clip(reconstruct(win, method=method, at=win.shape[0] // 2), 0, 1).astype(np.float32)


def evaluate(samples: Sequence[Sample], *, channel: str = "awgn", snrs: Iterable[float] = (-5, 0, 5, 10, 15, 20),
             bandwidth: str | float = "1/32", methods: Sequence[str] = METHODS, codes: dict[str, Any] | None = None,
             sender_method: str = "atfi", separate: Any = None, seed: int = 0, progress: bool = False) -> list[dict[str, Any]]:
    """Mean PSNR/SSIM per ``(method, SNR)``; one dict per row (see :func:`results_table`).

    ``codes`` maps ``"snn"``/``"analog"`` to trained codes; by default the
    shipped weights for ``bandwidth`` are loaded. Rows carry ``method``,
    ``channel``, ``snr_db``, ``bandwidth`` (real channel uses per pixel, padding
    included), ``psnr``, ``ssim``, ``n_uses``, ``capacity_binary`` and
    ``capacity_gaussian`` (bits per real use) and, for separate coding,
    ``failures`` (count) and ``payload_bytes`` (mean).
    """
    import torch

    from ..progress import progress_bar
    from .capacity import binary_capacity, gaussian_capacity
    from .channels import make_channel
    from .jscc import channel_uses
    from .separate import SeparateSettings, separate_coding

    if not samples:
        raise ValueError("no samples to evaluate")
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise ValueError(f"methods must be drawn from {METHODS}, got {list(methods)}")
    ch = make_channel(channel)
    snrs = parse_snrs(snrs) if isinstance(snrs, str) else [float(s) for s in snrs]
    bw = parse_bandwidth(bandwidth)
    spp = int(bw * 256)
    binary_only = ch.name in ("bsc", "bec")
    methods = [m for m in methods if not (m == "analog_jscc" and binary_only)]
    codes = dict(codes or {})
    for m, kind in (("spiking_jscc", "snn"), ("analog_jscc", "analog")):
        if m in methods and kind not in codes:
            codes[kind] = load_code(code_name(kind, bw))
        if m in methods and codes[kind].cfg.symbols_per_position != spp:
            raise ValueError(f"the {kind} code sends {codes[kind].cfg.symbols_per_position} symbols per 16x16 block, "
                             f"bandwidth {bw} needs {spp}")
    sep = separate or SeparateSettings()
    psnr, ssim = _metrics()
    acc: dict[tuple[str, int], dict[str, list]] = {}
    bar = progress_bar(total=len(samples) * len(snrs), desc=f"comm eval {channel}", enabled=progress)
    total_uses = total_px = 0
    for i, smp in enumerate(samples):
        h, w = smp.gt.shape
        n_uses = channel_uses(h, w, spp)
        total_uses, total_px = total_uses + n_uses, total_px + h * w
        x = torch.from_numpy(np.ascontiguousarray(smp.window[None])).float()
        sender = _sender_image(smp.window, sender_method) if any(m.startswith("separate") for m in methods) else None
        with torch.inference_mode():
            sym = {k: c.encode(x) for k, c in codes.items()}
        for j, snr in enumerate(snrs):
            for m in methods:
                info: dict[str, Any] = {}
                if m in ("spiking_jscc", "analog_jscc"):
                    kind = "snn" if m == "spiking_jscc" else "analog"
                    gen = torch.Generator().manual_seed(_noise_seed(seed, i, j))
                    with torch.inference_mode():
                        rx = codes[kind].transmit(sym[kind], ch, snr, generator=gen)
                        img = codes[kind].decode(rx, (h, w))[0, 0].numpy()
                else:
                    r = separate_coding(sender, channel=ch, snr_db=snr, n_uses=n_uses,
                                        bound="ideal" if m == "separate_ideal" else "ldpc", settings=sep,
                                        seed=_noise_seed(seed, i, j))
                    img = r.image
                    info = {"failures": int(not r.ok), "payload_bytes": r.payload_bytes}
                d = acc.setdefault((m, j), {"psnr": [], "ssim": [], "failures": [], "payload_bytes": []})
                d["psnr"].append(psnr(np.clip(img, 0, 1), smp.gt, data_range=1.0))
                d["ssim"].append(ssim(np.clip(img, 0, 1), smp.gt, data_range=1.0))
                for k, v in info.items():
                    d[k].append(v)
            bar.update(1)
    bar.close()
    rows = []
    for m in methods:
        for j, snr in enumerate(snrs):
            d = acc[(m, j)]
            row = {"method": m, "channel": channel, "snr_db": snr, "bandwidth": round(total_uses / total_px, 6),
                   "psnr": round(float(np.mean(d["psnr"])), 3), "ssim": round(float(np.mean(d["ssim"])), 4),
                   "n_uses": int(round(total_uses / len(samples))),
                   "capacity_binary": round(binary_capacity(ch, snr), 4),
                   "capacity_gaussian": round(gaussian_capacity(snr), 4)}
            if d["failures"]:
                row["failures"] = int(sum(d["failures"]))
                row["payload_bytes"] = round(float(np.mean(d["payload_bytes"])), 1)
            rows.append(row)
    return rows


def results_table(rows: Sequence[dict[str, Any]]) -> str:
    """A fixed-width text table: one line per SNR, PSNR/SSIM per method."""
    if not rows:
        return "(no results)"
    methods = list(dict.fromkeys(r["method"] for r in rows))
    snrs = list(dict.fromkeys(r["snr_db"] for r in rows))
    by = {(r["method"], r["snr_db"]): r for r in rows}
    head = f"{'SNR dB':>7} {'C_bin':>6} " + " ".join(f"{m:>22}" for m in methods)
    lines = [f"channel {rows[0]['channel']}, bandwidth {rows[0]['bandwidth']:.5f} real channel uses / pixel, "
             f"PSNR dB / SSIM", head, "-" * len(head)]
    for s in snrs:
        cells = []
        for m in methods:
            r = by.get((m, s))
            cells.append(f"{'-':>22}" if r is None else
                         f"{r['psnr']:>8.2f} / {r['ssim']:.3f}" + (f" f{r['failures']:<2d}" if "failures" in r else "    "))
        lines.append(f"{s:>7g} {by[(methods[0], s)]['capacity_binary']:>6.3f} " + " ".join(f"{c:>22}" for c in cells))
    return "\n".join(lines)


_LABELS = {"spiking_jscc": "spiking JSCC (BPSK bits)", "analog_jscc": "analog JSCC (real symbols)",
           "separate_ideal": "reconstruct + codec @ binary capacity", "separate_ldpc": "reconstruct + codec + 5G LDPC"}


def plot_results(rows: Sequence[dict[str, Any]], *, title: str | None = None) -> np.ndarray:
    """PSNR-vs-SNR figure as an ``(H, W, 3)`` uint8 RGB array (save it with any image writer)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not rows:
        raise ValueError("no results to plot")
    fig = Figure(figsize=(7, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    styles = {"spiking_jscc": "o-", "analog_jscc": "s--", "separate_ideal": "^-", "separate_ldpc": "v:"}
    for m in dict.fromkeys(r["method"] for r in rows):
        pts = sorted((r["snr_db"], r["psnr"]) for r in rows if r["method"] == m)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], styles.get(m, "o-"), label=_LABELS.get(m, m))
    ax.set_xlabel("SNR (dB, Es/N0 per real symbol)")
    ax.set_ylabel("PSNR (dB)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    r0 = rows[0]
    ax.set_title(title or f"{r0['channel']}, bandwidth {r0['bandwidth']:.4f} channel uses / pixel", fontsize=10)
    fig.tight_layout()
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
