"""Cost of the semantic-thread labellers per thread: the eval set's threads labelled over and
over (the pipeline's budget is 1 ms per thread for every labeller together).

    python bench/insights_labels.py [--threads 50000]

Also times a worst case: threads whose messages are 50,000 characters long.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from threadline.insights.evaluate import load_eval_set
from threadline.insights.labels import label_thread
from threadline.insights.model import ProjectVocabulary, ThreadText

EVAL_SET = Path(__file__).resolve().parent.parent / "tests/insights/eval/threads.jsonl"


def per_thread_ms(threads: list[ThreadText], count: int, vocabulary: ProjectVocabulary) -> float:
    started = time.perf_counter()
    for index in range(count):
        label_thread(threads[index % len(threads)], vocabulary)
    return (time.perf_counter() - started) * 1000 / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=50_000)
    args = parser.parse_args()
    items, vocabulary = load_eval_set(EVAL_SET)
    threads = [item.thread for item in items]
    for thread in threads:  # warm the caches (gazetteer, vocabulary) out of the measurement
        label_thread(thread, vocabulary)
    best = min(per_thread_ms(threads, args.threads, vocabulary) for _ in range(3))
    print(f"eval threads, {args.threads} labelled, best of 3: {best * 1000:.0f} µs per thread")
    long_text = ("The deploy fails again with an error on Skyport Edge and Docker. " * 800)[:50_000]
    huge = [
        ThreadText(long_text, (long_text, long_text), (long_text, long_text), ("https://x",))
    ] * 10
    print(f"50,000-character messages: {per_thread_ms(huge, 50, vocabulary):.2f} ms per thread")


if __name__ == "__main__":
    main()
