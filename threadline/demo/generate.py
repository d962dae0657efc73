"""Generate a demo project from one seed: users, conversations with their messages, feedback,
and events. Events are produced a day at a time from a per-day seed, so ten million of them
never sit in memory at once and iterating twice gives the same rows.

Rows are kept compact (small slotted objects, plain tuples for events); rows.py turns them into
table rows and corpus.py supplies their text.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import random
from collections.abc import Iterator

from threadline.demo.corpus import (
    INTEGRATIONS,
    NEGATIVE_DETAILS,
    NEGATIVE_REASONS,
    POSITIVE_DETAILS,
    SEARCH_INTEGRATION,
    SEARCH_NOUNS,
    SEARCH_VERBS,
    TOPICS,
    Page,
)
from threadline.demo.scripts import SCRIPT_TOPICS, SCRIPTS, script_weights
from threadline.demo.shape import Clock, Shape, Zipf
from threadline.timestamps import DAY_US

# (type, entity, weight in % of all events). Conversation events carry a conversationId, message
# events a messageId: the current widget's names (inkeep-widget.md §5) plus the reference's
# `message:copied`. Search events (the last three) are not drawn by weight: they come in search
# sessions, SEARCH_SHARE of all events.
EVENT_TYPES: tuple[tuple[str, str, float], ...] = (
    ("user_message_submitted", "conversation", 16.0),
    ("assistant_message_received", "conversation", 15.5),
    ("assistant_answer_displayed", "conversation", 9.0),
    ("assistant_source_item_clicked", "conversation", 5.0),
    ("assistant_message_copied", "conversation", 3.5),
    ("assistant_code_block_copied", "conversation", 2.5),
    ("chat_clear_button_clicked", "conversation", 1.5),
    ("chat_share_button_clicked", "conversation", 1.0),
    ("user_escalation_indicated", "conversation", 0.5),
    ("get_help_option_clicked", "conversation", 0.5),
    ("message:copied", "message", 8.0),
    ("message:link_opened", "message", 4.5),
    ("assistant_positive_feedback_submitted", "message", 1.7),
    ("assistant_negative_feedback_submitted", "message", 0.8),
    ("search_query_submitted", "search", 0.0),
    ("search_query_response_received", "search", 0.0),
    ("search_result_clicked", "search", 0.0),
)
SEARCH_SUBMITTED, SEARCH_RESPONSE, SEARCH_CLICKED = 14, 15, 16
SEARCH_SHARE = 0.30
_CHAT_KINDS = range(SEARCH_SUBMITTED)
_IS_MESSAGE_EVENT = [entity == "message" for _, entity, _ in EVENT_TYPES]
_CHAT_WEIGHTS = list(
    itertools.accumulate(weight for _, _, weight in EVENT_TYPES[:SEARCH_SUBMITTED])
)

# One event: (created_at µs, index in EVENT_TYPES, conversation index or -1, detail, user index,
# page index, integration index). detail is the turn of a message event's assistant message,
# the query index of a search event, 0 otherwise.
Event = tuple[int, int, int, int, int, int, int]


@dataclasses.dataclass(slots=True)
class Conversation:
    id: str
    user: int
    integration: int  # index in corpus.INTEGRATIONS
    topic: int  # index in corpus.TOPICS
    variant: int  # picks the question wordings, so conversations on one topic differ
    script: int  # index in scripts.SCRIPTS, or -1: the topic's own questions and answers
    times: tuple[int, ...]  # each message's created_at (µs): user, assistant, user, ...

    @property
    def turns(self) -> int:
        return len(self.times) // 2

    def is_weak(self, turn: int) -> bool:
        """Whether this turn's answer is a gap or a "not supported": it draws thumbs down."""
        if self.script >= 0:
            return SCRIPTS[self.script].turns[turn].weak
        return not TOPICS[self.topic].documented


@dataclasses.dataclass(slots=True)
class Feedback:
    id: str
    conversation: int
    turn: int  # the rated assistant message is the answer of this turn
    at: int
    positive: bool
    reason: tuple[str, str] | None  # (label, details) of a thumbs down
    details: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class SearchQuery:
    text: str
    topic: int  # the topic whose pages answer it; -1 for the long tail
    click_rate: float  # share of its searches followed by a click on a result


@dataclasses.dataclass
class Dataset:
    shape: Shape
    users: list[str]
    pages: list[Page]
    queries: list[SearchQuery]
    conversations: list[Conversation]
    feedback: list[Feedback]

    def events(self) -> Iterator[list[Event]]:
        """Each day's events, oldest first (the same every time: each day has its own seed)."""
        clock = Clock(self.shape)
        rng = random.Random(self.shape.seed * 7919 + 1)
        per_day = clock.split(self.shape.events, rng)
        starts = [conversation.times[0] for conversation in self.conversations]
        drawer = _EventDrawer(self, clock)
        for day, count in enumerate(per_day):
            day_start = self.shape.start_us + day * DAY_US
            first = bisect.bisect_left(starts, day_start)
            last = bisect.bisect_left(starts, day_start + DAY_US)
            day_rng = random.Random(self.shape.seed * 1_000_003 + day)
            yield drawer.day(day_rng, day_start, count, range(first, last))

    def describe(self) -> str:
        messages = sum(len(c.times) for c in self.conversations)
        return (
            f"{self.shape.events:,} events, {len(self.conversations):,} conversations, "
            f"{messages:,} messages, {len(self.feedback):,} feedback, {len(self.users):,} users, "
            f"{len(self.queries):,} distinct search queries, {self.shape.days} days"
        )


