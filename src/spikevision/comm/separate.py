"""Separate source and channel coding: the system users would otherwise build.

The sender reconstructs the image from the spike window with the best
classical method, compresses it with a standard codec to the largest file the
link can carry (:func:`spikevision.comm.codecs.fit_to_budget`) and sends the
bits over the same binary-input channel (BPSK, ``n_uses`` real channel uses)
the spiking code uses. Two budgets:

``bound="ideal"``
    ``floor(n_uses * C / 8)`` bytes with ``C`` the binary-input capacity at
    that SNR (:func:`spikevision.comm.capacity.binary_capacity`): an ideal,
    infinitely long code that never fails below capacity. For block Rayleigh
    fading the sender does not know the gain: it codes at the 10 % outage
    capacity and the transmission fails when the drawn gain's capacity is below
    the rate.
``bound="ldpc"``
    A real code: 5G NR LDPC with rate matching and a CRC-24A per code block
    (Sionna, ``sionna.phy.fec``), belief propagation with 20 iterations, with
    codeword repetition (LLR combining) for rates below 1/5. The rate is what
    link adaptation would pick: the highest rate on :data:`RATE_LADDER` whose
    block error rate, simulated at this SNR and length, is at most 10 %.

When nothing fits or the CRC fails, the receiver shows a flat image at the
sender image's mean (8 bits, assumed always delivered: a failure is
"mean gray", the most forgiving version of a cliff).

Sionna is imported only for ``bound="ldpc"`` (``pip install sionna-no-rt``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from .capacity import binary_capacity, biawgn_capacity
from .channels import AWGN, BEC, BSC, Channel, Rayleigh, transmit_bits
from .codecs import CODECS, DEFAULT_SCALES, fit_to_budget

__all__ = ["SeparateSettings", "SeparateResult", "separate_coding", "ldpc_rate", "RATE_LADDER", "failure_image"]

_BASE_RATES = (0.2, 0.25, 1 / 3, 0.4, 0.5, 0.6, 2 / 3, 0.75, 5 / 6, 0.9)
#: (LDPC code rate, repetitions) pairs, in increasing effective rate ``r / m``.
RATE_LADDER = tuple(sorted([(0.2, m) for m in (4, 3, 2)] + [(0.25, 2), (1 / 3, 2)] + [(r, 1) for r in _BASE_RATES],
                           key=lambda x: x[0] / x[1]))
_CRC_BITS = 24
_MAX_K = 8448


@dataclass(frozen=True)
class SeparateSettings:
    """Options of the separate-coding baseline."""

    codecs: tuple[str, ...] = CODECS
    scales: tuple[float, ...] = DEFAULT_SCALES
    outage: float = 0.1
    target_bler: float = 0.1
    trials: int = 10
    num_iter: int = 20


@dataclass(frozen=True)
class SeparateResult:
    """What the receiver shows and how it got there."""

    image: np.ndarray
    ok: bool
    codec: str | None
    payload_bytes: int
    budget_bytes: int
    rate: float


def failure_image(sender_image: np.ndarray) -> np.ndarray:
    """The flat "mean gray" image shown when decoding fails."""
    return np.full(sender_image.shape, float(np.mean(sender_image)), np.float32)


def _check_args(img: Any, n_uses: Any, bound: str) -> np.ndarray:
    a = np.asarray(img)
    if a.ndim != 2 or 0 in a.shape or not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"sender image must be a non-empty float (H, W) array, got shape {a.shape} dtype {a.dtype}")
    if isinstance(n_uses, bool) or not isinstance(n_uses, (int, np.integer)) or n_uses < 1:
        raise ValueError(f"n_uses must be a positive integer, got {n_uses!r}")
    if bound not in ("ideal", "ldpc"):
        raise ValueError(f"bound must be 'ideal' or 'ldpc', got {bound!r}")
    return np.clip(a, 0, 1).astype(np.float32)


def _outage_snr(snr_db: float, outage: float) -> float:
    """SNR (dB) exceeded by ``h^2 snr`` with probability ``1 - outage`` (``h^2 ~ Exp(1)``)."""
    return snr_db + 10 * math.log10(-math.log(1.0 - outage))


def separate_coding(sender_image: Any, *, channel: Channel, snr_db: float, n_uses: int, bound: str = "ideal",
                    settings: SeparateSettings = SeparateSettings(), seed: int = 0) -> SeparateResult:
    """Send ``sender_image`` ((H, W) float [0, 1]) through codec + channel code + channel; see the module notes."""
    a = _check_args(sender_image, n_uses, bound)
    rng = np.random.default_rng(seed)
    fail = failure_image(a)
    if bound == "ideal":
        if isinstance(channel, Rayleigh):
            c = biawgn_capacity(_outage_snr(snr_db, settings.outage))
            h2 = float(rng.exponential())  # |g|^2, g ~ CN(0, 1)
            works = biawgn_capacity(snr_db + 10 * math.log10(max(h2, 1e-12))) >= c
        else:
            c, works = binary_capacity(channel, snr_db), True
        budget = int(math.floor(n_uses * c / 8))
        coded = fit_to_budget(a, budget, codecs=settings.codecs, scales=settings.scales)
        if coded is None or not works:
            return SeparateResult(fail, False, coded.codec if coded else None, coded.nbytes if coded else 0, budget, c)
        return SeparateResult(coded.image, True, coded.codec, coded.nbytes, budget, c)
    rate = ldpc_rate(channel, snr_db, n_uses, target_bler=settings.target_bler, trials=settings.trials,
                     num_iter=settings.num_iter)
    if rate is None:
        return SeparateResult(fail, False, None, 0, 0, 0.0)
    r, m = rate
    blocks = _blocks(n_uses, r, m)
    budget = sum(k - _CRC_BITS for k, _ in blocks) // 8
    coded = fit_to_budget(a, budget, codecs=settings.codecs, scales=settings.scales)
    if coded is None:
        return SeparateResult(fail, False, None, 0, budget, r / m)
    payload = np.unpackbits(np.frombuffer(coded.data, np.uint8))
    ok = _send_ldpc(payload, blocks, m, channel, snr_db, seed, settings.num_iter)
    from .codecs import decode_image

    if not ok:
        return SeparateResult(fail, False, coded.codec, coded.nbytes, budget, r / m)
    return SeparateResult(decode_image(coded.data, a.shape), True, coded.codec, coded.nbytes, budget, r / m)


def _blocks(n_uses: int, r: float, m: int) -> list[tuple[int, int]]:
    """Code blocks ``(k, n)`` filling ``n_uses // m`` coded bits at rate ``r`` (k <= 8448 each)."""
    total = n_uses // m
    nb = max(1, math.ceil(total * r / _MAX_K))
    out = []
    for i in range(nb):
        n = total // nb + (1 if i < total % nb else 0)
        out.append((min(n, int(math.ceil(n * r - 1e-9))), n))
    return out


