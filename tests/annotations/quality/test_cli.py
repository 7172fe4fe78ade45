"""Tests of the scoring CLI (python -m annotations.quality score) and its Label Studio JSON input."""

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from annotations.quality.__main__ import main
from annotations.quality.classes import DEFECT_CLASSES
from annotations.quality.labelstudio_json import (
    BRUSH_FROM_NAME,
    IMAGE_TO_NAME,
    ScoringInputError,
    masks_from_results,
    results_from_document,
)
from annotations.quality.metrics import round_report, score_masks
from annotations.quality.rle import mask_to_rle

REPO_ROOT = Path(__file__).resolve().parents[3]
H, W = 40, 60


def rect(r0: int, c0: int, r1: int, c1: int, shape: tuple[int, int] = (H, W)) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    mask[r0:r1, c0:c1] = True
    return mask


def brush(mask: np.ndarray, *labels: str, rid: str | None = None, **extra: object) -> dict:
    """A Label Studio brushlabels result for `mask`, as the editor exports it."""
    result = {
        "type": "brushlabels", "from_name": BRUSH_FROM_NAME, "to_name": IMAGE_TO_NAME,
        "original_width": mask.shape[1], "original_height": mask.shape[0], "image_rotation": 0,
        "value": {"format": "rle", "rle": mask_to_rle(mask), "brushlabels": list(labels)},
    }
    if rid is not None:
        result["id"] = rid
    result.update(extra)
    return result


CHOICE = {"type": "choices", "from_name": "ok", "to_name": IMAGE_TO_NAME, "value": {"choices": ["fine"]}}
GOLD_SCRATCH = [rect(5, 5, 8, 30), rect(20, 10, 23, 40)]  # drawn as two results, one class
GOLD_PIT = rect(30, 45, 35, 50)
CAND_SCRATCH = rect(5, 6, 8, 31)
CAND_PIT = rect(30, 45, 35, 51)


def gold_task() -> dict:
    """A task export item whose first annotation was cancelled (and must be ignored)."""
    return {
        "id": 17,
        "data": {"image": "/data/upload/1/screen.png"},
        "annotations": [
            {"id": 1, "was_cancelled": True, "result": [brush(rect(0, 0, 40, 60), "Crack")]},
            {"id": 2, "was_cancelled": False, "result": [
                brush(GOLD_SCRATCH[0], "Scratch", rid="s1"), CHOICE,
                brush(GOLD_SCRATCH[1], "Scratch", rid="s2"), brush(GOLD_PIT, "Pit", rid="p1"),
            ]},
        ],
        "predictions": [],
    }


def candidate_annotation() -> dict:
    return {"result": [brush(CAND_SCRATCH, "Scratch"), brush(CAND_PIT, "Pit")]}


def write(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc))
    return path


def run_module(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "annotations.quality", *args],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )


def floats(value: object) -> list[float]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for v in value.values() for f in floats(v)]
    if isinstance(value, list):
        return [f for v in value for f in floats(v)]
    return []


# --- end to end through python -m ---------------------------------------------------------------


def test_scores_a_good_pair(tmp_path: Path) -> None:
    gold = write(tmp_path / "gold.json", gold_task())
    cand = write(tmp_path / "candidate.json", candidate_annotation())
    done = run_module("score", str(gold), str(cand))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.count("\n") == 1
    report = json.loads(done.stdout)

    assert set(report) == {"classes", "overall"}
    assert list(report["classes"]) == [d.label for d in DEFECT_CLASSES]
    assert set(report["overall"]) == {"iou", "macro_iou", "macro_dice", "macro_boundary_f1"}
    for score in report["classes"].values():
        assert set(score) == {
            "iou", "dice", "precision", "recall", "boundary_f1", "gold_pixels", "candidate_pixels", "instances",
        }
        assert set(score["instances"]) == {
            "gold", "candidate", "matched", "precision", "recall", "f1", "missed", "spurious",
        }
    assert all(round(f, 6) == f for f in floats(report))

    expected = round_report(score_masks(
        {"Scratch": GOLD_SCRATCH[0] | GOLD_SCRATCH[1], "Pit": GOLD_PIT},
        {"Scratch": CAND_SCRATCH, "Pit": CAND_PIT}, labels=[d.label for d in DEFECT_CLASSES],
    ))
    assert report == expected
    scratch = report["classes"]["Scratch"]
    assert scratch["gold_pixels"] == 75 + 90  # both gold Scratch results, unioned
    assert scratch["instances"]["missed"] == [{"bbox": [10, 20, 30, 3], "area": 90}]
    assert report["classes"]["Crack"]["gold_pixels"] == 0  # from the cancelled annotation: ignored
    assert report["classes"]["Crack"]["iou"] is None


