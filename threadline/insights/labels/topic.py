"""isOnTopic and isClear: is the question about the product the assistant serves, and can it be
understood as asked.

On topic needs a sign of the product: its names (the project's vocabulary), the words of its
domain (deploys, domains, invoices... in every language the labellers know), or an answer that
is grounded in the documentation. Off topic: the assistant declines as out of scope, the user
asks for a poem, the weather or homework, or only greets or thanks.
"""

from __future__ import annotations

import re

from threadline.insights.labels.text import Text, cues, has_cjk

# Stems matched at the start of a word ("deploy" finds "deployments", "api" does not find
# "capital"); CJK stems anywhere, as CJK has no spaces.
_DOMAIN_STEMS = """deploy|api|apis|key|keys|token|domain|dns|cname|certificat|ssl|https|build|
function|env|variable|database|postgres|sql|cache|cdn|logs|logging|webhook|sso|saml|oidc|scim|
cli|docker|container|region|cron|invoice|billing|plan|seat|password|account|login|log in|2fa|
rollback|runtime|timeout|redirect|preview|project|team|server|endpoint|request|header|proxy|
npm|install|config|secret|environment|storage|bucket|upload|bandwidth|quota|rate limit|
error|401|403|404|429|500|502|503|git|branch|commit|repo|pipeline|provider|integration|
latency|queue|worker|instance|cold start|memory|cpu|kubernetes|terraform|
zertifikat|umgebungsvariable|datenbank|rechnung|konto|anmeld|passwort|bereitstell|abrechnung|
facture|compte|domaine|déploi|base de données|mot de passe|connexion|
factura|cuenta|dominio|despliegue|contraseña|base de datos|
fatura|conta|domínio|implanta|senha|banco de dados|fattur|
ドメイン|デプロイ|環境変数|ビルド|請求|キャッシュ|アカウント|パスワード|関数|ログ|データベース|
域名|部署|环境变量|构建|发票|日志|缓存|密码|账户|数据库|函数|容器"""
_STEMS = sorted({stem.strip() for stem in _DOMAIN_STEMS.replace("\n", "").split("|")}, key=len)
_DOMAIN_LATIN = re.compile(
    r"\b(?:" + "|".join(re.escape(stem) for stem in reversed(_STEMS) if not has_cjk(stem)) + ")"
)
_DOMAIN_CJK = re.compile("|".join(re.escape(stem) for stem in _STEMS if has_cjk(stem)))

OFF_TOPIC_ASKS = cues(
    """poem|poetry|weather|joke|recipe|homework|capital of|world cup|song|lyrics|horoscope|
    gedicht|wetter|witz|rezept|hausaufgabe|hauptstadt|
    poème|météo|blague|recette|devoirs|capitale|
    poema|tiempo hará|chiste|receta|tarea|capital de|
    previsão do tempo|piada|receita|dever de casa|
    天気|詩|天气|诗|笑话"""
)
DECLINES_SCOPE = cues(
    """i can only|only answer questions|only help with|can only help|only able to answer|
    outside what i can help|here to help with|can't help with that|cannot help with that|
    ich kann nur fragen|beantworte nur fragen|kann ich dabei nicht helfen|
    je ne peux répondre qu'aux|ne peux aider que|
    solo puedo|solo respondo|no puedo ayudar con eso|
    só posso ajudar|respondo apenas|não posso ajudar com isso|
    のみお答えできます|只能回答"""
)
THANKS_OR_GREETING = cues(
    """thanks|thank you|thx|worked|works|hi|hello|hey|ok|okay|cool|great|perfect|awesome|
    danke|geklappt|hallo|super|merci|fonctionné|bonjour|gracias|funciona|hola|obrigado|valeu|
    deu certo|olá|grazie|ciao|bedankt|ありがとう|できました|谢谢|你好|こんにちは"""
)


def domain_hit(text: Text) -> bool:
    return (
        _DOMAIN_LATIN.search(text.lower) is not None or _DOMAIN_CJK.search(text.lower) is not None
    )


def only_thanks_or_greeting(user_text: Text, asks: bool, troubled: bool) -> bool:
    """The user asks nothing and reports nothing: thanks, praise, hello."""
    return not asks and not troubled and THANKS_OR_GREETING.any(user_text)


def is_clear(question: Text, *, known_word: bool) -> bool:
    """Unclear: no letters at all ("???", an emoji), or a few words of which none is about the
    product or its domain ("help", "it doesn't work", "asdf jkl")."""
    if not question.tokens:
        return False
    if known_word:
        return True
    size = sum(max(1, len(token) // 2) if has_cjk(token) else 1 for token in question.tokens)
    return size >= 4


def is_on_topic(
    user_text: Text,
    answer: Text,
    *,
    product_hit: bool,
    tool_hit: bool,
    clear: bool,
    thanks_only: bool,
    grounded: bool,
) -> bool:
    """`tool_hit`: the user names a third-party developer tool (the gazetteer's domain)."""
    if thanks_only or DECLINES_SCOPE.any(answer):
        return False
    if OFF_TOPIC_ASKS.any(user_text) and not product_hit:
        return False
    if product_hit or tool_hit or domain_hit(user_text):
        return True
    return clear and grounded
