"""Labelled texts through a Hugging Face folder's own tokenizer, as a user runs it: a BERT
fine-tunes for one epoch on a generated CSV, is scored, quantized (dynamic INT8) and
compared; a GPT-2 is quantized and compared on the same texts (no LM training)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixtures.cli import error_line, run_workbench
from fixtures.hf_folders import bert_model, gpt2_model, save, save_tokenizer, write_texts_csv


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("texts")
    save_tokenizer(save(bert_model(), folder / "my-bert"))
    save_tokenizer(save(gpt2_model(), folder / "my-gpt2"), kind="gpt2")
    write_texts_csv(folder / "texts.csv", 960)
    return folder


def test_bert_fine_tunes_scores_quantizes_and_compares_on_labelled_texts(work: Path) -> None:
    data, trained, int8 = str(work / "texts.csv"), work / "T", work / "Q"
    # cwd: ORT's symbolic shape inference leaves temporary files where it runs
    done = run_workbench(
        "train", str(work / "my-bert"), "--data", data, "--target", "label", "--epochs", "1",
        "--lr", "0.002", "--batch-size", "8", "--json", "--out", str(trained), cwd=work,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "960 texts as 12 tokens each" in done.stderr
    metrics = json.loads(done.stdout)["metrics"]
    # the cue word decides the class: one epoch learns it, far above chance
    assert metrics["val_accuracy"] >= 0.9 and metrics["val_loss"] < 0.6
    # the result is a save_pretrained folder with the tokenizer: it reopens as one
    names = {p.name for p in trained.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "variant.json"} <= names

    scored = run_workbench("eval", str(trained), "--data", data, "--json", cwd=work)
    assert scored.returncode == 0, scored.stderr
    report = json.loads(scored.stdout)["accuracy"]["torch"]
    assert report["samples"] == 192  # the same seeded validation split as training
    assert report["top1"] == pytest.approx(metrics["val_accuracy"])

    done = run_workbench(
        "quantize", str(trained), "--method", "dynamic", "--data", data, "--json",
        "--out", str(int8), cwd=work,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    after = json.loads(done.stdout)["metrics"]
    assert after["after"]["top1"] >= 0.9 and after["before"]["top1"] >= 0.9
    assert after["after"]["size_bytes"] < after["before"]["size_bytes"]
    assert (int8 / "tokenizer.json").is_file()  # the INT8 variant reads texts too

    # the trained folder recorded no latency: measured now, on the same texts
    compared = run_workbench(
        "compare", str(trained), str(int8), "--measure", "--data", data, "--batch", "1",
        "--seconds", "0.2", "--json", cwd=work,
    )  # fmt: skip
    assert compared.returncode == 0, compared.stderr
    table = json.loads(compared.stdout)
    names = [v["name"] for v in table["variants"]]
    rows = {row["metric"]: row for row in table["rows"]}
    assert all(rows["top-1 ort (texts)"][name] >= 0.9 for name in names)
    assert all(rows["latency p50 ort/CPU b1"][name] > 0 for name in names)


def test_gpt2_quantizes_and_compares_timed_on_texts(work: Path) -> None:
    data, int8 = str(work / "texts.csv"), work / "GQ"
    done = run_workbench(
        "quantize", str(work / "my-gpt2"), "--method", "dynamic", "--data", data,
        "--out", str(int8), cwd=work,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "latency batch 1" in done.stdout and "logits per token" in done.stdout
    compared = run_workbench(
        "compare", str(work / "my-gpt2"), str(int8), "--data", data, "--batch", "1",
        "--seconds", "0.2", "--json", cwd=work,
    )  # fmt: skip
    assert compared.returncode == 0, compared.stderr
    table = json.loads(compared.stdout)
    names = [v["name"] for v in table["variants"]]
    assert names == ["my-gpt2", "my-gpt2 (INT8 dynamic)"]
    rows = {row["metric"]: row for row in table["rows"]}
    assert all(rows["latency p50 ort/CPU b1"][name] > 0 for name in names)
    assert not any(metric.startswith("top-1") for metric in rows)  # an LM: timed only


def test_text_data_errors_are_one_line(work: Path, tmp_path: Path) -> None:
    data = str(work / "texts.csv")
    bare = save(bert_model(), tmp_path / "no-tokenizer")
    line = error_line(run_workbench("eval", str(bare), "--data", data))
    assert "texts.csv is text data" in line and "no-tokenizer has none" in line
    line = error_line(
        run_workbench("eval", str(work / "my-bert"), "--data", data, "--text-column", "body")
    )
    assert "no column 'body' (name it with --text-column); columns: text, label" in line
    line = error_line(run_workbench("eval", "zoo:digits_mlp", "--data", data))
    assert "texts.csv holds texts; only a text model" in line


def _with_columns(source: Path, target: Path, text: str) -> Path:
    """``source``'s texts under another header: the column is named on the command line."""
    lines = source.read_text(encoding="utf-8").splitlines()
    target.write_text("\n".join([f"{text},label", *lines[1:]]) + "\n", encoding="utf-8")
    return target


