"""--device: what exists is used, what does not is an error (never a silent CPU fall-back)."""

import pytest

torch = pytest.importorskip("torch")

from spikevision.learned import DeviceError, resolve_device  # noqa: E402
from spikevision.learned.device import autocast  # noqa: E402


def test_cpu_auto_and_bad_names():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    for bad in ("gpu", "cuda:x", "tpu", ""):
        with pytest.raises(DeviceError, match="auto, cpu, cuda, cuda:N or mps"):
            resolve_device(bad)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the no-CUDA error cannot be shown")
def test_cuda_without_a_gpu_is_an_error():
    for spec in ("cuda", "cuda:0", "CUDA:1"):
        with pytest.raises(DeviceError, match="CUDA is not available here"):
            resolve_device(spec)


def test_cuda_index_past_the_last_gpu():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device here")
    n = torch.cuda.device_count()
    with pytest.raises(DeviceError, match=f"not cuda:{n}"):
        resolve_device(f"cuda:{n}")


def test_mps_where_there_is_none():
    if torch.backends.mps.is_available():
        pytest.skip("this machine has MPS")
    with pytest.raises(DeviceError, match="'mps' is not available"):
        resolve_device("mps")


def test_mixed_precision_needs_cuda():
    with autocast(torch.device("cpu"), "off"):
        pass
    with pytest.raises(DeviceError, match="needs a CUDA device"):
        with autocast(torch.device("cpu"), "bf16"):
            pass