def _sionna():
    try:
        from sionna.phy.fec.crc import CRCDecoder, CRCEncoder
        from sionna.phy.fec.ldpc import LDPC5GDecoder, LDPC5GEncoder
    except ImportError as exc:
        raise ImportError("the LDPC baseline needs Sionna: pip install sionna-no-rt") from exc
    return LDPC5GEncoder, LDPC5GDecoder, CRCEncoder, CRCDecoder


@lru_cache(maxsize=64)
def _codec_pair(k: int, n: int, num_iter: int) -> tuple[Any, Any, Any, Any]:
    enc_cls, dec_cls, crc_enc_cls, crc_dec_cls = _sionna()
    enc = enc_cls(k=k, n=n)
    crc_enc = crc_enc_cls("CRC24A")
    return enc, dec_cls(enc, num_iter=num_iter), crc_enc, crc_dec_cls(crc_enc)


def _run_blocks(info: list[Any], blocks: list[tuple[int, int]], m: int, channel: Channel, snr_db: float,
                gen: Any, num_iter: int) -> list[Any]:
    """Encode (CRC + LDPC), repeat, send, combine, decode; per block a bool tensor ``(trials,)`` of CRC passes."""
    import torch

    res = []
    for u, (k, n) in zip(info, blocks):
        enc, dec, crc_enc, crc_dec = _codec_pair(k, n, num_iter)
        c = enc(crc_enc(u))  # (trials, n), 0/1
        x = (2.0 * c - 1.0).repeat(1, m)
        soft = transmit_bits(x, channel, snr_db, generator=gen).clamp(-1 + 1e-6, 1 - 1e-6)
        llr = (2.0 * torch.atanh(soft)).reshape(x.shape[0], m, n).sum(1)  # log p(b=1)/p(b=0)
        _, crc_ok = crc_dec(dec(llr))
        res.append(crc_ok.reshape(-1).bool())
    return res


def _send_ldpc(payload: np.ndarray, blocks: list[tuple[int, int]], m: int, channel: Channel, snr_db: float,
               seed: int, num_iter: int) -> bool:
    import torch

    gen = torch.Generator().manual_seed(seed)
    bits = np.zeros(sum(k - _CRC_BITS for k, _ in blocks), np.float32)
    bits[: payload.size] = payload
    info, pos = [], 0
    for k, _ in blocks:
        info.append(torch.from_numpy(bits[pos : pos + k - _CRC_BITS].copy())[None])
        pos += k - _CRC_BITS
    return all(bool(ok.all()) for ok in _run_blocks(info, blocks, m, channel, snr_db, gen, num_iter))


def _key(channel: Channel) -> tuple:
    return (type(channel).__name__, getattr(channel, "p", None), getattr(channel, "eps", None),
            getattr(channel, "csi", None))


@lru_cache(maxsize=512)
def _bler(ckey: tuple, channel: Channel, snr_db: float, n_uses: int, r: float, m: int, trials: int, num_iter: int) -> float:
    import torch

    blocks = _blocks(n_uses, r, m)
    if any(k - _CRC_BITS < 8 or k < 12 or n / k > 5.0001 for k, n in blocks):
        return 1.0
    gen = torch.Generator().manual_seed(12345)
    info = [torch.randint(0, 2, (trials, k - _CRC_BITS), generator=gen).float() for k, _ in blocks]
    oks = _run_blocks(info, blocks, m, channel, snr_db, gen, num_iter)
    ok_all = torch.stack(oks, 0).all(0)
    return 1.0 - float(ok_all.float().mean())


def ldpc_rate(channel: Channel, snr_db: float, n_uses: int, *, target_bler: float = 0.1, trials: int = 10,
              num_iter: int = 20) -> tuple[float, int] | None:
    """Highest ``(code rate, repetitions)`` on :data:`RATE_LADDER` with simulated BLER <= ``target_bler``.

    The search starts at the capacity of the channel (no rate above it can
    work) and walks down; ``None`` if even the lowest rate fails.
    """
    if isinstance(channel, Rayleigh):
        cap = biawgn_capacity(_outage_snr(snr_db, 0.1))
    else:
        cap = binary_capacity(channel, snr_db)
    for r, m in reversed(RATE_LADDER):
        if r / m > cap:
            continue
        if _bler(_key(channel), channel, float(snr_db), int(n_uses), r, m, trials, num_iter) <= target_bler:
            return (r, m)
    return None
