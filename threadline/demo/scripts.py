"""Scripted demo conversations: the threads that give the Insights page something to find.
Questions in German, French, Spanish, Portuguese and Japanese, answers that hedge or say the
docs do not cover it (knowledge gaps, never with cited links), feature requests answered "not
supported", off-topic and unclear questions, and conversations that change subject."""

# Japanese is written with full-width punctuation, which is what its users type.
# ruff: noqa: RUF001

from __future__ import annotations

import dataclasses

from threadline.demo.corpus import TOPICS


@dataclasses.dataclass(frozen=True)
class Turn:
    """One question and its answer. `cites` names the topic whose pages the answer links (None:
    no sources); `weak` marks a gap or a "not supported" answer, which draws more thumbs down."""

    question: str
    answer: str
    cites: str | None
    weak: bool = False


@dataclasses.dataclass(frozen=True)
class Script:
    kind: str  # one of KIND_SHARES
    language: str  # ISO 639-1 of the user's messages
    topic: str  # corpus topic the conversation is filed under (tags, properties)
    turns: tuple[Turn, ...]


def _ok(topic: str, question: str, answer: str) -> Turn:
    return Turn(question, answer, topic)


def _gap(question: str, answer: str) -> Turn:
    return Turn(question, answer, None, weak=True)


# Share of all demo conversations each kind of script takes; the rest follow corpus.TOPICS.
KIND_SHARES: dict[str, float] = {
    "language": 0.20,
    "gap": 0.09,
    "unsupported": 0.05,
    "off_topic": 0.025,
    "unclear": 0.025,
    "two_subjects": 0.04,
}

