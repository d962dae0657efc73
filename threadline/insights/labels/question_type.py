"""questionType: how_to, troubleshooting, conceptual, feature_request, account or other, from
cue phrases in the user's messages, tried in a fixed order (an invoice error is an account
question; a failing build that asks "why" is troubleshooting)."""

from __future__ import annotations

import re

from threadline.insights.labels.text import Cues, Text, cues
from threadline.insights.model import QuestionType

ACCOUNT = cues(
    """billing|invoice|invoices|receipt|refund|charged|payment|pay|credit card|subscription|
    plan upgrade|downgrade|seat|seats|member|members|my account|my password|reset password|
    forgot password|reset my password|2fa|two-factor|delete my account|email address|
    enterprise account|cancel my|
    rechnung|rechnungen|abrechnung|tarif|abgebucht|bezahlen|zahlung|kreditkarte|konto|
    mein passwort|plätze|mitglied|abo|kündigen|
    facture|factures|facturation|paiement|payer|abonnement|mon compte|mot de passe|membre|
    factura|facturas|facturación|cobraron|cobro|pago|pagar|tarjeta|suscripción|mi cuenta|
    contraseña|asientos|miembro|iniciar sesión en mi cuenta|
    fatura|faturas|cobrança|pagamento|pagar|cartão|assinatura|minha conta|senha|assentos|membro|
    fattura|fatture|fatturazione|pagamento|abbonamento|factuur|facturen|betaling|
    請求|支払い|アカウント|パスワード|プラン変更|
    发票|账单|扣费|付款|账户|账号|密码|套餐""".replace("\n", "")
)
FEATURE_REQUEST = cues(
    """can you add|could you add|please add|would be great if|would love|feature request|
    any plans|on the roadmap|add support|will you support|it would be nice|please support|
    könnt ihr|könntet ihr|bitte fügt|bitte bietet|wäre super|wäre toll|wäre schön|plant ihr|
    feature-wunsch|
    pourriez-vous ajouter|pouvez-vous ajouter|ce serait|est-il prévu|
    podrían agregar|podrían añadir|pueden agregar|sería genial|tienen planes|
    poderiam adicionar|podem adicionar|seria ótimo|seria bom|têm planos|
    potreste aggiungere|sarebbe bello|
    追加してほしい|追加して欲しい|対応予定|してほしい|能不能增加|希望支持|希望增加|计划支持|增加对""".replace(
        "\n", ""
    )
)
TROUBLESHOOTING = cues(
    """error|errors|fails|failed|failing|fail|failure|broken|not working|doesn't work|don't work|
    didn't|won't|can't|cannot|unable|timeout|times out|timed out|exception|crash|crashes|
    hangs|hang|stuck|stopped|loops|undefined|rejected|killed|aren't|isn't|is down|empty|bug|
    out of memory|keeps|keep getting|exit code|not found|wrong|issue|problem|
    fehler|fehlermeldung|schlägt fehl|fehlgeschlagen|funktioniert nicht|geht nicht|kaputt|
    hängt|bricht|abgelehnt|bekomme|problem|
    erreur|échoue|échec|ne marche pas|ne fonctionne pas|bloqué|plante|problème|
    falla|fallo|no funciona|no puedo|problema|undefined|
    erro|falha|não funciona|não consigo|timeout|
    errore|non funziona|foutmelding|mislukt|werkt niet|
    エラー|失敗|止まって|届かなく|動かない|できません|
    错误|失败|报错|无法|不工作|出错""".replace("\n", "")
)
CONCEPTUAL = cues(
    """what is|what's|what are|what does|why|difference|explain|how does|
    how long|how many|limit|limits|maximum|max|which events|expire|expires|meaning|mean|
    was ist|was sind|unterschied|warum|wie lange|wie viele|welche|limit|gültig|erklär|
    qu'est-ce|différence|pourquoi|combien|quelle est|quels sont|limite|expirent|
    qué es|diferencia|por qué|cuánto|cuál es|cuáles son|límite|límites|máximo|expiran|
    o que é|diferença|por que|por quê|quanto tempo|qual é|quais são|limite|máximo|expiram|
    cos'è|differenza|perché|wat is|verschil|waarom|
    とは|違い|なぜ|有効期限|どのくらい|
    什么是|区别|为什么|多久|多少|限制""".replace("\n", "")
)
HOW_WORKS = re.compile(r"\bhow (?:does|do) .{1,60}\bwork", re.IGNORECASE)

_ORDER: tuple[tuple[QuestionType, Cues], ...] = (
    ("account", ACCOUNT),
    ("feature_request", FEATURE_REQUEST),
    ("troubleshooting", TROUBLESHOOTING),
    ("conceptual", CONCEPTUAL),
)


def question_type_of(user_text: Text, *, on_topic: bool, asks: bool) -> QuestionType:
    """`asks` is False when the user only thanks or greets; then, as when the thread is off
    topic, the type is `other` unless the user reports something failing."""
    if not on_topic or not asks:
        return "troubleshooting" if TROUBLESHOOTING.any(user_text) else "other"
    for question_type, phrases in _ORDER:
        if phrases.any(user_text):
            return question_type
    if HOW_WORKS.search(user_text.raw):
        return "conceptual"
    return "how_to"