def test_bert_prunes_distils_and_compares_on_texts_by_their_column(
    work: Path, tmp_path: Path
) -> None:
    """prune reads labelled texts through the model's tokenizer (--text-column) and
    fine-tunes on them; its folder reopens as a Hugging Face model with its tokenizer and
    teaches an untrained student (distill); compare measures all on the same texts."""
    posts = str(_with_columns(work / "texts.csv", tmp_path / "posts.csv", "body"))
    teacher, student = tmp_path / "P", tmp_path / "D"
    done = run_workbench(
        "prune", str(work / "my-bert"), "--data", posts, "--text-column", "body",
        "--amount", "0.05", "--finetune-epochs", "1", "--finetune-lr", "0.002",
        "--json", "--out", str(teacher), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "960 texts as 12 tokens each" in done.stderr
    pruned = json.loads(done.stdout)["metrics"]
    # the cue word decides the class: one epoch of fine-tuning learns it
    assert pruned["before"]["accuracy"] < 0.7 and pruned["after"]["accuracy"] >= 0.9
    names = {p.name for p in teacher.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "variant.json"} <= names

    done = run_workbench(
        "distill", "--teacher", str(teacher), "--student", str(work / "my-bert"),
        "--data", posts, "--text-column", "body", "--epochs", "1", "--lr", "0.002",
        "--batch-size", "8", "--json", "--out", str(student), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Writing model shards" not in done.stderr  # transformers' bar kept off
    distilled = json.loads(done.stdout)
    assert distilled["teacher_accuracy"] >= 0.9 and distilled["student_accuracy"] >= 0.9
    assert {"config.json", "tokenizer.json"} <= {p.name for p in student.iterdir()}

    compared = run_workbench(
        "compare", str(work / "my-bert"), str(teacher), str(student), "--measure",
        "--data", posts, "--text-column", "body", "--batch", "1", "--seconds", "0.1",
        "--json", cwd=tmp_path,
    )  # fmt: skip
    assert compared.returncode == 0, compared.stderr
    table = json.loads(compared.stdout)
    rows = [row for row in table["rows"] if row["metric"].startswith("top-1")]
    # measured now on ORT, or (the pruned one) as its own run recorded it, on the texts
    top1 = {
        variant["name"]: next(r[variant["name"]] for r in rows if r[variant["name"]] is not None)
        for variant in table["variants"]
    }
    first, *made = top1
    assert top1[first] < 0.7 and all(top1[name] >= 0.9 for name in made)
    assert {r["metric"] for r in rows} <= {"top-1 ort (posts)", "top-1 torch (posts)"}

    line = error_line(run_workbench(
        "distill", "--teacher", str(teacher), "--student", "pruned:0.5", "--data", posts,
        "--text-column", "body", "--out", str(tmp_path / "D2"),
    ))  # fmt: skip
    assert "a text model's student is a model folder" in line


def test_a_recipe_replays_texts_by_the_column_it_names(work: Path, tmp_path: Path) -> None:
    """``text:`` in a recipe (or --text-column on ``workbench run``) reaches every step
    that reads the data; the recipe written beside the variants keeps it."""
    posts = _with_columns(work / "texts.csv", tmp_path / "posts.csv", "body")
    recipe = tmp_path / "recipe.yaml"
    steps = ("steps:\n  - pass: train\n"  # 15 steps: what is read matters, not the fit
             "    config: {epochs: 1, lr: 0.002, batch_size: 64}\n"
             "  - pass: quantize-static\n")  # fmt: skip
    recipe.write_text(
        f"model: {work / 'my-bert'}\ndata: {posts}\ntext: {{column: body, max_length: 16}}\n"
        + steps,
        encoding="utf-8",
    )
    done = run_workbench("run", str(recipe), "--out", str(tmp_path / "R"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    made = json.loads((tmp_path / "R" / "01-train" / "variant.json").read_text("utf-8"))
    assert "960 texts as 16 tokens each" in made["notes"]
    assert made["step"]["text"] == {"column": "body", "max_length": 16}
    # calibrated on the "body" texts too (else: no column 'text'); the attention mask's
    # -inf stays float, and the notes say so
    made = json.loads((tmp_path / "R" / "02-quantize-static" / "variant.json").read_text("utf-8"))
    assert any("reach infinity in calibration" in note and "Where" in note
               for note in made["notes"]), made["notes"]  # fmt: skip
    assert made["metrics"]["quantized_bytes"] < made["metrics"]["float_bytes"]
    written = (tmp_path / "R" / "recipe.yaml").read_text(encoding="utf-8")
    assert "text:\n  column: body\n  max_length: 16\n" in written

    recipe.write_text(f"model: {work / 'my-bert'}\ndata: {posts}\n" + steps, encoding="utf-8")
    line = error_line(run_workbench("run", str(recipe), "--out", str(tmp_path / "R2")))
    assert "no column 'text' (name it with --text-column)" in line
    bad = run_workbench("run", str(recipe), "--text-column", "body", "--max-length", "0",
                        "--out", str(tmp_path / "R3"))  # fmt: skip
    assert bad.returncode == 2 and "'0' is not a token count (1 or more)" in bad.stderr

    bad = tmp_path / "bad.yaml"
    bad.write_text("text: {colum: body}\n" + steps, encoding="utf-8")
    line = error_line(run_workbench("run", str(bad), "--check"))
    assert "bad.yaml: unknown keys in 'text': colum" in line