_LANGUAGE = (
    Script("language", "de", "api keys", (
        _ok("api keys", "Wie erstelle ich einen API-Schlüssel?",
            "Unter Einstellungen → API-Schlüssel auf „Neuer Schlüssel“ klicken, oder "
            "`acme keys create --scope read` ausführen. Der Schlüssel wird nur einmal angezeigt, "
            "speichere ihn also gleich in deinem Secret-Manager."),
        _ok("api keys", "Und wie rotiere ich ihn ohne Ausfall?",
            "Neuen Schlüssel anlegen, ausrollen, dann den alten widerrufen: widerrufene "
            "Schlüssel werden nach wenigen Sekunden abgelehnt."),
    )),
    Script("language", "de", "webhooks", (
        _ok("webhooks", "Warum kommen meine Webhooks nicht an?",
            "Prüfe zuerst die Zustellungen des Endpunkts im Dashboard: fehlgeschlagene "
            "Zustellungen werden 72 Stunden lang mit exponentiellem Backoff wiederholt und "
            "lassen sich dort erneut senden. Antwortet dein Server nicht mit 2xx, gilt die "
            "Zustellung als fehlgeschlagen."),
    )),
    Script("language", "de", "terraform", (
        _gap("Gibt es einen offiziellen Terraform-Provider für Acme?",
             "Dazu habe ich in der Dokumentation leider nichts gefunden. Ich kann nicht sagen, "
             "ob ein offizieller Provider geplant ist."),
    )),
    Script("language", "de", "docker", (
        _ok("docker", "Wie behalte ich meine Daten, wenn der Docker-Container neu startet?",
            "Binde ein Volume unter `/data` ein, zum Beispiel `-v acme-data:/data`. Ohne Volume "
            "liegen die Daten im Container und gehen beim Neuerstellen verloren."),
    )),
    Script("language", "fr", "sso", (
        _ok("sso", "Comment configurer le SSO SAML avec Okta ?",
            "Le SSO est inclus dans l'offre Business : dans Paramètres → Sécurité, ajoutez une "
            "connexion SAML, collez l'URL des métadonnées d'Okta et associez l'attribut e-mail. "
            "Activez ensuite « Exiger le SSO »."),
    )),
    Script("language", "fr", "rate limits", (
        _ok("rate limits", "Pourquoi est-ce que je reçois des erreurs 429 ?",
            "Chaque clé a droit à 100 requêtes par seconde, avec des pics à 200. Une réponse 429 "
            "contient `Retry-After` ; les SDK officiels attendent et réessaient pour vous."),
        _ok("rate limits", "Est-ce que la limite est par clé ou par compte ?",
            "Par clé : chaque clé a son propre budget, un traitement par lots ne peut donc pas "
            "ralentir les autres."),
    )),
    Script("language", "fr", "audit logs", (
        _gap("Peut-on envoyer le journal d'audit vers notre SIEM ?",
             "Je ne suis pas sûr : la documentation ne décrit que la vue du journal d'audit dans "
             "le tableau de bord, pas d'export vers un SIEM."),
    )),
    Script("language", "es", "python sdk", (
        _ok("python sdk", "¿Cómo instalo el SDK de Python?",
            "Con `pip install acme`. Después crea un cliente con `acme.Client(api_key=...)`, o "
            "`acme.AsyncClient` si usas asyncio. Se admite Python 3.9 o posterior."),
    )),
    Script("language", "es", "exports", (
        _ok("exports", "¿Cómo exporto mis datos a CSV?",
            "Cualquier informe se descarga como CSV desde su menú, o con `POST /exports`. Las "
            "fechas van en UTC y no hay límite de filas."),
    )),
    Script("language", "es", "graphql", (
        _gap("¿Cuál es el límite de complejidad de las consultas GraphQL?",
             "No encontré esa información en la documentación. La página de la beta de GraphQL "
             "no indica ningún límite, así que no puedo confirmarlo."),
    )),
    Script("language", "pt", "billing", (
        _ok("billing", "Como faço para baixar as faturas?",
            "As faturas ficam em Configurações → Cobrança. Os proprietários também podem mudar de "
            "plano ali; upgrades valem na hora e downgrades no fim do período."),
    )),
    Script("language", "pt", "react widget", (
        _ok("react widget", "Como adiciono o widget de chat no meu app React?",
            "Instale `@acme/widget-react` e renderize `<AcmeChat apiKey=... />` uma vez perto da "
            "raiz. As cores vêm da prop `theme`."),
    )),
    Script("language", "pt", "kubernetes", (
        _gap("O chart Helm suporta autoscaling horizontal?",
             "Não encontrei nada sobre isso na documentação, então não sei dizer com certeza."),
    )),
    Script("language", "ja", "pagination", (
        _ok("pagination", "ページネーションはどのように動作しますか？",
            "一覧エンドポイントは最大 `limit` 件（既定 20、最大 100）と `next_cursor` を返します。"
            "`next_cursor` が null になるまで `cursor` に渡してください。"),
    )),
    Script("language", "ja", "sandbox", (
        _ok("sandbox", "テストモードはありますか？課金されずに試したいです。",
            "すべてのプロジェクトにサンドボックスがあります。"
            "`sk_test_` で始まるキーはサンドボックスのデータだけを扱い、課金されません。"),
    )),
    Script("language", "ja", "terraform", (
        _gap("Terraform でプロジェクトを管理できますか？",
             "申し訳ありませんが、ドキュメントにはその情報が見つかりませんでした。"),
    )),
)  # fmt: skip

_GAP = (
    Script("gap", "en", "graphql", (
        _gap("Can I use GraphQL subscriptions for real-time updates?",
             "I'm not sure. The GraphQL beta page does not mention subscriptions, and I could not "
             "find anything about real-time updates in the docs."),
    )),
    Script("gap", "en", "audit logs", (
        _gap("How do I export audit logs to Splunk?",
             "I couldn't find this in the documentation. The docs only describe viewing the audit "
             "log in the dashboard; you may want to contact support."),
    )),
    Script("gap", "en", "terraform", (
        _gap("Does the Terraform provider support importing existing webhooks?",
             "The documentation does not cover the Terraform provider, so I can't say whether "
             "imports work."),
    )),
    Script("gap", "en", "migrations", (
        _gap("What is the upgrade path from 2.x straight to 4.0?",
             "I don't know: the upgrade guide only covers 3.x to 4.0, and I could not find "
             "anything about skipping a major version."),
        _gap("So should I go through 3.x first?",
             "Possibly, but the docs do not say. I'd ask support before upgrading production."),
    )),
    Script("gap", "en", "search ranking", (
        _gap("How do I tune search ranking for non-English pages?",
             "I could not find documentation about language-specific ranking. It might be "
             "possible with synonyms, but I am not certain."),
    )),
    Script("gap", "en", "node sdk", (
        _gap("Does the Node SDK work with Bun?",
             "I'm not certain. The docs mention Node.js, Deno and edge runtimes, but not Bun."),
    )),
)  # fmt: skip

