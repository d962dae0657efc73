"""Score the semantic-thread labellers on the hand-labelled evaluation set, split by split.

    python bench/insights_eval.py [--misses dev|test] [--eval tests/insights/eval/threads.jsonl]

Tune on the dev split only; the test split is the figure docs/insights.md reports.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from threadline.insights.evaluate import Scores, load_eval_set, score

EVAL_SET = Path(__file__).resolve().parent.parent / "tests/insights/eval/threads.jsonl"


def table(results: dict[str, Scores]) -> str:
    splits = list(results)
    rows = [f"| metric | {' | '.join(f'{name} ({results[name].threads})' for name in splits)} |"]
    rows.append("|---|" + "---|" * len(splits))
    first = results[splits[0]]
    for field in first.accuracy:
        cells = " | ".join(f"{results[name].accuracy[field]:.3f}" for name in splits)
        rows.append(f"| {field} accuracy | {cells} |")
    for label, attribute in (
        ("gap", "gap"),
        ("thirdPartyEntities", "third_party"),
        ("firstPartyEntities", "first_party"),
    ):
        for part in ("precision", "recall", "f1"):
            cells = " | ".join(
                f"{getattr(getattr(results[name], attribute), part):.3f}" for name in splits
            )
            rows.append(f"| {label} {part} | {cells} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--eval", type=Path, default=EVAL_SET)
    parser.add_argument("--misses", choices=("dev", "test"), help="also list this split's misses")
    args = parser.parse_args()
    threads, vocabulary = load_eval_set(args.eval)
    results = {
        split: score([item for item in threads if item.split == split], vocabulary)
        for split in ("test", "dev")
    }
    results["all"] = score(threads, vocabulary)
    print(table(results))
    if args.misses:
        for miss in results[args.misses].misses:
            print(*miss, sep="\t")


if __name__ == "__main__":
    main()
