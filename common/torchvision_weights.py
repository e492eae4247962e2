"""Loading torchvision weights from torchvision's own cache, with the hash check done here.

torchvision keeps downloaded weights in `torch.hub.get_dir()/checkpoints/<file name of the URL>`
(`$TORCH_HOME/hub/checkpoints/`). The file name carries a prefix of the file's sha256
(`...-dd69338a.pth`); torchvision checks it only while downloading and loads a pre-placed file
unchecked, so this module checks it for every file it loads. The flow package's RAFT backend loads
its weights through here as well (same cache, same check).
"""
from __future__ import annotations

import hashlib
import logging
import re
import urllib.error
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torchvision.models import WeightsEnum

from common.weight_files import WeightFile

log = logging.getLogger(__name__)

_HASH_IN_NAME = re.compile(r"-([0-9a-f]+)\.")


def expected_file_name(url: str) -> str:
    """The file name torchvision stores the weights of `url` under (the URL's last part)."""
    return url.rsplit("/", 1)[-1]


def checkpoint_dir() -> Path:
    """torchvision's weights folder: `torch.hub.get_dir()/checkpoints` (follows `$TORCH_HOME`)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def torchvision_weight_file(weights: WeightsEnum, *, name: str, kind: str, alternative: str) -> WeightFile:
    """The file of torchvision's `weights` (an enum member) in its cache, checked by the sha256 prefix its name
    carries (torchvision publishes no full digest); the size is torchvision's own figure."""
    file_name = expected_file_name(weights.url)
    match = _HASH_IN_NAME.search(file_name)
    return WeightFile(name=name, kind=kind, file_name=file_name, url=weights.url, folder=checkpoint_dir(),
                      sha256=None, hash_prefix=match.group(1) if match else None,
                      size_mb=weights.meta.get("_file_size"), size_note="(torchvision's figure)",
                      alternative=alternative)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_hash(path: Path, error: Callable[[str], Exception]) -> None:
    match = _HASH_IN_NAME.search(path.name)
    if match is None:
        log.warning("%s carries no hash in its name; loading it unchecked", path)
        return
    prefix = match.group(1)
    actual = _sha256(path)
    if not actual.startswith(prefix):
        raise error(f"{path} is damaged or not the file torchvision publishes (its sha256 starts "
                    f"with {actual[:len(prefix)]}, its name says {prefix}); delete it and put the "
                    f"right file there.")


def load_torchvision_weights(model: nn.Module, weights_enum: type[WeightsEnum], member: str,
                             error: Callable[[str], Exception]) -> nn.Module:
    """Load the weights `weights_enum[member]` into `model` (strict), from the cache or downloaded.

    A cached file must match the sha256 prefix in its name; a missing file is fetched by
    torchvision (which checks the hash itself). When that fails (no network), `error` is raised
    with one sentence naming the file and the folder to put it in. Returns `model`.
    """
    if member not in weights_enum.__members__:
        raise error(f"there are no weights {member!r} for this model; choose one of "
                    f"{', '.join(weights_enum.__members__)}.")
    url = weights_enum[member].url
    name = expected_file_name(url)
    folder = checkpoint_dir()
    path = folder / name
    if path.is_file():
        _check_hash(path, error)
        state = torch.load(path, map_location="cpu", weights_only=True)
    else:
        try:
            state = torch.hub.load_state_dict_from_url(url, map_location="cpu", progress=False,
                                                       check_hash=True, file_name=name,
                                                       weights_only=True)
        except (OSError, urllib.error.URLError) as exc:
            raise error(f"the weights file {name} is not in {folder} and could not be downloaded "
                        f"({exc}); download {url} and put it in {folder}.") from exc
        except RuntimeError as exc:  # torch.hub raises RuntimeError on a hash mismatch
            raise error(f"the download of {url} did not match the hash in its name ({exc}); "
                        f"try again, or download it by hand and put it in {folder}.") from exc
    # Strict except for one named case: builders called without weights use plain BatchNorm where
    # torchvision's v1 detectors freeze it, so `num_batches_tracked` is absent from their files.
    # It plays no role in evaluation mode.
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # shape mismatches raise even when not strict
        problem = str(exc).splitlines()[-1].strip()
    else:
        missing = [key for key in result.missing_keys if not key.endswith("num_batches_tracked")]
        if not missing and not result.unexpected_keys:
            return model
        problem = (f"key {missing[0]} is missing" if missing
                   else f"key {result.unexpected_keys[0]} is unexpected")
    raise error(f"{path} does not fit the model it was named for ({problem}); delete it and put "
                f"the file from {url} there.")
