"""Description of the machine a benchmark ran on, for the JSON line every benchmark prints."""
from __future__ import annotations

import json
import os
import platform
import sys


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict:
    """CPU model, core count, torch threads and library versions."""
    import numpy
    import torch

    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
        "cuda": torch.cuda.is_available(),
    }


def emit(figures: dict) -> None:
    """Print the benchmark's one JSON line: its figures plus the machine."""
    sys.stdout.write(json.dumps({**figures, "machine": machine_info()}) + "\n")
    sys.stdout.flush()
