"""Send one spike window over a noisy channel and get the received image.

>>> from spikevision.comm import send
>>> img = send(window, snr_db=0.0)                     # doctest: +SKIP  (41, H, W) uint8 -> (H, W) float32
>>> img = send(window, snr_db=0.0, method="separate_ldpc", channel="bsc")   # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .evaluate import METHODS, code_name, load_code, parse_bandwidth

__all__ = ["send"]


def send(window: Any, *, snr_db: float, method: str = "spiking_jscc", channel: str = "awgn",
         bandwidth: str | float = "1/32", seed: int = 0, code: Any = None, sender_method: str = "atfi") -> np.ndarray:
    """Transmit a spike window ``(T, H, W)`` of 0/1 and return the receiver's image at its centre frame.

    Parameters
    ----------
    window:
        ``(T, H, W)`` 0/1 spikes (``T`` = the code's window, 41 for the
        shipped codes), e.g. ``stream.window(t, 41)``.
    snr_db:
        Per-symbol SNR in dB (:mod:`.channels` states the convention).
    method:
        One of :data:`~spikevision.comm.evaluate.METHODS`.
    channel:
        ``awgn``, ``bsc``, ``bec``, ``rayleigh`` or ``rayleigh-nocsi``.
    bandwidth:
        Real channel uses per pixel (selects the shipped weights).
    code:
        A trained code to use instead of the shipped weights.

    Returns
    -------
    numpy.ndarray
        ``(H, W)`` float32 in ``[0, 1]``.
    """
    import torch

    from .._checks import check_binary_array
    from .channels import make_channel
    from .jscc import channel_uses

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    win = check_binary_array(np.asarray(window), "window", ndim=3)
    if 0 in win.shape:
        raise ValueError(f"window is empty: shape {win.shape}")
    ch = make_channel(channel)
    bw = parse_bandwidth(bandwidth)
    spp = int(bw * 256)
    h, w = win.shape[1:]
    if method.startswith("separate"):
        from .evaluate import _sender_image
        from .separate import separate_coding

        r = separate_coding(_sender_image(win, sender_method), channel=ch, snr_db=float(snr_db),
                            n_uses=channel_uses(h, w, spp), bound=method.split("_")[1], seed=seed)
        return r.image
    kind = "snn" if method == "spiking_jscc" else "analog"
    code = code if code is not None else load_code(code_name(kind, bw))
    if win.shape[0] != code.cfg.window:
        raise ValueError(f"window must have {code.cfg.window} frames for this code, got {win.shape[0]}")
    with torch.inference_mode():
        x = torch.from_numpy(np.ascontiguousarray(win[None])).float()
        out = code(x, ch, float(snr_db), generator=torch.Generator().manual_seed(int(seed)))
    return out[0, 0].numpy().astype(np.float32)