def test_options_reach_the_metrics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gold = write(tmp_path / "gold.json", gold_task())
    cand = write(tmp_path / "candidate.json", candidate_annotation())
    assert main(["score", str(gold), str(cand), "--tolerance", "0", "--iou-match", "0.95"]) == 0
    report = json.loads(capsys.readouterr().out)
    pit = report["classes"]["Pit"]
    assert pit["boundary_f1"] < 1.0  # a 1 px wider pit is only perfect with tolerance >= 1
    assert pit["instances"]["matched"] == 0  # IoU 25/30 < 0.95


def test_bad_input_through_python_m_exits_2_with_one_line(tmp_path: Path) -> None:
    cand = write(tmp_path / "candidate.json", candidate_annotation())
    done = run_module("score", str(tmp_path / "missing.json"), str(cand))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: cannot read gold file")


def test_the_package_imports_no_django() -> None:
    code = (
        "import sys\n"
        "import annotations.quality.__main__, annotations.quality.metrics, annotations.quality.labelstudio_json\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "[]"


# --- bad inputs, in process ---------------------------------------------------------------------


def _truncated_rle(tmp: Path) -> list[str]:
    result = brush(GOLD_PIT, "Pit")
    result["value"]["rle"] = result["value"]["rle"][:6]
    return [str(write(tmp / "g.json", [result])), str(write(tmp / "c.json", candidate_annotation()))]


def _wrong_size_rle(tmp: Path) -> list[str]:
    result = brush(rect(0, 0, 5, 5, (H + 1, W)), "Pit", original_height=H)  # header says 41 x 60 px
    return [str(write(tmp / "g.json", [result])), str(write(tmp / "c.json", candidate_annotation()))]


def _unknown_format(tmp: Path) -> list[str]:
    result = brush(GOLD_PIT, "Pit")
    result["value"]["format"] = "png"
    return [str(write(tmp / "g.json", [result])), str(write(tmp / "c.json", candidate_annotation()))]


def _sizes_disagree_in_one_document(tmp: Path) -> list[str]:
    doc = {"result": [brush(GOLD_PIT, "Pit"), brush(rect(0, 0, 3, 3, (H, W + 4)), "Pit", rid="x9")]}
    return [str(write(tmp / "g.json", doc)), str(write(tmp / "c.json", candidate_annotation()))]


def _missing_field(tmp: Path) -> list[str]:
    result = brush(GOLD_PIT, "Pit")
    del result["original_width"]
    return [str(write(tmp / "g.json", [result])), str(write(tmp / "c.json", candidate_annotation()))]


def _missing_labels(tmp: Path) -> list[str]:
    result = brush(GOLD_PIT, "Pit")
    del result["value"]["brushlabels"]
    return [str(write(tmp / "g.json", [result])), str(write(tmp / "c.json", candidate_annotation()))]


def _all_cancelled(tmp: Path) -> list[str]:
    task = gold_task()
    task["annotations"][1]["was_cancelled"] = True
    return [str(write(tmp / "g.json", task)), str(write(tmp / "c.json", candidate_annotation()))]


def _size_mismatch(tmp: Path) -> list[str]:
    cand = {"result": [brush(rect(0, 0, 5, 5, (H + 10, W)), "Pit")]}
    return [str(write(tmp / "g.json", gold_task())), str(write(tmp / "c.json", cand))]


def _files(gold: object, cand: object) -> Callable[[Path], list[str]]:
    def make(tmp: Path) -> list[str]:
        return [str(write(tmp / "g.json", gold)), str(write(tmp / "c.json", cand))]

    return make


def _invalid_json(tmp: Path) -> list[str]:
    (tmp / "g.json").write_text('{"result": [')
    return [str(tmp / "g.json"), str(write(tmp / "c.json", candidate_annotation()))]


def _directory(tmp: Path) -> list[str]:
    return [str(write(tmp / "g.json", gold_task())), str(tmp)]


BAD_INPUTS: dict[str, tuple[Callable[[Path], list[str]], str]] = {
    "invalid JSON": (_invalid_json, "gold file .* is not valid JSON"),
    "a directory": (_directory, "cannot read candidate file"),
    "no brush results": (_files([CHOICE], candidate_annotation()), "no brushlabels result"),
    "empty result list": (_files(gold_task(), {"result": []}), "candidate file .*no brushlabels result"),
    "gold and candidate sizes differ": (_size_mismatch, "image size differs: gold is 60x40, candidate is 60x50"),
    "truncated RLE": (_truncated_rle, "result #0 \\(Pit\\): bad RLE"),
    "RLE of another size": (_wrong_size_rle, "bad RLE: RLE header says 9840 values"),
    "unknown format": (_unknown_format, "unknown brush format 'png'"),
    "sizes differ in one document": (_sizes_disagree_in_one_document, "result #1 \\(id x9\\): image is 64x40"),
    "missing original_width": (_missing_field, "'original_width' must be a positive integer"),
    "missing brushlabels": (_missing_labels, "brushlabels"),
    "all annotations cancelled": (_all_cancelled, "all 2 annotations were cancelled"),
    "not a document": (_files(42, candidate_annotation()), "expected a list of results"),
    "export of two tasks": (_files([gold_task(), gold_task()], candidate_annotation()), "export of 2 tasks"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_exits_2_with_one_error_line(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make, pattern = BAD_INPUTS[case]
    assert main(["score", *make(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith("error: ")
    assert re.search(pattern, err), err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["score"],
        ["score", "a.json"],
        ["rate", "a.json", "b.json"],
        ["score", "a.json", "b.json", "--tolerance", "-1"],
        ["score", "a.json", "b.json", "--tolerance", "two"],
        ["score", "a.json", "b.json", "--iou-match", "0"],
    ],
)
def test_bad_arguments_exit_2_with_one_error_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith("error: ")


# --- Label Studio JSON parsing ------------------------------------------------------------------


def test_results_from_every_document_shape() -> None:
    results = [brush(GOLD_PIT, "Pit")]
    assert results_from_document(results) is results
    assert results_from_document({"id": 3, "result": results}) is results
    assert results_from_document({"annotations": [{"result": results}], "predictions": [{"result": []}]}) is results
    assert results_from_document({"id": 4, "annotations": [], "predictions": [{"result": results}]}) is results
    assert results_from_document({"predictions": [{"result": results}]}) is results
    assert results_from_document([{"id": 5, "annotations": [{"result": results}]}]) is results  # a 1-task export
    assert results_from_document([]) == []


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"annotations": [], "predictions": []}, "neither annotations nor predictions"),
        ({"result": {"type": "brushlabels"}}, "'result' must be a list"),
        ([1, 2], "result #0 must be an object"),
        ("text", "expected a list of results"),
        ({"data": {}}, "expected a list of results"),
    ],
)
def test_results_from_bad_documents(doc: object, message: str) -> None:
    with pytest.raises(ScoringInputError, match=message):
        results_from_document(doc)


def test_masks_union_results_of_a_label_and_skip_other_types() -> None:
    results = [
        brush(GOLD_SCRATCH[0], "Scratch"), CHOICE, brush(GOLD_SCRATCH[1], "Scratch"),
        brush(GOLD_PIT, "Pit", "Blemish"),  # one region with two labels counts for both
    ]
    masks, height, width = masks_from_results(results)
    assert (height, width) == (H, W)
    assert set(masks) == {"Scratch", "Pit", "Blemish"}
    assert all(m.dtype == bool and m.shape == (H, W) for m in masks.values())
    assert np.array_equal(masks["Scratch"], GOLD_SCRATCH[0] | GOLD_SCRATCH[1])
    assert np.array_equal(masks["Pit"], GOLD_PIT)
    assert np.array_equal(masks["Blemish"], GOLD_PIT)
    masks["Pit"][0, 0] = True
    assert not masks["Blemish"][0, 0]  # separate arrays


def test_scoring_input_error_is_a_value_error() -> None:
    assert issubclass(ScoringInputError, ValueError)
    with pytest.raises(ValueError, match="missing 'type'"):
        masks_from_results([{"value": {}}])
