"""Standard backbones by name: ``tv:NAME`` (torchvision) and ``timm:NAME`` (timm).

People start from these (ResNet-50, MobileNetV3, EfficientNet, ViT, ConvNeXt) with their
own checkpoints: ``--arch tv:resnet50`` beside a state_dict, or ``tv:resnet50`` alone for
fresh weights. Options follow the zoo's form (``tv:resnet50:num_classes=5``) and go to
the library's own builder. Nothing is downloaded: torchvision builds with
``weights=None``, timm with ``pretrained=False``. A name picks one of the library's
registered builders, so it is data, not code, and needs no --trust.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from workbench.core.errors import ArchitectureError
from workbench.core.torchvision_import import import_torchvision, missing

LIBRARIES = {"tv": "torchvision", "timm": "timm"}
DEFAULT_SIDE = 224
_CLOSE = 4  # names suggested for a misspelt one


@dataclass
class Backbone:
    module: Any
    input_shape: tuple[int, ...]  # one sample's, batch 1 first: (1, 3, 224, 224)
    num_classes: int | None
    note: str | None = None  # said beside the model (how its library was imported)


def build_backbone(reference: str, kwargs: dict[str, Any], *, seed: int) -> Backbone:
    """``reference`` is ``tv:NAME`` or ``timm:NAME`` (options parsed into ``kwargs``)."""
    import torch

    prefix, _, name = reference.partition(":")
    builder = _torchvision_model if prefix == "tv" else _timm_model
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            module, side, note = builder(name, kwargs)
        except ArchitectureError:
            raise
        except Exception as exc:  # the library refused the options: one line, its words
            raise ArchitectureError(
                f"{reference} cannot be built with {kwargs or 'no options'}: {_first_line(exc)}"
            ) from None
    module.eval()
    classes = kwargs.get("num_classes", getattr(module, "num_classes", 1000))
    channels = int(kwargs.get("in_chans", 3))
    classes = classes if isinstance(classes, int) else None
    return Backbone(module, (1, channels, side, side), classes, note)


def _torchvision_model(name: str, kwargs: dict[str, Any]) -> tuple[Any, int, str | None]:
    _, note = import_torchvision()
    from torchvision import models

    known = models.list_models(module=models)  # the image classifiers, not detection's
    if name not in known:
        if name in models.list_models():
            raise ArchitectureError(
                f"tv:{name} is not an image classifier; the workbench opens torchvision's "
                "classification models (tv:resnet50, tv:mobilenet_v3_large, tv:vit_b_16, ...)"
            )
        raise ArchitectureError(_unknown("tv", name, known))
    module = models.get_model(name, weights=None, **kwargs)
    side = int(kwargs.get("image_size", 0)) or _torchvision_side(models, name)
    return module, side, note


def _torchvision_side(models: Any, name: str) -> int:
    """The crop size its published weights were evaluated at (299 for Inception v3);
    read from the weights' metadata, which downloads nothing."""
    try:
        weights = models.get_model_weights(name)
        return int(weights.DEFAULT.transforms().crop_size[0])
    except Exception:  # no published weights: the common size
        return DEFAULT_SIDE


def _timm_model(name: str, kwargs: dict[str, Any]) -> tuple[Any, int, str | None]:
    _, note = import_torchvision()  # timm imports it: through the same workaround
    try:
        import timm
    except ModuleNotFoundError:
        raise ArchitectureError(missing("timm")) from None
    if not timm.is_model(name):
        raise ArchitectureError(_unknown("timm", name, timm.list_models()))
    module = timm.create_model(name, pretrained=False, **kwargs)
    size = (getattr(module, "pretrained_cfg", None) or {}).get("input_size") or (3, DEFAULT_SIDE)
    return module, int(kwargs.get("img_size", size[-1])), note


def _unknown(prefix: str, name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=_CLOSE, cutoff=0.6)
    hint = f"; did you mean {', '.join(f'{prefix}:{c}' for c in close)}?" if close else ""
    return f"{LIBRARIES[prefix]} has no model {name!r}{hint}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
