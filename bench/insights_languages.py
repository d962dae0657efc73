"""Language detection on the evaluation set: threadline's function-word table against lingua
and py3langid, when they can be imported (they are not dependencies; install them aside):

    pip install --target /tmp/langt lingua-language-detector==2.1.1 py3langid==0.4.0
    PYTHONPATH=.:/tmp/langt python bench/insights_languages.py

Each detector sees the same text (code, URLs removed) of every user message; a thread is right
when the set of its messages' languages is the expected one ("en" when none is detected).
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from threadline.insights.evaluate import EvalThread, load_eval_set
from threadline.insights.labels.language import message_language
from threadline.insights.labels.text import prose

EVAL_SET = Path(__file__).resolve().parent.parent / "tests/insights/eval/threads.jsonl"
CODES = ("en", "de", "fr", "es", "pt", "it", "nl", "ja", "zh")
Detector = Callable[[str], str | None]


def lingua_detector(restricted: bool) -> Detector:
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    if restricted:
        languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper())) for c in CODES]
        builder = LanguageDetectorBuilder.from_languages(*languages)
    else:
        builder = LanguageDetectorBuilder.from_all_languages()
    detector = builder.with_preloaded_language_models().build()

    def detect(text: str) -> str | None:
        language = detector.detect_language_of(text)
        return language.iso_code_639_1.name.lower() if language else None

    return detect


def py3langid_detector() -> Detector:
    import py3langid.langid as langid

    langid.set_languages(list(CODES))
    return lambda text: str(langid.classify(text)[0])


def thread_languages(messages: Sequence[str], detect: Detector) -> list[str]:
    found = {language for text in messages if text.strip() and (language := detect(text))}
    return sorted(found) or ["en"]


def report(name: str, detect: Detector, threads: list[EvalThread]) -> None:
    texts = {item.id: [prose(message) for message in item.thread.user_messages] for item in threads}
    right = {
        split: sum(
            thread_languages(texts[item.id], detect) == item.expected["languages"]
            for item in threads
            if item.split == split
        )
        for split in ("test", "dev")
    }
    flat = [text for item in threads for text in texts[item.id]] * 5
    started = time.perf_counter()
    for text in flat:
        detect(text)
    micros = (time.perf_counter() - started) / len(flat) * 1e6
    sizes = {split: sum(item.split == split for item in threads) for split in right}
    print(
        f"| {name} | {right['test']}/{sizes['test']} | {right['dev']}/{sizes['dev']} "
        f"| {micros:.0f} µs |"
    )


def main() -> None:
    threads, _vocabulary = load_eval_set(EVAL_SET)
    print("| detector | test threads right | dev threads right | per message |")
    print("|---|---|---|---|")
    report("threadline (function words, scripts)", message_language, threads)
    if importlib.util.find_spec("py3langid"):
        report("py3langid 0.4, 9 languages", py3langid_detector(), threads)
    if importlib.util.find_spec("lingua"):
        report("lingua 2.1, 9 languages", lingua_detector(restricted=True), threads)
        report("lingua 2.1, all languages", lingua_detector(restricted=False), threads)


if __name__ == "__main__":
    main()
