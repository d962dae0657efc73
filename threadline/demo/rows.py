"""Turn a generated Dataset into table rows: tuples in the order of each *_COLUMNS, with JSON
columns encoded once as text (both backends take JSON as text). Texts come from corpus.py;
the JSON of values that repeat (links, user and event properties) is encoded once and reused."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import Any

import msgspec

from threadline.demo.corpus import FOLLOW_UP_THANKS, INTEGRATIONS, TOPICS, Topic
from threadline.demo.generate import (
    EVENT_TYPES,
    SEARCH_CLICKED,
    SEARCH_RESPONSE,
    Dataset,
    message_id,
    new_id,
)
from threadline.demo.scripts import SCRIPTS, TOPIC_INDEX

_json = msgspec.json.Encoder()
WIDGET_VERSION = "0.5.119"
_WIDGET_COMPONENTS = ("EmbeddedChat", "ChatButton", "SidebarChat")

CONVERSATION_COLUMNS = (
    "project_id", "id", "integration_id", "type", "external_id", "external_url", "properties",
    "user_properties", "tags", "user_message_count", "message_count", "first_message_at",
    "created_at", "updated_at",
)  # fmt: skip
MESSAGE_COLUMNS = (
    "project_id", "conversation_id", "id", "position", "role", "content", "links",
    "created_at", "updated_at",
)  # fmt: skip
FEEDBACK_COLUMNS = (
    "project_id", "id", "integration_id", "message_id", "type", "reasons", "details",
    "properties", "user_properties", "created_at", "updated_at",
)  # fmt: skip
EVENT_COLUMNS = (
    "project_id", "id", "integration_id", "entity_type", "type", "message_id", "conversation_id",
    "search_query", "properties", "user_properties", "created_at",
)  # fmt: skip


def is_dark(user: int) -> bool:
    """A user's theme: about a third of users read the docs in dark mode."""
    return user % 3 == 0


def _text(value: Any) -> str:
    return _json.encode(value).decode()


def _links(topic: Topic) -> str:
    """The answer's cited sources, as the widget stores them (reference §3.3 Link)."""
    return _text(
        [
            {
                "label": None,
                "url": page.url,
                "title": page.title,
                "description": None,
                "type": "documentation",
                "breadcrumbs": list(page.breadcrumbs),
            }
            for page in topic.pages
        ]
    )


def _question(topic: Topic, variant: int, turn: int) -> str:
    if turn == 0:
        return topic.questions[variant % len(topic.questions)]
    if turn <= len(topic.follow_ups):
        return topic.follow_ups[(variant + turn - 1) % len(topic.follow_ups)][0]
    return FOLLOW_UP_THANKS[variant % len(FOLLOW_UP_THANKS)]


def _answer(topic: Topic, variant: int, turn: int) -> str:
    if turn == 0:
        return topic.answer
    if turn <= len(topic.follow_ups):
        return topic.follow_ups[(variant + turn - 1) % len(topic.follow_ups)][1]
    return f"You're welcome! Ask me anything else about {topic.name}."


def _cites(topic: Topic, turn: int) -> bool:
    """First answers cite the topic's pages, and so do follow-up answers where the docs cover
    them (an uncited answer reads as a knowledge gap); "you're welcome" cites nothing."""
    return turn == 0 or (topic.documented and turn <= len(topic.follow_ups))