def message_id(conversation: int, position: int, at_us: int) -> str:
    """The widget's own message id format: `<ms>-<base36>-<1 user | 2 assistant>`."""
    return f"{at_us // 1000}-{_base36(conversation * 16 + position)}-{1 + position % 2}"


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, remainder = divmod(number, 36)
        out = digits[remainder] + out
        if not number:
            return out


def new_id(prefix: str, rng: random.Random, at_us: int) -> str:
    """The shape of threadline's own ids (threadline.ids.new_id): time-ordered, 80 random bits."""
    return f"{prefix}_{at_us // 1000:011x}{rng.getrandbits(80):020x}"


def generate(shape: Shape) -> Dataset:
    rng = random.Random(shape.seed)
    users = [f"user_{rng.getrandbits(48):012x}" for _ in range(shape.users)]
    pages = _pages(shape.pages)
    queries = _queries(rng, shape.search_queries)
    conversations = _conversations(rng, shape, Clock(shape), Zipf(shape.users, 0.7))
    feedback = _feedback(rng, shape, conversations)
    return Dataset(shape, users, pages, queries, conversations, feedback)


def _pages(count: int) -> list[Page]:
    """The topics' own pages first (most visited), then the rest of a docs site."""
    pages = list({page.path: page for topic in TOPICS for page in topic.pages}.values())
    sections = ("guides", "api", "sdk", "widgets", "integrations", "self-hosting")
    for i in itertools.count():
        if len(pages) >= count:
            break
        noun = SEARCH_NOUNS[i % len(SEARCH_NOUNS)]
        section = sections[i % len(sections)]
        suffix = "" if i < len(SEARCH_NOUNS) else f"-{i // len(SEARCH_NOUNS)}"
        pages.append(
            Page(f"/{section}/{noun.replace(' ', '-')}{suffix}", noun.capitalize(), ("Docs",))
        )
    return pages[:count]


def _queries(rng: random.Random, count: int) -> list[SearchQuery]:
    """The topics' searches first (the head of the Zipf curve), then verb + noun long tail.
    Undocumented topics and the long tail rarely find a result worth clicking."""
    head = [
        SearchQuery(text, index, 0.6 if topic.documented else 0.08)
        for index, topic in enumerate(TOPICS)
        for text in topic.searches
    ]
    rng.shuffle(head)
    tail = [f"{verb} {noun}" for verb in SEARCH_VERBS for noun in SEARCH_NOUNS]
    rng.shuffle(tail)
    queries = head + [SearchQuery(text, -1, 0.25) for text in tail]
    return queries[: max(1, min(count, len(queries)))]


_SCRIPT_WEIGHTS = script_weights()
_TOPIC_SHARE = 1 - sum(_SCRIPT_WEIGHTS)


def _conversations(
    rng: random.Random, shape: Shape, clock: Clock, user_zipf: Zipf
) -> list[Conversation]:
    count = shape.conversations
    starts = sorted(clock.draw(rng, count))
    owners = user_zipf.draw(rng, count)
    integrations = rng.choices(range(len(INTEGRATIONS)), [i.weight for i in INTEGRATIONS], k=count)
    topics = Zipf(len(TOPICS), 0.8).draw(rng, count)
    # Scripted conversations are mostly one or two turns; these keep ~half single-turn overall.
    turns = rng.choices((1, 2, 3, 4, 5), weights=(30, 35, 20, 10, 5), k=count)
    scripts = rng.choices(range(-1, len(SCRIPTS)), [_TOPIC_SHARE, *_SCRIPT_WEIGHTS], k=count)
    last = shape.end_us - 1000
    conversations = []
    for index, start in enumerate(starts):
        times = []
        at = start
        script = scripts[index]
        if script >= 0:
            topics[index] = SCRIPT_TOPICS[script]
            turns[index] = len(SCRIPTS[script].turns)
        for _ in range(turns[index]):
            times.append(min(at, last))
            at += rng.randrange(3_000, 20_000) * 1000  # the answer streams in
            times.append(min(at, last))
            at += rng.randrange(20_000, 300_000) * 1000  # reading, then the next question
        conversations.append(
            Conversation(
                id=f"conv_{rng.getrandbits(64):016x}",
                user=owners[index],
                integration=integrations[index],
                topic=topics[index],
                variant=rng.randrange(1 << 16),
                script=script,
                times=tuple(times),
            )
        )
    return conversations


