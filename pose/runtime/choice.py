"""Resolving `--runtime auto|torch|openvino` and `--precision auto|fp32|bf16|fp16` for a device.

auto runtime: OpenVINO on a CPU, torch on CUDA; where OpenVINO cannot be imported, auto falls back
to torch with one log line and an explicit `openvino` is an error. auto precision: bf16 on
OpenVINO where the CPU has AMX or AVX-512 bf16, else fp32; on torch the caller's default (fp32 for
HRNet, fp16 autocast for the detectors on CUDA, as before this choice existed).
fp16 runs on CUDA only.
"""
from __future__ import annotations

import functools
import logging
from pathlib import Path

from pose.errors import PoseError

__all__ = ["PRECISIONS", "RUNTIMES", "cpu_has_bf16", "openvino_importable", "resolve_precision",
           "resolve_runtime"]

LOG = logging.getLogger(__name__)

RUNTIMES = ("auto", "torch", "openvino")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
_BF16_FLAGS = {"amx_bf16", "avx512_bf16"}
_CPUINFO = Path("/proc/cpuinfo")


@functools.lru_cache(maxsize=1)
def openvino_importable() -> bool:
    """True when the `openvino` package can be imported here."""
    try:
        import openvino  # noqa: F401  (the import itself is the test: its native libraries load)
    except ImportError:
        return False
    return True


@functools.lru_cache(maxsize=1)
def cpu_has_bf16() -> bool:
    """True when the CPU computes bf16 natively: /proc/cpuinfo lists amx_bf16 or avx512_bf16,
    or, where that file is missing, OpenVINO's CPU capabilities include BF16."""
    if _CPUINFO.is_file():
        for line in _CPUINFO.read_text(errors="replace").splitlines():
            if line.startswith("flags"):
                return bool(_BF16_FLAGS & set(line.split(":", 1)[-1].split()))
        return False
    if not openvino_importable():
        return False
    import openvino

    return "BF16" in openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def resolve_runtime(runtime: str, device_type: str) -> str:
    """"torch" or "openvino" for a runtime name and a torch device type ("cpu", "cuda")."""
    if runtime not in RUNTIMES:
        raise PoseError(f"unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}.")
    if runtime == "torch":
        return runtime
    if device_type != "cpu":
        if runtime == "openvino":
            raise PoseError(f"the openvino runtime runs on the CPU only; use --runtime torch or auto "
                            f"on {device_type}.")
        return "torch"
    if openvino_importable():
        return "openvino"
    if runtime == "openvino":
        raise PoseError("the openvino runtime was asked for but the openvino package cannot be "
                        "imported; install it (pip install openvino) or use --runtime torch.")
    _log_fallback()
    return "torch"


@functools.lru_cache(maxsize=1)
def _log_fallback() -> None:
    """Say once per process that auto fell back to torch (the pose model and the detector both ask)."""
    LOG.info("openvino cannot be imported; running the networks in torch")


def resolve_precision(precision: str, runtime: str, device_type: str, torch_default: str = "fp32") -> str:
    """"fp32", "bf16" or "fp16" for a precision name on a resolved runtime and device type;
    `torch_default` is what auto means on torch."""
    if precision not in PRECISIONS:
        raise PoseError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}.")
    if precision == "fp16" and device_type != "cuda":
        raise PoseError("fp16 runs only on CUDA (torch); use fp32 or bf16 on the CPU.")
    if runtime == "openvino":
        if precision == "auto":
            return "bf16" if cpu_has_bf16() else "fp32"
        if precision == "bf16" and not cpu_has_bf16():
            raise PoseError("this CPU has neither AMX nor AVX-512 bf16, so bf16 would be emulated "
                            "and slow; use fp32.")
        return precision
    if precision == "bf16" and device_type != "cuda":
        raise PoseError("bf16 on the CPU runs through the openvino runtime; use --runtime openvino "
                        "or fp32 with torch.")
    return torch_default if precision == "auto" else precision