class RowMaker:
    """Rows of one dataset for one project whose integrations' ids are `integration_ids`
    (in the order of corpus.INTEGRATIONS)."""

    def __init__(self, dataset: Dataset, project_id: str, integration_ids: Sequence[str]) -> None:
        self.dataset = dataset
        self.project_id = project_id
        self.integration_ids = list(integration_ids)
        self.user_properties = [
            _text({"identificationType": "COOKIED", "userId": user}) for user in dataset.users
        ]
        self.links = [_links(topic) for topic in TOPICS]
        # Each scripted turn's (question, answer, links), looked up by (script, turn).
        self.scripted = [
            [
                (
                    turn.question,
                    turn.answer,
                    None if turn.cites is None else self.links[TOPIC_INDEX[turn.cites]],
                )
                for turn in script.turns
            ]
            for script in SCRIPTS
        ]
        self._event_properties: dict[tuple[int, int, int], str] = {}

    def conversations(self) -> Iterator[tuple[Any, ...]]:
        for index, c in enumerate(self.dataset.conversations):
            integration = INTEGRATIONS[c.integration]
            topic = TOPICS[c.topic]
            ticket = integration.conversation_type == "support_ticket"
            yield (
                self.project_id,
                c.id,
                self.integration_ids[c.integration],
                integration.conversation_type,
                f"{40_000 + index}" if ticket else None,
                f"https://acme.zendesk.com/agent/tickets/{40_000 + index}" if ticket else None,
                self._properties(c.script, integration.source, topic.name),
                self.user_properties[c.user],
                _text([topic.section.lower()]),
                c.turns,
                len(c.times),
                c.times[0],
                c.times[0],
                c.times[-1],
            )

    def messages(self) -> Iterator[tuple[Any, ...]]:
        for index, c in enumerate(self.dataset.conversations):
            integration = INTEGRATIONS[c.integration]
            topic = TOPICS[c.topic]
            scripted = self.scripted[c.script] if c.script >= 0 else None
            for position, at in enumerate(c.times):
                turn, answered = divmod(position, 2)
                if scripted is not None:
                    question, answer, cited = scripted[turn]
                    content = answer if answered else question
                    links = cited if answered else None
                else:
                    content = (
                        _answer(topic, c.variant, turn)
                        if answered
                        else _question(topic, c.variant, turn)
                    )
                    links = self.links[c.topic] if answered and _cites(topic, turn) else None
                yield (
                    self.project_id,
                    c.id,
                    message_id(index, position, at),
                    position,
                    integration.assistant_role if answered else integration.user_role,
                    content,
                    links,
                    at,
                    at,
                )

    def _properties(self, script: int, source: str, topic: str) -> str:
        properties = {"source": source, "topic": topic}
        if script >= 0:  # what the widget reports as the page's language
            properties["language"] = SCRIPTS[script].language
        return _text(properties)

    def feedback(self) -> Iterator[tuple[Any, ...]]:
        conversations = self.dataset.conversations
        for f in self.dataset.feedback:
            c = conversations[f.conversation]
            position = 2 * f.turn + 1
            reasons = (
                None
                if f.reason is None
                else _text([dict(zip(("label", "details"), f.reason, strict=True))])
            )
            yield (
                self.project_id,
                f.id,
                self.integration_ids[c.integration],
                message_id(f.conversation, position, c.times[position]),
                "positive" if f.positive else "negative",
                reasons,
                f.details,
                _text({"source": INTEGRATIONS[c.integration].source}),
                self.user_properties[c.user],
                f.at,
                f.at,
            )

    def events(self) -> Iterator[tuple[Any, ...]]:
        rng = random.Random(self.dataset.shape.seed + 1)
        conversations = self.dataset.conversations
        for day in self.dataset.events():
            for at, kind, index, detail, user, page, integration in day:
                name, entity, _ = EVENT_TYPES[kind]
                message = conversation_id = query = None
                if entity == "search":
                    query = self.dataset.queries[detail].text
                    properties = self._search_properties(kind, detail, user, page)
                else:
                    c = conversations[index]
                    if entity == "message":
                        position = 2 * detail + 1
                        message = message_id(index, position, c.times[position])
                    else:
                        conversation_id = c.id
                    properties = self._chat_properties(user, page, integration)
                yield (
                    self.project_id,
                    new_id("evt", rng, at),
                    self.integration_ids[integration],
                    entity,
                    name,
                    message,
                    conversation_id,
                    query,
                    properties,
                    self.user_properties[user],
                    at,
                )

    def _base_properties(self, user: int, page: int, integration: int) -> dict[str, Any]:
        source = INTEGRATIONS[integration]
        component = source.component
        if integration == 0:  # the docs widget comes in three forms; each user sees one
            component = _WIDGET_COMPONENTS[user % 3]
        return {
            "widgetLibraryVersion": WIDGET_VERSION,
            "componentType": component,
            "theme": "dark" if is_dark(user) else "light",
            "page": self.dataset.pages[page].path,
            "source": source.source,
        }

    def _chat_properties(self, user: int, page: int, integration: int) -> str:
        key = (user % 3, page, integration)  # all the properties depend on, so encoded once
        found = self._event_properties.get(key)
        if found is None:
            found = _text(self._base_properties(user, page, integration))
            self._event_properties[key] = found
        return found

    def _search_properties(self, kind: int, query: int, user: int, page: int) -> str:
        properties = self._base_properties(user, page, 0)
        properties["componentType"] = "SearchBar"
        search = self.dataset.queries[query]
        if kind == SEARCH_RESPONSE:
            # Gaps in the docs find only a page or two, none of them the answer.
            properties["totalResults"] = (
                1 + query % 2 if search.click_rate < 0.1 else 3 + query % 17
            )
        elif kind == SEARCH_CLICKED:
            target = (
                TOPICS[search.topic].pages[0] if search.topic >= 0 else self.dataset.pages[page]
            )
            properties["title"] = target.title
            properties["url"] = target.url
        return _text(properties)
