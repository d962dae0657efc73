"""wire.decode: the fast path decodes; a refused body names every violation, with its path."""

from __future__ import annotations

import msgspec
import pytest

from threadline.errors import BadRequest
from threadline.wire.conversations import ConversationIn, OpenAIConversationIn
from threadline.wire.decode import decode, violations
from threadline.wire.events import EventIn, SearchEventIn
from threadline.wire.feedback import FeedbackIn


def refused(body: bytes, type_: object) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        decode(body, type_)
    return caught.value


def test_a_valid_body_decodes_into_its_variant() -> None:
    event = decode(
        b'{"type":"q","entityType":"search","searchQuery":"hi","eventName":"x"}', EventIn
    )
    assert isinstance(event, SearchEventIn) and event.searchQuery == "hi"
    conversation = decode(
        b'{"type":"openai","messages":[{"role":"user","content":"x"}]}', ConversationIn
    )
    assert isinstance(conversation, OpenAIConversationIn)


def test_every_violation_is_listed_with_its_path() -> None:
    error = refused(
        b'{"type":"openai","messages":[{"role":"tool","content":1},{"role":"user","content":[{"type":"video"}]}]}',
        ConversationIn,
    )
    assert [(v.field, v.message) for v in error.violations] == [
        ("$.messages[0].content", "must be string or array, got integer"),
        ("$.messages[0].role", "'tool' is not one of assistant, system, user"),
        ("$.messages[1].content[0].type", "'video' is not one of image_url, text"),
    ]
    assert error.detail.startswith("The request body is invalid (3 problems): ")


def test_the_tag_of_a_union_is_checked_first() -> None:
    missing = refused(b'{"type":"x","messageId":"m"}', EventIn)
    assert [v.field for v in missing.violations] == ["$.entityType"]
    assert "conversation, message, search" in missing.violations[0].message
    unknown = refused(b'{"type":"x","entityType":"page"}', EventIn)
    assert "'page' is not allowed" in unknown.violations[0].message


def test_timestamps_need_a_timezone() -> None:
    decode(
        b'{"type":"positive","messageId":"m","createdAt":"2019-08-24T14:15:22+02:00"}', FeedbackIn
    )
    error = refused(
        b'{"type":"positive","messageId":"m","createdAt":"2019-08-24T14:15:22"}', FeedbackIn
    )
    assert [v.field for v in error.violations] == ["$.createdAt"]


def test_known_user_properties_keep_their_types() -> None:
    decode(
        b'{"type":"positive","messageId":"m","userProperties":{"id":42,"plan":{"a":1}}}', FeedbackIn
    )
    error = refused(
        b'{"type":"positive","messageId":"m","userProperties":{"id":true,"userType":1}}', FeedbackIn
    )
    assert [v.field for v in error.violations] == [
        "$.userProperties.id",
        "$.userProperties.userType",
    ]


@pytest.mark.parametrize("body", [b"{", b'{"type": }', b"nul", b"\xff\xfe"])
def test_malformed_json_is_named_as_such(body: bytes) -> None:
    assert "not valid JSON" in refused(body, FeedbackIn).detail


def test_a_wrong_type_before_broken_syntax_is_still_malformed_json() -> None:
    assert "not valid JSON" in refused(b"[1, 2", FeedbackIn).detail


def test_the_schema_and_the_decoder_agree_on_valid_bodies() -> None:
    body = {
        "type": "negative",
        "messageId": "m",
        "reasons": [{"label": "l"}],
        "sources": [{"type": None}],
    }
    assert violations(FeedbackIn, body) == []
    decode(msgspec.json.encode(body), FeedbackIn)
