"""Subject clustering quality: pairwise F1 of the clusters `threadline.insights.subjects.recluster`
makes against the subjects a person gave, on two labelled sets of our own.

    .venv/bin/python bench/subjects_eval.py

- the evaluation set of tests/insights/eval (every thread's question and answer, embedded as the
  pipeline does: insights.subject_embed), by split, all, and English threads only; then the dev
  split clustered and the test split's threads joined to its nearest subjects one by one, as new
  threads arrive (`SubjectIndex.nearest`; those below its threshold wait: own cluster each);
- a small set below: 48 questions (no answers), 8 subjects, several languages, and a shared
  product-name boilerplate ("In Acme, ...") on half of them, which clustering must see through.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from threadline.insights.evaluate import EvalThread, load_eval_set, pairwise_f1
from threadline.insights.subject_embed import SubjectEmbedder
from threadline.insights.subjects import SubjectIndex, recluster

EVAL_SET = Path(__file__).resolve().parent.parent / "tests/insights/eval/threads.jsonl"

SET = {
    "api keys": [
        "How do I rotate my API key?",
        "Where do I create a new API key?",
        "My API key leaked, how can I revoke it?",
        "Can an API key be read-only?",
        "In Acme, how do I regenerate an access token?",
        "Wie erstelle ich einen neuen API-Schlüssel?",
    ],
    "invoices": [
        "Where can I download my invoice as a PDF?",
        "The invoice shows the wrong VAT number",
        "Can invoices be emailed to our accountant?",
        "In Acme, how do I get last month's invoice?",
        "Où puis-je télécharger ma facture ?",
        "Billing statement for March is missing",
    ],
    "sso": [
        "How do I set up SSO with Okta?",
        "SAML single sign-on fails with an assertion error",
        "In Acme, can we enforce SSO for all users?",
        "Azure AD SSO configuration steps",
        "¿Cómo configuro el inicio de sesión único con Google Workspace?",
        "OIDC login redirects back to the sign-in page",
    ],
    "webhooks": [
        "How do I receive webhook events?",
        "Webhook deliveries fail with a 401",
        "In Acme, how do I verify the webhook signature?",
        "Can I retry a failed webhook delivery?",
        "What payload does the conversation.ended webhook send?",
        "Webhooks are delayed by several minutes",
    ],
    "export": [
        "How do I export conversations to CSV?",
        "In Acme, can I schedule a daily export to S3?",
        "The CSV export is missing the feedback column",
        "Export all data for a GDPR request",
        "Wie exportiere ich meine Daten als CSV?",
        "Export to BigQuery fails with a permission error",
    ],
    "rate limits": [
        "What are the API rate limits?",
        "I am getting 429 Too Many Requests",
        "In Acme, can the rate limit be raised for our plan?",
        "How many requests per second can I send?",
        "Retry-After header handling for throttled requests",
        "Rate limited when importing historical data",
    ],
    "widget": [
        "How do I embed the chat widget on my site?",
        "In Acme, can I change the widget's colors?",
        "The chat widget does not load on Safari",
        "Can the widget open in a side panel?",
        "Widget button overlaps our cookie banner",
        "Set the widget language to German",
    ],
    "off topic": [
        "Write me a poem about the sea",
        "What is the weather in Paris tomorrow?",
        "In Acme, tell me a joke",
        "Who won the football world cup in 2018?",
        "Give me a recipe for pancakes",
        "What is the capital of Australia?",
    ],
}


def clustered(
    embedder: SubjectEmbedder,
    name: str,
    truth: Sequence[str],
    questions: list[str],
    answers: list[str],
) -> None:
    vectors = embedder.embed(questions, answers)
    subjects, ids = recluster(vectors, questions, [None] * len(questions), [])
    f1 = pairwise_f1(truth, ids)
    print(
        f"{name}: {len(questions)} questions, {len(set(truth))} subjects given, "
        f"{len(subjects)} found, pairwise F1 {f1:.3f}"
    )


def arriving(embedder: SubjectEmbedder, threads: list[EvalThread]) -> None:
    """Dev clustered; test threads then assigned to its subjects one by one."""
    dev = [t for t in threads if t.split == "dev"]
    test = [t for t in threads if t.split == "test"]
    questions = [t.thread.question for t in dev]
    subjects, _ = recluster(
        embedder.embed(questions, [t.thread.answer for t in dev]),
        questions,
        [None] * len(dev),
        [],
    )
    index = SubjectIndex(subjects)
    vectors = embedder.embed([t.thread.question for t in test], [t.thread.answer for t in test])
    assigned: list[object] = []
    for n, vector in enumerate(vectors):
        subject = index.nearest(vector)
        assigned.append(subject.id if subject else f"waiting {n}")
    waiting = sum(1 for a in assigned if isinstance(a, str))
    f1 = pairwise_f1([t.subject for t in test], assigned)
    print(
        f"test threads joined to the dev split's {len(subjects)} subjects: {waiting} of "
        f"{len(test)} waiting, pairwise F1 {f1:.3f}"
    )


def main() -> int:
    embedder = SubjectEmbedder()
    threads, _ = load_eval_set(EVAL_SET)
    for split in ("test", "dev", None, "english"):
        chosen = [
            t
            for t in threads
            if split is None
            or t.split == split
            or (split == "english" and t.expected["languages"] == ["en"])
        ]
        clustered(
            embedder,
            f"eval set, {split or 'all'}",
            [t.subject for t in chosen],
            [t.thread.question for t in chosen],
            [t.thread.answer for t in chosen],
        )
    arriving(embedder, threads)
    truth = [subject for subject, questions in SET.items() for _ in questions]
    questions = [q for qs in SET.values() for q in qs]
    clustered(embedder, "small set", truth, questions, [""] * len(questions))
    for name in sorted(
        {
            s.name
            for s in recluster(
                embedder.embed(questions, [""] * len(questions)),
                questions,
                [None] * len(questions),
                [],
            )[0]
        }
    ):
        print("  subject:", name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
