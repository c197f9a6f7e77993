"""A transformers model as a module of plain tensors in, plain tensors out."""

from __future__ import annotations

import inspect
from typing import Any

import torch


class HFTextModel(torch.nn.Module):
    """``forward(input_ids, attention_mask, token_type_ids)`` returning a tuple of the
    ``ModelOutput``'s tensors in ``output_names`` order: exporters and tracers want
    tensors, not a ``ModelOutput`` or a ``DynamicCache``, so the cache is never built."""

    def __init__(self, model: Any, input_names: list[str]) -> None:
        super().__init__()
        self.model = model
        self.input_names = list(input_names)
        self.output_names: list[str] = []
        self._cache_flag = "use_cache" in inspect.signature(model.forward).parameters

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, ...]:
        feed = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "token_type_ids": token_type_ids,
        }
        outputs = self.named_outputs(feed)
        return tuple(outputs[name] for name in self.output_names or outputs)

    def named_outputs(self, feed: dict[str, Any]) -> dict[str, torch.Tensor]:
        kwargs = {name: value for name, value in feed.items() if value is not None}
        if self._cache_flag:
            kwargs["use_cache"] = False
        result = self.model(**kwargs, return_dict=True)
        return {k: v for k, v in result.items() if isinstance(v, torch.Tensor)}

    def save_pretrained(self, folder: Any) -> None:
        """The transformers model as a ``save_pretrained`` folder (config + safetensors),
        without transformers' "Writing model shards" progress bar on the user's console."""
        from transformers.utils import logging as hf_logging

        shown = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            self.model.save_pretrained(str(folder))
        finally:
            if shown:
                hf_logging.enable_progress_bar()
