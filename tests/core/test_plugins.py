"""Plugins: found in folders and through entry points, registered like built-ins, and a
plugin that fails is reported and never stops anything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures.cli import run_command, run_workbench

from workbench.core.catalogue import get_registry, plugin_reports, reset_registry
from workbench.core.plugins import SOURCE_ENTRY_POINT, SOURCE_FOLDER, SOURCE_USER

EXAMPLES = {"random_prune", "blobs_dataset", "tiny_models"}


@pytest.fixture
def user_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty user plugin folder; the registry rebuilt around the test, modules forgotten."""
    folder = tmp_path / "user-plugins"
    folder.mkdir()
    monkeypatch.setenv("WORKBENCH_PLUGIN_DIR", str(folder))
    monkeypatch.delenv("WORKBENCH_NO_PLUGINS", raising=False)
    path_before, modules_before = list(sys.path), set(sys.modules)
    reset_registry()
    yield folder
    reset_registry()
    sys.path[:] = path_before
    for name in set(sys.modules) - modules_before:
        if str(tmp_path) in str(getattr(sys.modules[name], "__file__", "") or ""):
            del sys.modules[name]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_workbench(*args, env=env, timeout=120)


def test_the_example_plugins_load_from_the_plugins_folder(user_plugins: Path) -> None:
    registry = get_registry()
    reports = {r.name: r for r in plugin_reports()}
    assert set(reports) >= EXAMPLES
    assert all(reports[name].loaded and reports[name].source == SOURCE_FOLDER for name in EXAMPLES)
    assert reports["random_prune"].contributes == {"passes": ["random-prune"]}
    assert reports["blobs_dataset"].contributes == {"datasets": ["blobs"], "models": ["blobs_mlp"]}
    assert reports["tiny_models"].version == "0.1.0"
    # Entries carry the plugin that made them; the built-ins keep theirs.
    assert registry.pass_("random-prune").source == "random_prune"
    assert registry.model("tiny_digits_cnn").source == "tiny_models"
    assert registry.model("digits_cnn").source == "builtin"


