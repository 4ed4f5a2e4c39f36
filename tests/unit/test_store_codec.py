"""The stored form of a QueuedMessage gives back exactly what was stored."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.message import Envelope, QueuedMessage
from gateway.store import codec

# Addresses may carry surrogate escapes (SMTPUTF8 bytes decoded with surrogateescape).
text = st.text(st.characters(codec=None, exclude_categories=["Cs"]) | st.sampled_from(["\udcff", "\udc80"]))
finite = st.floats(allow_nan=False, allow_infinity=False)

messages = st.builds(
    QueuedMessage,
    id=st.text(min_size=1),
    envelope=st.builds(
        Envelope,
        mail_from=text,
        rcpt_tos=st.lists(text).map(tuple),
        client_address=text,
        helo=text,
    ),
    received_at=finite,
    attempts=st.integers(min_value=0, max_value=10**6),
    pending=st.lists(text).map(tuple),
    delivered=st.lists(text).map(tuple),
    failed=st.dictionaries(text, text),
    deferred_reason=text,
    is_notice=st.booleans(),
    shunt_reason=text,
    lesson=text,  # what the contact book learns on delivery (JSON from gateway/recipients/contacts.py)
)


@given(messages)
def test_round_trip(message: QueuedMessage) -> None:
    encoded = codec.encode(message)
    assert encoded.isascii()
    assert codec.decode(encoded) == message
    assert codec.decode(encoded.encode()) == message


def test_a_message_stored_before_lessons_existed_reads_with_none() -> None:
    message = QueuedMessage("m1", Envelope("a@example.co.jp", ("b@example.com",)), 1.0)
    assert '"lesson"' not in codec.encode(message)
    message.lesson = '{"v":1}'
    assert codec.decode(codec.encode(message)).lesson == '{"v":1}'
