"""A conversation's messages -> semantic threads: one user question and the answers after it.
Support tickets count too: a customer asks, an agent answers.

A user message that continues the thread's question (a short follow-up, "that didn't work",
"can you show an example?", or one close in meaning) stays in the thread; one on another
subject starts a new thread (shared/reference/semantic-threads.md).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Sequence

import numpy as np

from threadline.insights.embed import Vectors

# Cosine between a follow-up and the thread's question above which the follow-up continues it
# (MiniLM: paraphrases score 0.5-0.9, different subjects of one product 0.0-0.3).
SAME_SUBJECT = 0.45
# A follow-up this short (in words) rarely carries a subject of its own ("why?", "and on mac?").
SHORT_FOLLOW_UP = 4

# Continuation cues, in several languages: a message that opens with or consists of these
# refers back to the answer it follows.
_CUES = [
    # en
    r"(it|that|this) (still )?(did ?n[o']?t|does ?n[o']?t|is ?n[o']?t|won'?t|can'?t) work",
    r"(still|same) (error|problem|issue)",
    r"(can|could) you (show|give|explain|clarify|elaborate|provide)",
    r"(show|give) me (an )?example",
    r"^(ok|okay|thanks|thank you|thx|great|cool|perfect|nice|got it|i see)\b",
    r"^(and|but|also|what about|how about|what if|why|so|then|instead)\b",
    r"\b(that|this|it|your answer|the above|the previous)\b.{0,20}\b(wrong|not what|does not)\b",
    r"\b(more detail|example|step by step|elaborate)\b",
    r"^(no|yes|yeah|nope)\b",
    # de
    r"(das|es) (hat|funktioniert) (nicht|immer noch nicht)",
    r"^(und|aber|danke|ok|warum|also)\b",
    r"\b(beispiel|genauer)\b",
    # fr
    r"(ça|ca|cela) (ne )?(marche|fonctionne) (pas|toujours pas)",
    r"^(et|mais|merci|pourquoi|d'accord)\b",
    r"\b(exemple|plus de détails)\b",
    # es / pt / it
    r"(no|não|non) (funciona|funcionó|funzionato|funziona)",
    r"^(y|pero|gracias|obrigad[oa]|grazie|e|ma|mas|por qué|perché)\b",
    r"\b(ejemplo|exemplo|esempio)\b",
    # nl
    r"(het|dat) werkt (niet|nog steeds niet)",
    r"^(en|maar|bedankt|dank je)\b",
    # ja / zh / ko
    r"(うまくいきません|動きません|できません|例を|ありがとう)",
    r"(不行|还是不|例子|谢谢|没用)",
    r"(안 돼|안돼요|예시|감사)",
]
CONTINUATION = re.compile("|".join(f"(?:{cue})" for cue in _CUES), re.IGNORECASE)

# The roles that ask and the roles that answer. A message's role is a free string (reference
# §4.1): chat histories say user/assistant, support tickets customer/agent. Other roles (system,
# tool, ...) are in no thread.
QUESTION_ROLES = frozenset({"user", "customer"})
ANSWER_ROLES = frozenset({"assistant", "agent"})


@dataclasses.dataclass(frozen=True)
class Message:
    id: str
    role: str  # user, assistant, system, tool, ...
    content: str
    created_at: int  # microseconds
    cited_urls: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Segment:
    """One thread of a conversation, before labelling."""

    id: str
    messages: tuple[Message, ...]
    is_initial: bool

    @property
    def question(self) -> str:
        return self.user_messages[0]

    @property
    def user_messages(self) -> tuple[str, ...]:
        return tuple(m.content for m in self.messages if is_question(m))

    @property
    def assistant_messages(self) -> tuple[str, ...]:
        return tuple(m.content for m in self.messages if is_answer(m))

    @property
    def cited_urls(self) -> tuple[str, ...]:
        return tuple(url for m in self.messages if is_answer(m) for url in m.cited_urls)


def is_question(message: Message) -> bool:
    """The message asks: a user's, or a customer's in a support ticket."""
    return message.role.lower() in QUESTION_ROLES


def is_answer(message: Message) -> bool:
    """The message answers: the assistant's, or a support agent's."""
    return message.role.lower() in ANSWER_ROLES


def thread_id(conversation_id: str, first_message_id: str) -> str:
    """Stable: the same conversation and first message always give the same id."""
    digest = hashlib.sha256(f"{conversation_id}\x00{first_message_id}".encode()).hexdigest()
    return f"thr_{digest[:24]}"


def cued(text: str) -> bool:
    """Whether a user message continues the thread before it whatever its meaning: empty, a
    continuation cue, or a short follow-up. Such messages need no embedding."""
    stripped = text.strip()
    if not stripped or CONTINUATION.search(stripped[:200]):
        return True
    return len(stripped.split()) <= SHORT_FOLLOW_UP and len(stripped) < 40


def continues(text: str, similarity: float) -> bool:
    """Whether a user message continues the thread whose question it is `similarity` from."""
    return cued(text) or similarity >= SAME_SUBJECT


def needs_vector(users: Sequence[Message]) -> list[bool]:
    """Which user messages segment() compares by meaning: the first, and every one not cued
    (a thread's question is always one of these)."""
    return [i == 0 or not cued(m.content) for i, m in enumerate(users)]


def user_messages(messages: Sequence[Message]) -> list[Message]:
    """The messages that ask (is_question), in order."""
    return [m for m in messages if is_question(m)]


def segment(
    conversation_id: str, messages: Sequence[Message], vectors: Vectors | None
) -> list[Segment]:
    """The conversation's threads, in order. `vectors` are the embeddings of its user messages
    (user_messages(), in order; rows needs_vector() says are not needed may be zeros; None:
    continuation cues alone decide). Messages before the
    first user message (a greeting, a system prompt) are left out; a history with no user
    message has no thread."""
    users = user_messages(messages)
    if not users:
        return []
    vector_of = {m.id: i for i, m in enumerate(users)}
    groups: list[list[Message]] = []
    anchor = -1  # the index (in users) of the current thread's question
    for message in messages:
        if is_question(message):
            i = vector_of[message.id]
            if anchor < 0 or not _continues(message, i, anchor, vectors):
                groups.append([])
                anchor = i
        if groups and (is_question(message) or is_answer(message)):
            groups[-1].append(message)
    return [
        Segment(
            id=thread_id(conversation_id, group[0].id),
            messages=tuple(group),
            is_initial=n == 0,
        )
        for n, group in enumerate(groups)
    ]


def _continues(message: Message, i: int, anchor: int, vectors: Vectors | None) -> bool:
    similarity = 0.0 if vectors is None else float(np.dot(vectors[i], vectors[anchor]))
    return continues(message.content, similarity)