def test_listing_plugins_and_reading_pass_configs_imports_no_torch() -> None:
    code = (
        "import sys\n"
        "from workbench.core.config_schema import fields_of\n"
        "from workbench.core.catalogue import get_registry\n"
        "registry = get_registry()\n"
        "specs = [fields_of(e.load().config_class) for e in registry.passes.values()]\n"
        "print(len(registry.passes), len(specs[0]), 'torch' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    count, fields, torch_loaded = result.stdout.split()
    assert int(count) >= 1 and int(fields) >= 1 and torch_loaded == "False"


def test_failing_plugins_are_recorded_and_the_others_still_load(user_plugins: Path) -> None:
    write(user_plugins / "wbt_import_error" / "__init__.py", "import wbt_no_such_module\n")
    write(
        user_plugins / "wbt_register_error.py",
        """
        def register(registry):
            raise RuntimeError("needs a licence file\\nsecond line")
        """,
    )
    write(user_plugins / "wbt_no_register.py", "VALUE = 1\n")
    write(
        user_plugins / "wbt_half_done.py",
        """
        from workbench.core.registry import DatasetEntry

        def register(registry):
            registry.add_dataset(DatasetEntry("wbt_half", "x:y", "half", "classification", (2,), 2))
            raise ValueError("gave up half way")
        """,
    )
    write(
        user_plugins / "wbt_takes_digits.py",
        """
        from workbench.core.registry import DatasetEntry

        def register(registry):
            registry.add_dataset(DatasetEntry("digits", "x:y", "mine", "classification", (2,), 2))
        """,
    )
    write(
        user_plugins / "wbt_good.py",
        """
        from workbench.core.registry import DatasetEntry

        def register(registry):
            registry.add_dataset(DatasetEntry("wbt_good", "x:y", "fine", "classification", (2,), 2))
        """,
    )
    write(user_plugins / "notes.txt", "not a plugin\n")
    registry = get_registry()
    reports = {r.name: r for r in plugin_reports()}
    assert reports["wbt_import_error"].error == (
        "ModuleNotFoundError: No module named 'wbt_no_such_module'"
    )
    assert "Traceback" in reports["wbt_import_error"].details
    assert reports["wbt_register_error"].error == "RuntimeError: needs a licence file"
    assert "has no register(registry) function" in reports["wbt_no_register"].error
    assert reports["wbt_half_done"].error == "ValueError: gave up half way"
    assert "wbt_half" not in registry.datasets  # a failed plugin leaves nothing behind
    assert (
        "dataset 'digits' is already registered (by builtin)" in reports["wbt_takes_digits"].error
    )
    assert registry.dataset("digits").source == "builtin"
    assert reports["wbt_good"].loaded and reports["wbt_good"].source == SOURCE_USER
    assert registry.dataset("wbt_good").source == "wbt_good"
    assert "notes" not in reports
    assert {name for name, r in reports.items() if r.loaded} >= EXAMPLES


def test_a_plugin_may_ask_for_the_registry_while_registering(user_plugins: Path) -> None:
    write(
        user_plugins / "wbt_asks.py",
        """
        from workbench.core.catalogue import get_registry
        from workbench.core.registry import DatasetEntry

        def register(registry):
            assert get_registry() is registry
            digits = get_registry().dataset("digits")
            registry.add_dataset(DatasetEntry("wbt_asks", digits.loader, "same", "classification",
                                              digits.input_shape, digits.num_classes))
        """,
    )
    assert get_registry().dataset("wbt_asks").input_shape == (1, 8, 8)
    assert next(r for r in plugin_reports() if r.name == "wbt_asks").loaded


def test_workbench_plugins_lists_the_failure_and_exits_zero(tmp_path: Path) -> None:
    write(
        tmp_path / "wbt_broken" / "__init__.py", "raise ImportError('built for another version')\n"
    )
    env = {"WORKBENCH_PLUGIN_DIR": str(tmp_path)}
    text = run_cli("plugins", env=env)
    assert text.returncode == 0, text.stderr
    assert "wbt_broken" in text.stdout and "FAILED" in text.stdout
    assert "error: ImportError: built for another version" in text.stdout
    assert "1 failed" in text.stdout
    data = json.loads(run_cli("plugins", "--json", env=env).stdout)
    broken = next(p for p in data["plugins"] if p["name"] == "wbt_broken")
    assert broken["status"] == "failed" and broken["source"] == SOURCE_USER
    assert "Traceback" in broken["details"]
    assert {"path": str(tmp_path), "source": SOURCE_USER} in data["folders"]
    passes = run_cli("passes", env=env)
    assert passes.returncode == 0 and "random-prune" in passes.stdout


def test_no_plugins_switch_loads_only_the_built_ins(
    user_plugins: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_NO_PLUGINS", "1")
    assert plugin_reports() == []
    assert {e.source for e in get_registry().models.values()} == {"builtin"}


PLUGIN_INIT = """
from workbench.core.registry import PassEntry, RuntimeEntry

__version__ = "2.3.4"


def register(registry):
    registry.add_pass(
        PassEntry(
            name="wbt-scale",
            cls="wbt_scale.scale:ScaleWeights",
            title="Scale weights (test plugin)",
            description="Multiplies every weight by a factor.",
        )
    )
    registry.add_runtime(
        RuntimeEntry(
            name="wbt-eager",
            factory="wbt_scale.scale:make_runner",
            title="Eager (test plugin)",
            description="Calls the module as it is.",
            frameworks=("pytorch",),
        )
    )
"""

PLUGIN_PASS = """
from dataclasses import dataclass, field

from workbench.core.compress import Pass, PassResult, copy_model


@dataclass
class ScaleConfig:
    factor: float = field(default=0.5, metadata={"help": "weights are multiplied by this",
                                                 "min": 0.0, "max": 4.0})


class ScaleWeights(Pass):
    name = "wbt-scale"
    title = "Scale weights (test plugin)"
    description = "Multiplies every weight by a factor."
    config_class = ScaleConfig

    def apply(self, model, config, ctx):
        import torch

        result = copy_model(model)
        with torch.no_grad():
            for parameter in result.module.parameters():
                parameter.mul_(config.factor)
        return PassResult(result, {"factor": config.factor}, ["scaled"])


class Runner:
    def __init__(self, module):
        self.module = module

    def prepare(self, feed):
        import torch

        return [torch.from_numpy(value) for value in feed.values()]

    def __call__(self, prepared):
        return self.module(*prepared)

    def outputs(self, feed):
        return [self(self.prepare(feed)).detach().numpy()]


def make_runner(model, *, device="cpu", threads=None):
    return Runner(model.module)
"""


def make_plugin_project(folder: Path) -> Path:
    """A pip-installable plugin declaring the ``workbench.plugins`` entry point."""
    write(
        folder / "pyproject.toml",
        """
        [build-system]
        requires = ["setuptools>=77"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "wbt-scale"
        version = "2.3.4"

        [project.entry-points."workbench.plugins"]
        wbt_scale = "wbt_scale:register"
        """,
    )
    write(folder / "wbt_scale" / "__init__.py", PLUGIN_INIT)
    write(folder / "wbt_scale" / "scale.py", PLUGIN_PASS)
    return folder


def pip_install(project: Path, target: Path) -> None:
    # Nothing from the network: no index, no build dependencies, no version check.
    done = run_command(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--no-input", "--disable-pip-version-check", "--target", str(target),
         str(project)],
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_an_installed_plugin_package_contributes_everywhere(
    user_plugins: Path, tmp_path: Path, qtbot
) -> None:
    import numpy as np
    import torch

    from workbench.core.compress import run_pass
    from workbench.core.io import load
    from workbench.ui.pass_picker import PassPicker

    target = tmp_path / "site"
    pip_install(make_plugin_project(tmp_path / "wbt-scale"), target)
    assert (target / "wbt_scale-2.3.4.dist-info" / "entry_points.txt").is_file()
    sys.path.insert(0, str(target))  # as if installed: importlib.metadata reads sys.path

    registry = get_registry()
    report = next(r for r in plugin_reports() if r.name == "wbt_scale")
    assert (report.source, report.location, report.version) == (
        SOURCE_ENTRY_POINT, "wbt_scale:register", "2.3.4"
    )  # fmt: skip
    assert report.contributes == {"passes": ["wbt-scale"], "runtimes": ["wbt-eager"]}
    entry = registry.pass_("wbt-scale")
    assert entry.source == "wbt_scale"

    model = load("zoo:digits_mlp")
    before = {k: v.clone() for k, v in model.module.state_dict().items()}
    result = run_pass(entry.load(), model, {"factor": 2.0})
    assert all(torch.equal(v, before[k]) for k, v in model.module.state_dict().items())
    first = next(iter(before))
    assert torch.allclose(result.model.module.state_dict()[first], 2 * before[first])
    runner = registry.runtime("wbt-eager").create(result.model)
    logits = runner.outputs({"input": np.zeros((2, 1, 8, 8), dtype=np.float32)})[0]
    assert logits.shape == (2, 10)

    picker = PassPicker(registry)  # the wizard's list of passes, and the generated form
    qtbot.addWidget(picker)
    assert "wbt-scale" in picker.names()
    picker.select("wbt-scale")
    assert picker.form is not None and set(picker.form.editors) == {"factor"}
    assert picker.selection()[1].factor == 0.5

    env = {"PYTHONPATH": os.pathsep.join([str(target), os.environ.get("PYTHONPATH", "")])}
    passes = json.loads(run_cli("passes", "--json", env=env).stdout)
    scale = next(p for p in passes if p["name"] == "wbt-scale")
    assert scale["settings"][0]["flag"] == "--factor" and scale["settings"][0]["max"] == 4.0
    plugins = json.loads(run_cli("plugins", "--json", env=env).stdout)["plugins"]
    listed = next(p for p in plugins if p["name"] == "wbt_scale")
    assert listed["status"] == "loaded" and listed["source"] == SOURCE_ENTRY_POINT
    text = run_cli("passes", "wbt-scale", env=env).stdout
    assert "--factor X" in text and "from 0 to 4; default: 0.5" in text

    # A recipe step naming the plugin's pass replays headless like a built-in one.
    recipe = tmp_path / "scale.yaml"
    recipe.write_text(
        "model: zoo:digits_mlp\nsteps:\n  - pass: wbt-scale\n    config: {factor: 2.0}\n"
    )
    out = tmp_path / "replayed"
    run_cli("run", str(recipe), "--out", str(out), env=env)
    replayed = json.loads((out / "01-wbt-scale" / "variant.json").read_text())
    assert replayed["step"] == {"pass": "wbt-scale", "config": {"factor": 2.0}}
    weights = torch.load(out / "01-wbt-scale" / "model.pt", weights_only=True)
    assert torch.allclose(weights[first], 2 * before[first])


@pytest.mark.slow
def test_an_example_plugin_installed_and_in_the_folder_loads_once(
    user_plugins: Path, tmp_path: Path
) -> None:
    import shutil

    project = tmp_path / "random_prune"
    repo_plugins = Path(__file__).resolve().parents[2] / "plugins"
    shutil.copytree(repo_plugins / "random_prune", project)  # pip builds inside the folder
    pip_install(project, tmp_path / "site")
    sys.path.insert(0, str(tmp_path / "site"))
    found = [r for r in plugin_reports() if "random-prune" in r.contributes.get("passes", [])]
    assert [(r.name, r.source) for r in found] == [("random_prune", SOURCE_ENTRY_POINT)]


@pytest.mark.parametrize("command", ["inspect", "zoo", "gui", "passes", "plugins"])
def test_help_reads_like_a_man_page(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    from workbench.cli import main

    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    text = capsys.readouterr().out
    assert info.value.code == 0
    examples = text[text.index("examples:") :].splitlines()[1:]
    assert examples and all("workbench" in line for line in examples if line.strip())
    assert max(len(line) for line in text.splitlines()) <= 100
