"""Segments and scan contexts cross the pipe to and from the inspection workers pickled as their fields
in order (gateway/content.py `pickled_by_fields`): what is loaded equals what was dumped, field for
field, at every protocol, for any values; the state dataclasses would pickle (the form before) loads
into the same object; a dataclass subclass pickles its own fields."""

from __future__ import annotations

import copy
import dataclasses
import pickle

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.content import Extraction, Segment, pickled_by_fields
from gateway.scan.model import ScanContext

_text = st.text(max_size=30)
_texts = st.lists(_text, max_size=4).map(tuple)
_ints = st.lists(st.integers(0, 10**6), max_size=4).map(tuple)

segments = st.builds(
    Segment,
    text=_text,
    kind=st.sampled_from(["body", "subject", "table", "header", "attachment"]),
    part=_text,
    content_type=_text,
    attachment=_text,
    path=_texts,
    sheet=_text,
    field=_text,
    header=_texts,
    row_offsets=_ints,
    first_row=st.integers(0, 10**6),
    quoted=st.booleans(),
    charset=_text,
    source=_text,
    breaks=st.lists(st.tuples(st.integers(0, 99), st.integers(0, 99)), max_size=3).map(tuple),
)
contexts = st.builds(
    ScanContext,
    sender=_text,
    recipients=_texts,
    internal_domains=_texts,
    own_phone_numbers=_texts,
    own_addresses=_texts,
)


def _same(a: object, b: object) -> None:
    assert type(a) is type(b)
    assert a == b
    for f in dataclasses.fields(a):  # type: ignore[arg-type]
        assert getattr(a, f.name) == getattr(b, f.name)


def _old_state_loads(obj: object) -> object:
    """What the form before pickled (dataclasses' slot state), loaded into the class as it is now."""
    cls = type(obj)
    state = [getattr(obj, f.name) for f in dataclasses.fields(obj)]  # type: ignore[arg-type]
    new = object.__new__(cls)
    for f, value in zip(dataclasses.fields(cls), state, strict=True):
        object.__setattr__(new, f.name, value)
    return new


@settings(max_examples=300, deadline=None)
@given(segments, contexts, st.integers(2, pickle.HIGHEST_PROTOCOL))
def test_round_trip(seg: Segment, ctx: ScanContext, protocol: int) -> None:
    for obj in (seg, ctx):
        _same(pickle.loads(pickle.dumps(obj, protocol=protocol)), obj)
        _same(_old_state_loads(obj), pickle.loads(pickle.dumps(obj, protocol=protocol)))
        _same(copy.deepcopy(obj), obj)
    extraction = Extraction(segments=[seg, seg], stats={"cpu_seconds": 0.5})
    loaded = pickle.loads(pickle.dumps(extraction, protocol=protocol))
    assert loaded == extraction
    assert loaded.segments[0] is loaded.segments[1]  # shared objects stay shared


@pickled_by_fields
@dataclasses.dataclass(frozen=True, slots=True)
class _Base:
    a: int
    b: str = ""


@pickled_by_fields
@dataclasses.dataclass(frozen=True, slots=True)
class _Sub(_Base):
    c: tuple[int, ...] = ()


def test_subclass_pickles_its_own_fields() -> None:
    for obj in (_Base(1, "x"), _Sub(2, "y", (3,))):
        _same(pickle.loads(pickle.dumps(obj)), obj)
