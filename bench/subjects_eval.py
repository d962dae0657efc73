"""Subject clustering quality on a small labelled set of our own: pairwise F1 of the clusters
`threadline.insights.subjects.recluster` makes against the subjects a person gave.

    .venv/bin/python bench/subjects_eval.py

48 questions, 8 subjects, several languages, and a shared product-name boilerplate ("In Acme,
...") on half of them, which clustering must see through. The labels helper's larger set
replaces this one when merged (docs/insights.md, "Quality").
"""

from __future__ import annotations

import itertools
import sys

from threadline.insights.embed import Embedder
from threadline.insights.subjects import recluster

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


def pairwise_f1(truth: list[str], predicted: list[int]) -> tuple[float, float, float]:
    pairs = list(itertools.combinations(range(len(truth)), 2))
    same_true = {p for p in pairs if truth[p[0]] == truth[p[1]]}
    same_pred = {p for p in pairs if predicted[p[0]] == predicted[p[1]]}
    hits = len(same_true & same_pred)
    precision = hits / len(same_pred) if same_pred else 0.0
    recall = hits / len(same_true)
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return precision, recall, f1


def main() -> int:
    truth = [subject for subject, questions in SET.items() for _ in questions]
    questions = [q for qs in SET.values() for q in qs]
    subjects, ids = recluster(Embedder().embed(questions), questions, [None] * len(questions), [])
    precision, recall, f1 = pairwise_f1(truth, ids)
    print(f"{len(questions)} questions, {len(SET)} subjects given, {len(subjects)} found")
    print(f"pairwise precision {precision:.2f}, recall {recall:.2f}, F1 {f1:.2f}")
    for subject in sorted(subjects, key=lambda s: -s.size):
        print(f"  {subject.size:3d}  {subject.name!r}  (category {subject.category!r})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
