"""Which device and precision the neural extractors run on, checked before anything is loaded."""

from __future__ import annotations

PRECISIONS = ("fp32", "fp16")


def check_device(device: str, precision: str = "fp32") -> None:
    """Raise ValueError (one line naming the option) unless `device`/`precision` can run here.

    `cpu` needs nothing; `cuda` or `cuda:N` needs a CUDA build of torch that sees that GPU;
    `fp16` (half precision for the networks) is a GPU setting and needs a `cuda` device.
    """
    dev = str(device).strip().lower()
    if precision not in PRECISIONS:
        raise ValueError(f"--precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
    if dev == "cpu":
        if precision == "fp16":
            raise ValueError("--precision fp16 needs --device cuda (half precision is a GPU setting; the CPU path runs fp32)")
        return
    if not (dev == "cuda" or (dev.startswith("cuda:") and dev[5:].isdigit())):
        raise ValueError(f"--device {device!r}: expected cpu, cuda or cuda:N")
    try:
        import torch
    except ImportError:  # pragma: no cover - install problem
        raise ValueError(f"--device {device}: torch is not installed") from None
    if not torch.cuda.is_available():
        raise ValueError(f"--device {device}: no CUDA GPU is visible to torch here "
                         f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'no'}); use --device cpu")
    index = int(dev[5:]) if ":" in dev else 0
    if index >= torch.cuda.device_count():
        raise ValueError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) visible")


def gpu_available() -> bool:
    """True when torch sees a CUDA GPU (False without torch)."""
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    return bool(torch.cuda.is_available())
