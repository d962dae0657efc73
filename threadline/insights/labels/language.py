"""Languages of the user's messages, as ISO 639-1 codes: script first (kana, Han, Hangul,
Cyrillic...), then function words and diacritics for the Latin-script languages.

Measured against lingua-language-detector in docs/insights.md: a table of function words is
exact on chat questions in the languages it knows, needs no 100 MB wheel, and costs microseconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from threadline.insights.labels.text import Text, prose

# When nothing in the thread says which language it is ("hi", a code block, an emoji).
DEFAULT_LANGUAGE = "en"

# Scripts that name their language on their own (kana before Han: Japanese mixes both).
_SCRIPTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ja", re.compile(r"[\u3040-\u30ff]")),
    ("ko", re.compile(r"[\uac00-\ud7af]")),
    ("zh", re.compile(r"[\u4e00-\u9fff]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("el", re.compile(r"[\u0370-\u03ff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
)

# Frequent function words and chat words; a word shared by two languages counts for both.
_WORDS: dict[str, str] = {
    "en": "the is are to i my how do does did what why can could it in on for with of and this"
    " that you your we our not don't doesn't didn't can't isn't aren't won't i'm it's there be"
    " have has get when where which after from any but me should would please thanks thank"
    " yes way use an at all only so like just still keep keeps was were been add help hi hello"
    " ok nvm love new need needed exactly found tell give write who whats what's let ask sorry"
    " same there's since seems anything nothing even though as if or by they them their then"
    " than these those will about up out some other into also too very",
    "de": "der die das und ist ich nicht wie was mit für auf mein meine meinem meiner meinen ein"
    " eine einen einem kann können könnt ihr wird werden bei auch nur zu den dem des von warum"
    " wo sich es habe hat ja nein bitte danke geht gibt welche welcher welches seit immer obwohl"
    " aber oder wenn dass noch schon hilfe hallo sind lange viele wäre"
    " leider dazu gestern heute morgen über mir mich dir euch uns sehr sein keine kein zum zur"
    " im am um dann jetzt hier diese dieser dieses man wir sie er durch",
    "fr": "le la les un une des du est et je j'ai mon ma mes pour avec dans sur pas ne que qui"
    " quoi comment pourquoi où quelle quel quels est-ce il elle nous vous votre vos ce cette ces"
    " ça au aux puis peut on puis-je merci bonjour aide depuis très mais sont faire été"
    " uniquement entre si n'est c'est qu'est d'une d'un suis moi de à en y se sa son ses"
    " leur leurs plus tout tous sans aussi quand ici encore toi lui eux fait être avoir ai ont"
    " beaucoup",
    "es": "el los las una unos es y que cómo qué por para con mi mis tu no en se del al lo está"
    " están hay puedo puede cuál cuáles dónde cuántos me muy pero ya sé sí gracias hola ayuda"
    " funciona tengo todo este esta hace hará mañana podrían sería nada la de sobre su sus le"
    " les son ser fue entre sin también cuando desde hasta nos ni otro esto eso ese esa estos"
    " porque donde si",
    "pt": "o os um uma é não como do da dos das no na nos nas em para com meu minha seu sua"
    " você vocês está estou há porque qual quais onde quanto quantos muito mas obrigado"
    " obrigada valeu olá ajuda isso esse essa dá só tem ao pelo pela já depois me posso as"
    " de a e se que por mais foi ser ele ela eles entre sem também quando até nem sobre"
    " seus suas tudo aqui ainda pode podem vou",
    "it": "il lo gli un una è e di che come perché per con mio mia miei non sono posso dove"
    " quale quali al della del delle nel nella grazie ciao aiuto la le si ma anche questo"
    " questa sul sulla ho hai ha mi ti ci",
    "nl": "de het een is en ik mijn hoe wat waarom niet met voor op van dat die zijn kan moet"
    " bij ook naar wordt alleen stel doe over er maar als om wel nog geen je jij heb hebben"
    " kunnen moeten",
}

# Any letter beyond Latin and its extensions; most messages have none, so one search decides.
_NOT_LATIN = re.compile(r"[\u0370-\u1fff\u3040-\u9fff\uac00-\ud7af]")

# Quoted text is usually an error message or a UI label, in English whatever the user writes.
_QUOTED = re.compile(
    r"«[^»]*»|\"[^\"\n]*\"|“[^”\n]*”|„[^“”\n]*[“”]|「[^」]*」|(?<!\w)'[^'\n]*'(?!\w)"
)

# Letters that only some of the languages use.
_LETTERS: dict[str, str] = {
    "de": "äöüß",
    "fr": "èùœçëî",
    "es": "ñ¿¡",
    "pt": "ãõç",
    "it": "òè",
}

_BY_WORD: dict[str, tuple[str, ...]] = {}
for _language, _list in _WORDS.items():
    for _word in _list.split():
        _BY_WORD[_word] = (*_BY_WORD.get(_word, ()), _language)


def message_language(message: str) -> str | None:
    """The language of one message, or None when it cannot be told (too short, code only)."""
    text = prose(message)
    if _NOT_LATIN.search(text):
        for language, script in _SCRIPTS:
            if script.search(text):
                return language
    return _latin_language(_QUOTED.sub(" ", text)) or _latin_language(text)


def _latin_language(text: str) -> str | None:
    scores: dict[str, float] = {}
    for token in Text(text).tokens:
        for language in _BY_WORD.get(token, ()):
            scores[language] = scores.get(language, 0.0) + 1.0
    for language, letters in _LETTERS.items():
        if any(letter in text for letter in letters):
            scores[language] = scores.get(language, 0.0) + 1.5
    if not scores:
        return None
    # Ties go to the order of _WORDS (English first), so the answer never depends on hashing.
    return max(_WORDS, key=lambda language: scores.get(language, 0.0))


def detect_languages(
    user_messages: Iterable[str], assistant_messages: Iterable[str]
) -> tuple[str, ...]:
    """Sorted codes of the user's messages; when none can be told, the assistant's language
    (it answers in the user's), else DEFAULT_LANGUAGE."""
    found = {language for message in user_messages if (language := message_language(message))}
    if found:
        return tuple(sorted(found))
    for message in assistant_messages:
        language = message_language(message)
        if language:
            return (language,)
    return (DEFAULT_LANGUAGE,)