def _feedback(
    rng: random.Random, shape: Shape, conversations: list[Conversation]
) -> list[Feedback]:
    """Thumbs on distinct assistant messages: ~70% up overall, mostly down on gap and "not
    supported" answers (Conversation.is_weak), a reason with every thumbs down."""
    answers = list(itertools.accumulate(c.turns for c in conversations))  # answers up to each
    total = answers[-1] if answers else 0
    rated = sorted(rng.sample(range(total), min(shape.feedback, total)))
    feedback = []
    for flat in rated:
        index = bisect.bisect_right(answers, flat)
        conversation = conversations[index]
        turn = flat - (answers[index - 1] if index else 0)
        at = min(
            conversation.times[2 * turn + 1] + rng.randrange(5_000, 180_000) * 1000,
            shape.end_us - 1000,
        )
        positive = rng.random() < (0.25 if conversation.is_weak(turn) else 0.8)
        reason = None
        if not positive:
            label, comments = rng.choice(NEGATIVE_REASONS)
            reason = (label, rng.choice(comments))
        details = rng.choice(POSITIVE_DETAILS if positive else NEGATIVE_DETAILS)
        feedback.append(Feedback(new_id("fb", rng, at), index, turn, at, positive, reason, details))
    feedback.sort(key=lambda row: row.at)
    return feedback


class _EventDrawer:
    """Draws one day's events: chat events on that day's conversations, and search sessions."""

    def __init__(self, dataset: Dataset, clock: Clock) -> None:
        self.dataset = dataset
        self.clock = clock
        self.user_zipf = Zipf(len(dataset.users), 0.7)
        self.query_zipf = Zipf(len(dataset.queries), 0.9)
        self.page_zipf = Zipf(len(dataset.pages), 1.0)
        self.last = dataset.shape.end_us - 1000
        # Events per search session: submitted, response, and a click at the mean click rate.
        cumulative = self.query_zipf.cumulative
        previous = [0.0, *cumulative[:-1]]
        shares = [(b - a) / cumulative[-1] for a, b in zip(previous, cumulative, strict=True)]
        mean_rate = sum(q.click_rate * p for q, p in zip(dataset.queries, shares, strict=True))
        self.events_per_session = 2 + mean_rate

    def day(self, rng: random.Random, day_start: int, count: int, today: range) -> list[Event]:
        sessions = round(count * SEARCH_SHARE / self.events_per_session)
        rows = self._searches(rng, day_start, sessions)
        rows += self._chat(rng, max(0, count - len(rows)), today)
        rows.sort()
        return rows

    def _searches(self, rng: random.Random, day_start: int, sessions: int) -> list[Event]:
        queries = self.dataset.queries
        picked = self.query_zipf.draw(rng, sessions)
        users = self.user_zipf.draw(rng, sessions)
        pages = self.page_zipf.draw(rng, sessions)
        offsets = self.clock.within_day(rng, sessions)
        rows: list[Event] = []
        last = self.last
        for query, user, page, offset in zip(picked, users, pages, offsets, strict=True):
            at = day_start + offset
            rows.append(
                (min(at, last), SEARCH_SUBMITTED, -1, query, user, page, SEARCH_INTEGRATION)
            )
            at += rng.randrange(200, 1500) * 1000
            rows.append((min(at, last), SEARCH_RESPONSE, -1, query, user, page, SEARCH_INTEGRATION))
            if rng.random() < queries[query].click_rate:
                at += rng.randrange(2_000, 30_000) * 1000
                rows.append(
                    (min(at, last), SEARCH_CLICKED, -1, query, user, page, SEARCH_INTEGRATION)
                )
        return rows

    def _chat(self, rng: random.Random, count: int, today: range) -> list[Event]:
        conversations = self.dataset.conversations
        kinds = rng.choices(_CHAT_KINDS, cum_weights=_CHAT_WEIGHTS, k=count)
        pages = self.page_zipf.draw(rng, count)
        random_ = rng.random
        last = self.last
        rows: list[Event] = []
        for kind, page in zip(kinds, pages, strict=True):
            # A day without conversations of its own (tiny datasets) borrows any conversation.
            if today:
                index = today.start + int(random_() * len(today))
            else:
                index = int(random_() * len(conversations))
            conversation = conversations[index]
            times = conversation.times
            if _IS_MESSAGE_EVENT[kind]:  # on one of the conversation's answers
                turn = int(random_() * (len(times) // 2))
                at = times[2 * turn + 1] + int(rng.expovariate(1 / 30_000)) * 1000
            else:
                turn = 0
                span = times[-1] - times[0] + 120_000_000
                at = times[0] + int(random_() * span // 1000) * 1000
            rows.append(
                (
                    min(at, last),
                    kind,
                    index,
                    turn,
                    conversation.user,
                    page,
                    conversation.integration,
                )
            )
        return rows
