"""Where and how the networks run: device, engine, precision and threads, resolved once into a `Runtime`.

`Runtime.resolve` turns the user's names (`--device auto|cpu|cuda[:N]`, `--runtime auto|torch|openvino`,
`--precision auto|fp32|bf16|fp16`, `--threads N`) into one frozen `Runtime`. The pose estimator, the
detectors and the flow networks all take it, so every network runs where and as the others do.

- engine `auto`: OpenVINO on a CPU, torch on CUDA. Where OpenVINO cannot be imported, `auto` falls back to
  torch with one log line, and an explicit `openvino` is an error.
- precision `auto`, the same for every network: the reduced precision the hardware computes natively,
  else fp32. That is bf16 on a CPU with AMX or AVX-512 bf16 (OpenVINO), fp16 on CUDA (autocast), fp32
  otherwise. fp16 runs on CUDA only, bf16 on OpenVINO or CUDA, and fp64 (from Python, for exact checks)
  on torch only.

Nothing here imports torch or OpenVINO before a device is resolved, so command lines check names fast.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from common.errors import UserError

if TYPE_CHECKING:
    import torch

__all__ = ["ENGINES", "PRECISIONS", "Runtime", "cpu_has_bf16", "openvino_importable", "resolve_device"]

LOG = logging.getLogger(__name__)

ENGINES = ("auto", "torch", "openvino")
"""The engine names a user gives (`--runtime`, `runtime.engine`)."""
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
"""The precision names a user gives (`--precision`, `runtime.precision`); Python callers may also ask fp64."""
_EXACT = "fp64"
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


def resolve_device(name: torch.device | str, error: type[UserError] = UserError) -> torch.device:
    """`auto` -> this process's GPU (LOCAL_RANK under torchrun) when CUDA is there, else the CPU;
    any other name is checked, so that asking for CUDA on a machine without it says so at once."""
    chosen = _named_device(name, error)
    _check_present(chosen, name, error)
    return chosen


def _named_device(name: torch.device | str, error: type[UserError]) -> torch.device:
    import torch

    if str(name) == "auto":
        if torch.cuda.is_available():
            return torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}")
        return torch.device("cpu")
    try:
        return torch.device(name)
    except RuntimeError:
        raise error(f"device {name!r} is not a torch device; use auto, cpu or cuda[:N].") from None


def _check_present(chosen: torch.device, name: torch.device | str, error: type[UserError]) -> None:
    import torch

    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise error(f"device {name!r} asks for CUDA, which this machine lacks; use cpu or auto.")


@dataclass(frozen=True)
class Runtime:
    """A resolved choice: `device` a torch device ("cpu", "cuda:0"), `engine` "torch" or "openvino",
    `precision` "fp32", "bf16", "fp16" or "fp64", `threads` the CPU threads of OpenVINO and of the
    detectors' region pooling (0: every core). The default is exact: torch, fp32, on the CPU."""

    device: str = "cpu"
    engine: str = "torch"
    precision: str = "fp32"
    threads: int = 0

    @classmethod
    def resolve(cls, device: torch.device | str = "auto", engine: str = "auto", precision: str = "auto",
                threads: int = 0, *, error: type[UserError] = UserError) -> Runtime:
        """The runtime for the user's names (module docstring); a name that cannot be met raises `error`
        with one sentence."""
        chosen = _named_device(device, error)
        engine = _engine(engine, chosen.type, precision, error)
        precision = _precision(precision, engine, chosen.type, error)
        _check_present(chosen, device, error)  # after the names, whose mistakes say more
        return cls(str(chosen), engine, precision, int(threads))

    @classmethod
    def given(cls, runtime: Runtime | None, *, device: torch.device | str = "cpu", engine: str = "torch",
              precision: str = "auto", threads: int = 0, error: type[UserError] = UserError) -> Runtime:
        """What a network's constructor runs on: the `runtime` it was handed, else its keywords resolved
        (their defaults: torch on the CPU, exact). Both at once would leave one ignored: refused."""
        if runtime is None:
            return cls.resolve(device, engine, precision, threads, error=error)
        if (str(device), engine, precision, threads) != ("cpu", "torch", "auto", 0):
            raise error("give a runtime or the device, engine, precision and threads to resolve, not both.")
        return runtime

    @property
    def device_type(self) -> str:
        """"cpu" or "cuda"."""
        return self.device.split(":")[0]

    def torch_device(self) -> torch.device:
        """The device as a `torch.device`."""
        import torch

        return torch.device(self.device)

    def autocast(self) -> contextlib.AbstractContextManager:
        """torch's autocast for fp16 and bf16 on CUDA; nothing otherwise (fp32 and fp64 run as they are)."""
        if self.engine != "torch" or self.device_type != "cuda" or self.precision not in ("fp16", "bf16"):
            return contextlib.nullcontext()
        import torch

        return torch.autocast("cuda", dtype=torch.float16 if self.precision == "fp16" else torch.bfloat16)

    def tensor_dtype(self) -> torch.dtype:
        """The dtype of a torch network's weights and inputs: float64 for fp64, else float32 (the reduced
        precisions are computed by autocast from float32)."""
        import torch

        return torch.float64 if self.precision == _EXACT else torch.float32


def _engine(engine: str, device_type: str, precision: str, error: type[UserError]) -> str:
    if engine not in ENGINES:
        raise error(f"unknown runtime {engine!r}; choose one of {', '.join(ENGINES)}.")
    if engine == "torch" or (engine == "auto" and precision == _EXACT):
        return "torch"
    if engine == "openvino" and precision == _EXACT:
        raise error("fp64 runs on the torch runtime only; use fp32 or bf16 with openvino.")
    if device_type != "cpu":
        if engine == "openvino":
            raise error(f"the openvino runtime runs on the CPU only; use --runtime torch or auto on {device_type}.")
        return "torch"
    if openvino_importable():
        return "openvino"
    if engine == "openvino":
        raise error("the openvino runtime was asked for but the openvino package cannot be imported; install it "
                    "(pip install openvino) or use --runtime torch.")
    _log_fallback()
    return "torch"


@functools.lru_cache(maxsize=1)
def _log_fallback() -> None:
    """Say once per process that auto fell back to torch."""
    LOG.info("openvino cannot be imported; running the networks in torch")


def _precision(precision: str, engine: str, device_type: str, error: type[UserError]) -> str:
    if precision not in (*PRECISIONS, _EXACT):
        raise error(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}.")
    if precision == "fp16" and device_type != "cuda":
        raise error("fp16 runs only on CUDA (torch); use fp32 or bf16 on the CPU.")
    if engine == "openvino":
        if precision == "auto":
            return "bf16" if cpu_has_bf16() else "fp32"
        if precision == "bf16" and not cpu_has_bf16():
            raise error("this CPU has neither AMX nor AVX-512 bf16, so bf16 would be emulated and slow; use fp32.")
        return precision
    if precision == "bf16" and device_type != "cuda":
        raise error("bf16 on the CPU runs through the openvino runtime; use --runtime openvino or fp32 with torch.")
    if precision == "auto":
        return "fp16" if device_type == "cuda" else "fp32"
    return precision