_UNSUPPORTED = (
    Script("unsupported", "en", "exports", (
        _gap("Can I export data directly to BigQuery?",
             "No, Acme does not support exporting to BigQuery. Scheduled exports can only go to "
             "S3 or GCS; you could load them into BigQuery from there."),
    )),
    Script("unsupported", "en", "sso", (
        _gap("Is SSO available on the Free plan?",
             "No, SSO is not available on the Free plan: it is a Business plan feature."),
    )),
    Script("unsupported", "en", "react widget", (
        _gap("Can the chat widget answer voice questions?",
             "No, the widget does not support voice input; it only accepts typed messages."),
    )),
    Script("unsupported", "en", "migrations", (
        _gap("Can I roll back a 4.0 migration with a down-migration?",
             "No. Down-migrations are not supported: roll back by restoring the backup you took "
             "before upgrading."),
    )),
)  # fmt: skip

_OFF_TOPIC = (
    Script("off_topic", "en", "sandbox", (
        Turn("What's the weather like in Berlin today?",
             "I can only help with questions about Acme and its documentation.", None),
    )),
    Script("off_topic", "en", "sandbox", (
        Turn("Write me a poem about cats",
             "Sorry, I can only answer questions about Acme's products and docs.", None),
    )),
    Script("off_topic", "en", "sandbox", (
        Turn("Who won the football world cup in 2014?",
             "I'm here to help with Acme's documentation, so I can't answer that.", None),
    )),
)  # fmt: skip

_UNCLEAR = (
    Script("unclear", "en", "sandbox", (
        Turn("help", "Happy to help! What are you trying to do with Acme?", None),
    )),
    Script("unclear", "en", "webhooks", (
        Turn("it doesn't work",
             "Sorry to hear that. Which part isn't working, and what error do you see?", None),
        _ok("webhooks", "webhooks never arrive at my endpoint",
            "Check the endpoint's deliveries in the dashboard: failed deliveries are retried for "
            "72 hours and you can replay them. Your endpoint must answer with a 2xx."),
    )),
    Script("unclear", "en", "sandbox", (
        Turn("asdf", "I didn't understand that. Could you rephrase your question?", None),
    )),
)  # fmt: skip

_TWO_SUBJECTS = (
    Script("two_subjects", "en", "python sdk", (
        _ok("python sdk", "How do I set a timeout in the Python client?",
            "Every call takes `timeout=`; the default is 30 seconds. You can also pass "
            "`timeout=` to `acme.Client` to change the default."),
        _ok("billing", "Also, how is usage billed?",
            "Usage is metered per request and billed monthly in arrears; invoices are under "
            "Settings → Billing."),
    )),
    Script("two_subjects", "en", "docker", (
        _ok("docker", "How do I run Acme in Docker?",
            "Run `docker run -p 8080:8080 -v acme-data:/data ghcr.io/acme/server`; the volume "
            "keeps your data across restarts."),
        _gap("Different question: is there a Terraform provider for the self-hosted version?",
             "I could not find anything about Terraform for self-hosting in the docs, sorry."),
    )),
    Script("two_subjects", "en", "webhooks", (
        _ok("webhooks", "How do I verify webhook signatures?",
            "Compute an HMAC-SHA256 of the raw body with your endpoint secret and compare it in "
            "constant time with the `Acme-Signature` header before parsing the body."),
        _ok("rate limits", "Unrelated: what are the API rate limits?",
            "Each key may make 100 requests per second with bursts of 200; a 429 carries "
            "`Retry-After`."),
    )),
)  # fmt: skip

SCRIPTS: tuple[Script, ...] = (
    _LANGUAGE + _GAP + _UNSUPPORTED + _OFF_TOPIC + _UNCLEAR + _TWO_SUBJECTS
)
TOPIC_INDEX = {topic.name: index for index, topic in enumerate(TOPICS)}
SCRIPT_TOPICS = tuple(TOPIC_INDEX[script.topic] for script in SCRIPTS)


def script_weights() -> list[float]:
    """Each script's share of all conversations: its kind's share split evenly."""
    per_kind = {kind: sum(s.kind == kind for s in SCRIPTS) for kind in KIND_SHARES}
    return [KIND_SHARES[s.kind] / per_kind[s.kind] for s in SCRIPTS]
