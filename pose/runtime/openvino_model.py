"""A torch module compiled by OpenVINO for the CPU, converted once and cached (`openvino_cache`).

Conversion goes through `torch.export` (dynamic axes as asked, e.g. the batch, so that any number
of crops runs) and `openvino.convert_model`; static axes are fixed to the example's sizes so that
the CPU plugin can plan for them. Compiling sets the arithmetic (bf16 or f32: INFERENCE_PRECISION_HINT,
which would otherwise default to bf16 on AMX CPUs) and the thread count.
"""
from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import openvino
import torch
from torch import nn

from pose.runtime.openvino_cache import cache_key, load_entry, openvino_cache_dir, save_entry

__all__ = ["OpenVINONetwork", "converted"]

LOG = logging.getLogger(__name__)

_PRECISION_HINTS = {"fp32": "f32", "bf16": "bf16"}


class OpenVINONetwork:
    """`module` (one float32 NCHW input, one or more tensor outputs) run by OpenVINO on the CPU.

    `example` sets the input's shape; `dynamic_axes` lists the axes that may change between calls.
    `precision` "fp32" or "bf16"; `threads` 0 lets OpenVINO use every core. `shapes_kept` 0
    converts and compiles one model with those axes free, now; n > 0 converts and compiles a
    static model per input shape when it first comes instead (each cached on disk; the n last used
    kept compiled): faster to convert and to run where shapes repeat, as a video's frames do.
    Calling it with a tensor returns the first output as a float32 CPU tensor; `run` every output.
    """

    def __init__(self, module: nn.Module, example: torch.Tensor, *, precision: str = "fp32",
                 threads: int = 0, dynamic_axes: Sequence[int] = (0,), shapes_kept: int = 0) -> None:
        if precision not in _PRECISION_HINTS:
            raise ValueError(f"OpenVINO precision must be fp32 or bf16, not {precision!r}")
        self.config: dict[str, str | int] = {"INFERENCE_PRECISION_HINT": _PRECISION_HINTS[precision],
                                             "PERFORMANCE_HINT": "LATENCY"}
        if threads:
            self.config["INFERENCE_NUM_THREADS"] = int(threads)
        self.precision = precision
        self.shapes_kept = shapes_kept
        self._requests: OrderedDict[tuple[int, ...] | None, openvino.InferRequest] = OrderedDict()
        if shapes_kept:
            self._module = module
        else:
            self._add(None, converted(module, example, dynamic_axes, precision))

    def _add(self, key: tuple[int, ...] | None, model: openvino.Model) -> openvino.InferRequest:
        self._requests[key] = openvino.Core().compile_model(model, "CPU", self.config).create_infer_request()
        while len(self._requests) > max(self.shapes_kept, 1):
            self._requests.popitem(last=False)
        return self._requests[key]

    def _request(self, shape: tuple[int, ...]) -> openvino.InferRequest:
        key = shape if self.shapes_kept else None
        if key not in self._requests:
            return self._add(key, converted(self._module, torch.zeros(shape), (), self.precision))
        self._requests.move_to_end(key)
        return self._requests[key]

    def run(self, inputs: np.ndarray) -> list[np.ndarray]:
        """Every output (float32 arrays, copies) for one float32 NCHW input array."""
        inputs = np.ascontiguousarray(inputs, dtype=np.float32)
        request = self._request(inputs.shape)
        request.infer({0: inputs})
        return [request.get_output_tensor(index).data.copy() for index in range(len(request.model_outputs))]

    def __call__(self, inputs: torch.Tensor) -> torch.Tensor:
        """The first output for a CPU float tensor input, as a float32 tensor."""
        return torch.from_numpy(self.run(inputs.detach().float().contiguous().numpy())[0])


def converted(module: nn.Module, example: torch.Tensor, dynamic_axes: Sequence[int] = (0,),
              precision: str = "fp32") -> openvino.Model:
    """The OpenVINO model (fp32 weights) of `module` in eval mode for inputs shaped like `example`
    but free along `dynamic_axes`: from the cache, or converted now (one log line) and cached."""
    module = module.eval()
    input_shape = openvino.PartialShape([-1 if axis in dynamic_axes else size
                                         for axis, size in enumerate(example.shape)])
    folder = openvino_cache_dir() / cache_key(module, str(input_shape), precision)
    model = load_entry(folder)
    if model is not None:
        return model
    start = time.perf_counter()
    # AUTO lets torch.export derive each axis's range (a backbone needs H, W > 32); it fixes an axis
    # of size 1 to 1, so trace a dynamic axis with at least 2
    dims = dict.fromkeys(dynamic_axes, torch.export.Dim.AUTO)
    traced = torch.zeros([max(size, 2) if axis in dims else size for axis, size in enumerate(example.shape)])
    with torch.no_grad():
        exported = torch.export.export(module, (traced,), dynamic_shapes=(dims,))
    model = openvino.convert_model(exported)
    model.reshape({model.inputs[0]: input_shape})
    try:
        save_entry(folder, model)
        where = f"cached in {folder}"
    except OSError as error:
        where = f"not cached: {error}"
    LOG.info("converting %s for OpenVINO (took %.1f s), %s", type(module).__name__,
             time.perf_counter() - start, where)
    return model
