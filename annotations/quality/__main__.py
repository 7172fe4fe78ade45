"""CLI: python -m annotations.quality score GOLD.json CANDIDATE.json [--tolerance 2] [--iou-match 0.5].

Prints the score report as one JSON object on one line of stdout (floats rounded to 6 decimals), listing the
screen-inspection sample's six classes first (annotations.quality.classes), then any other label found.
On bad input it prints a single `error: ...` line on stderr, nothing on stdout, and exits with 2.
"""

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import numpy as np

from annotations.quality import json_bounded
from annotations.quality.classes import DEFECT_CLASSES
from annotations.quality.labelstudio_json import ScoringInputError, masks_from_results, results_from_document
from annotations.quality.metrics import round_report, score_masks

EXIT_BAD_INPUT = 2


class _InputError(Exception):
    """Bad input: the message is printed as the single error line."""


class _Parser(argparse.ArgumentParser):
    # argparse prints usage plus a message; the contract is one line on stderr for any bad input.
    def error(self, message: str) -> NoReturn:
        raise _InputError(f"{message} (see --help)")


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def _tolerance(text: str) -> float:
    value = _number(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a number of pixels >= 0, got {text!r}")
    return value


def _iou_match(text: str) -> float:
    value = _number(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m annotations.quality", description="Score Label Studio brush masks.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    score = commands.add_parser("score", help="score a candidate annotation against gold, print JSON")
    score.add_argument("gold", type=Path, help="gold: result list, annotation or task export item (JSON)")
    score.add_argument("candidate", type=Path, help="candidate: result list, annotation or task export item (JSON)")
    score.add_argument("--tolerance", type=_tolerance, default=2.0, help="boundary F1 tolerance in px (default 2)")
    score.add_argument("--iou-match", type=_iou_match, default=0.5,
                       help="minimum IoU for two defect instances to match (default 0.5)")
    return parser


def _load(path: Path, role: str) -> tuple[dict[str, np.ndarray], int, int]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _InputError(f"cannot read {role} file {str(path)!r}: {exc.strerror or exc}") from exc
    try:
        doc = json_bounded.loads(raw)
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8/16/32
        raise _InputError(f"{role} file {str(path)!r} is not valid JSON: {exc}") from exc
    try:
        return masks_from_results(results_from_document(doc))
    except ScoringInputError as exc:
        raise _InputError(f"{role} file {str(path)!r}: {exc}") from exc


def _score(args: argparse.Namespace) -> dict:
    gold, gold_h, gold_w = _load(args.gold, "gold")
    cand, cand_h, cand_w = _load(args.candidate, "candidate")
    if (gold_h, gold_w) != (cand_h, cand_w):
        raise _InputError(f"image size differs: gold is {gold_w}x{gold_h}, candidate is {cand_w}x{cand_h}")
    return round_report(score_masks(gold, cand, labels=[d.label for d in DEFECT_CLASSES], tolerance=args.tolerance,
                                    iou_match=args.iou_match))


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        report = _score(args)
    except _InputError as exc:
        print("error: " + " ".join(str(exc).split()), file=sys.stderr)
        return EXIT_BAD_INPUT
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
