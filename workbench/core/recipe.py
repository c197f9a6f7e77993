"""Recipes: the steps that made a variant, as YAML that replays headless.

A recipe is Olive's shape: a list of passes, each with its config::

    recipe: 1
    model: zoo:resnet_shapes      # optional; `workbench run RECIPE MODEL` overrides it
    arch: nets.py:build           # optional: with no model, trained from fresh weights;
                                  # with a state_dict model, the architecture it fits
    data: shapes                  # optional; `--data` overrides it
    text: {column: sentence, max_length: 64}   # optional: how texts in `data` are read
    seed: 0
    steps:
      - pass: train               # the training engine (settings: workbench train --help)
        config: {epochs: 3}
      - pass: random-prune        # any registered pass, built-in or from a plugin
        config: {amount: 0.5}

Every step is validated before anything runs (``validate_recipe``), and each message
names the file and the line of the step (``recipe.yaml:9: step 2 (random-prune): ...``).
``recipe_from_lineage`` writes the chain that made a project's variant, so what was
done by hand in wizards replays unattended.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.catalogue import get_registry
from workbench.core.compress.base import run_pass
from workbench.core.config_schema import config_from_dict, config_to_dict
from workbench.core.context import RunContext
from workbench.core.data.text import TextOptions
from workbench.core.errors import WorkbenchError
from workbench.core.io.arch_ref import ArchRef, anchor_file, parse_arch, require_trust_for_code
from workbench.core.train.train_pass import TRAIN_KINDS, TRAIN_STEP, Train

RECIPE_VERSION = 1
_TOP_KEYS = ("recipe", "model", "arch", "data", "text", "seed", "steps")
_STEP_KEYS = {"pass", "config", "data", "name"}


class RecipeError(WorkbenchError):
    """A recipe that cannot run as written; the message points at the line."""


@dataclass
class RecipeStep:
    pass_name: str
    config: dict[str, Any] = field(default_factory=dict)
    line: int = 0  # 1-based line of the step in the file (0: not from a file)
    data: str | None = None  # this step's data, when it differs from the recipe's
    name: str | None = None  # the variant name to give the result

    def where(self, index: int, source: str) -> str:
        at = f"{source}:{self.line}: " if self.line else ""
        return f"{at}step {index + 1} ({self.pass_name})"


@dataclass
class Recipe:
    steps: list[RecipeStep]
    model: str | None = None
    data: str | None = None
    seed: int = 0
    source: str = "recipe"  # the file name, for messages
    arch: str | None = None  # a file reference is absolute once read (see read_recipe)
    text: dict[str, Any] | None = None  # TextOptions.to_dict(): how texts in data are read

    def arch_ref(self, *, trusted: bool) -> ArchRef | None:
        """``arch:`` as a reference from this file: code in it is built only when trusted."""
        if self.arch is None:
            return None
        return parse_arch(self.arch, trusted=trusted, origin=f"{self.source} field 'arch'")

    def to_yaml(self) -> str:
        import yaml

        document: dict[str, Any] = {"recipe": RECIPE_VERSION}
        if self.model:
            document["model"] = self.model
        if self.arch:
            document["arch"] = self.arch
        if self.data:
            document["data"] = self.data
        if self.text:
            document["text"] = dict(self.text)
        document["seed"] = self.seed
        document["steps"] = [
            {k: v for k, v in (("pass", s.pass_name), ("config", s.config), ("data", s.data)) if v}
            for s in self.steps
        ]
        return yaml.safe_dump(document, sort_keys=False)


@dataclass
class ValidatedStep:
    step: RecipeStep
    where: str
    pass_class: Any  # a Pass subclass (``Train`` for a train step)
    config: Any  # the validated config object


def read_recipe(path: Path) -> Recipe:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError(f"cannot read recipe {path}: {exc}") from None
    recipe = parse_recipe(text, source=path.name)
    if recipe.arch:  # nets.py:build names the file beside the recipe, wherever it runs from
        recipe.arch = anchor_file(recipe.arch, path.resolve().parent)
    return recipe


def parse_recipe(text: str, source: str = "recipe") -> Recipe:
    """Parse YAML into a ``Recipe``, keeping each step's line for later messages."""
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}" if mark is not None else ""
        raise RecipeError(f"{source}{at}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(document, dict):
        raise RecipeError(f"{source}: a recipe is a mapping with a 'steps' list")
    unknown = sorted(set(document) - set(_TOP_KEYS))
    if unknown:
        raise RecipeError(
            f"{source}: unknown keys {', '.join(unknown)} (known: {', '.join(_TOP_KEYS)})"
        )
    version = document.get("recipe", RECIPE_VERSION)
    if version != RECIPE_VERSION:
        raise RecipeError(f"{source}: recipe version {version!r}; this workbench reads 1")
    steps_value = document.get("steps")
    if not isinstance(steps_value, list) or not steps_value:
        raise RecipeError(f"{source}: 'steps' must be a non-empty list")
    lines = _step_lines(root)
    steps = []
    for index, item in enumerate(steps_value):
        line = lines[index] if index < len(lines) else 0
        at = f"{source}:{line}: step {index + 1}"
        if not isinstance(item, dict) or not isinstance(item.get("pass"), str):
            raise RecipeError(f"{at}: each step needs 'pass: NAME'")
        bad = sorted(set(item) - _STEP_KEYS)
        if bad:
            raise RecipeError(f"{at}: unknown keys {', '.join(bad)} (pass, config, data, name)")
        config = item.get("config") or {}
        if not isinstance(config, dict):
            raise RecipeError(f"{at}: 'config' must be a mapping of settings")
        steps.append(RecipeStep(item["pass"], config, line, item.get("data"), item.get("name")))
    seed = document.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise RecipeError(f"{source}: seed must be a non-negative whole number")
    arch = document.get("arch")
    if arch is not None and (not isinstance(arch, str) or not arch.strip()):
        raise RecipeError(f"{source}: 'arch' must be an architecture name, like nets.py:build")
    text_value = document.get("text")
    if text_value is not None:
        try:
            text_value = TextOptions.from_dict(text_value).to_dict()
        except ValueError as exc:
            raise RecipeError(f"{source}: {exc}") from None
    return Recipe(steps, document.get("model"), document.get("data"), seed, source, arch,
                  text_value or None)  # fmt: skip


def _step_lines(root: Any) -> list[int]:
    """1-based line of each item of the top-level ``steps`` sequence."""
    import yaml

    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "steps" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def validate_recipe(
    recipe: Recipe, registry: Any = None, *, trusted: bool = False
) -> list[ValidatedStep]:
    """Check every step's pass and settings; nothing runs until all are good.

    A recipe is a file: a setting in it that names code (a ``module:factory`` student)
    is refused unless ``trusted`` (``workbench run --trust``).
    """
    registry = registry or get_registry()
    validated = []
    for index, step in enumerate(recipe.steps):
        where = step.where(index, recipe.source)
        pass_class = _pass_class(step.pass_name, registry, where)
        try:
            config = config_from_dict(pass_class.config_class, step.config, where=where)
        except RecipeError:
            raise
        except WorkbenchError as exc:  # the message already says where
            raise RecipeError(exc.message) from None
        require_trust_for_code(config, trusted=trusted, where=where)
        validated.append(ValidatedStep(step, where, pass_class, config))
    return validated


@dataclass
class StepOutcome:
    """One replayed step: the model it made and what it measured."""

    index: int
    pass_name: str
    model: Any  # LoadedModel
    metrics: dict[str, Any]
    notes: list[str]
    step: dict[str, Any]  # the recipe step as recorded on the variant


def run_recipe(
    recipe: Recipe,
    model: Any,
    *,
    data: str | None = None,
    text: TextOptions | None = None,
    ctx: RunContext | None = None,
    on_step: Callable[[StepOutcome], None] | None = None,
) -> list[StepOutcome]:
    """Replay ``recipe`` on ``model`` (a LoadedModel), each step on the previous result.

    ``ctx`` carries progress (a fraction over all steps), cancel and trust (whether
    code the recipe names may run); ``text`` says how texts in the data are read
    (default: the recipe's ``text:``); each step's output is handed to ``on_step`` as soon
    as it exists, so a caller can write it to disk before the next step starts.
    """
    ctx = ctx or RunContext(seed=recipe.seed)
    steps = validate_recipe(recipe, trusted=ctx.trust)
    # texts are read as the caller says (--text-column ...), else as the recipe recorded
    text = text or (TextOptions.from_dict(recipe.text) if recipe.text else None)
    ctx = dataclasses.replace(ctx, text=text or ctx.text)
    outcomes: list[StepOutcome] = []
    current = model
    total = len(steps)
    for index, item in enumerate(steps):
        ctx.check()
        step_data = item.step.data or data or recipe.data or current.dataset
        step_ctx = _step_context(ctx, index, total, item.step.pass_name, step_data)
        if step_data and current.dataset != step_data:
            current = dataclasses.replace(current, dataset=step_data)
        result = run_pass(item.pass_class, current, item.config, step_ctx, where=item.where)
        outcome = StepOutcome(
            index,
            item.step.pass_name,
            result.model,
            dict(result.metrics),
            list(result.notes),
            _recorded(item, ctx.text),
        )
        outcomes.append(outcome)
        if on_step is not None:
            on_step(outcome)
        current = outcome.model
    ctx.report(1.0, f"{total} steps done")
    return outcomes


def _pass_class(name: str, registry: Any, where: str) -> Any:
    """The Pass a step names: a registered pass, or ``Train`` (old names included)."""
    if name in TRAIN_KINDS:
        return Train
    if name not in registry.passes:
        known = ", ".join([TRAIN_STEP, *registry.passes])
        raise RecipeError(f"{where}: no pass named {name!r} (known: {known})")
    try:
        return registry.pass_(name).load()
    except WorkbenchError as exc:
        raise RecipeError(f"{where}: the pass cannot be loaded: {exc}") from None


def _recorded(item: ValidatedStep, text: TextOptions | None) -> dict[str, Any]:
    config = config_to_dict(item.config)
    step: dict[str, Any] = {"pass": item.step.pass_name, "config": config}
    if item.step.data:
        step["data"] = item.step.data
    if text is not None and text.to_dict():  # a folder reopened keeps how texts were read
        step["text"] = text.to_dict()
    return step


def _step_context(ctx: RunContext, index: int, total: int, name: str, data: str | None):
    """The run's context, with progress scaled into this step's share of the whole."""

    def report(fraction: float | None, message: str) -> None:
        overall = None if fraction is None else (index + fraction) / total
        ctx.report(overall, f"step {index + 1}/{total} ({name}): {message}")

    return dataclasses.replace(ctx, progress=report, data=data or ctx.data)


def recipe_from_lineage(project: Any, variant_id: str) -> Recipe:
    """The steps from the root of ``variant_id``'s lineage to it, as a recipe."""
    chain = project.lineage(variant_id)
    root = chain[0]
    steps = []
    text = None  # how the steps read texts, as the first step that read some recorded it
    for variant in chain[1:]:
        recorded = variant.step or {}
        name = recorded.get("pass")
        if not name:
            raise RecipeError(f"variant {variant.name!r} does not record the step that made it")
        if name in TRAIN_KINDS:
            name = TRAIN_STEP
        data = recorded.get("data")
        steps.append(RecipeStep(name, dict(recorded.get("config") or {}), data=data))
        text = text or recorded.get("text")
    if not steps:
        raise RecipeError(f"{root.name} is a root variant: there are no steps to record")
    data = root.dataset
    if not data and steps[0].data:  # a model opened without data (a Hugging Face folder):
        data = steps[0].data  # what its first step read is the recipe's, --data overrides it
        for step in steps:
            step.data = None if step.data == data else step.data
    return Recipe(steps, model=root.source or None, data=data, text=text)
