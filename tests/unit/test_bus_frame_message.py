"""An actor in the kernel gets the message its emitter built (``BusFrame.message``), not a
copy decoded from the payload: for every message type the kernel can emit, the two are
equal, and the one difference is the type of a number the code wrote as an int in a
float field (docs/architecture.md, "The message itself, not a decoded copy")."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest

from bus.codec import encode
from bus.protocol import Message
from kernel.messages import decode_message, message_types


def _number(t: mi.IntType | mi.FloatType) -> float:
    """1, or the nearest value the field's bounds allow."""
    value: float = 1
    if t.ge is not None and value < t.ge:
        value = t.ge
    if t.gt is not None and value <= t.gt:
        value = t.gt + 1
    if t.le is not None and value > t.le:
        value = t.le
    if t.lt is not None and value >= t.lt:
        value = (t.lt + (t.gt if t.gt is not None else t.lt - 2)) / 2
    return value


def sample(t: mi.Type, *, as_built: bool) -> Any:
    """A valid value of ``t``. ``as_built``: a whole number in a float field is written
    as an int, as code may (``qty=1``: mypy allows it, and a Struct does not convert)."""
    match t:
        case mi.Metadata():
            return sample(t.type, as_built=as_built)
        case mi.IntType():
            return int(_number(t))
        case mi.FloatType():
            value = _number(t)
            return int(value) if as_built and value == int(value) else float(value)
        case mi.StrType():
            return "x" * max(1, t.min_length or 0)
        case mi.BoolType():
            return True
        case mi.NoneType():
            return None
        case mi.LiteralType():
            return t.values[0]
        case mi.DecimalType():
            return Decimal("1.5")
        case mi.UnionType():
            kinds = [k for k in t.types if not isinstance(k, mi.NoneType)] or list(t.types)
            return sample(kinds[0], as_built=as_built)
        case mi.ListType():
            return [sample(t.item_type, as_built=as_built)]
        case mi.VarTupleType():
            return (sample(t.item_type, as_built=as_built),)
        case mi.FrozenSetType():
            return frozenset((sample(t.item_type, as_built=as_built),))
        case mi.DictType():
            return {sample(t.key_type, as_built=as_built): sample(t.value_type,
                                                                   as_built=as_built)}
        case mi.StructType():
            return t.cls(**{f.name: sample(f.type, as_built=as_built) for f in t.fields})
    raise AssertionError(f"no sample for {t!r}: teach sample() this type")


def _kinds(built: Any, decoded: Any, where: str) -> set[tuple[str, str, str]]:
    """(where, built type, decoded type) of each value whose type differs."""
    if isinstance(built, msgspec.Struct):
        found: set[tuple[str, str, str]] = set()
        for name in built.__struct_fields__:
            found |= _kinds(getattr(built, name), getattr(decoded, name), f"{where}.{name}")
        return found
    if isinstance(built, list | tuple):
        return set().union(*(_kinds(b, d, f"{where}[]") for b, d in zip(built, decoded,
                                                                         strict=True)))
    if isinstance(built, dict):
        return set().union(*(_kinds(built[k], decoded[k], f"{where}{{}}") for k in built))
    if type(built) is not type(decoded):
        return {(where, type(built).__name__, type(decoded).__name__)}
    return set()


@pytest.mark.parametrize("cls", message_types(), ids=lambda c: c.__struct_config__.tag)
def test_the_message_as_built_equals_its_decoded_copy(cls: type[Message]) -> None:
    for as_built in (False, True):
        built = sample(mi.type_info(cls), as_built=as_built)
        decoded = decode_message(encode(built))
        assert decoded == built
        assert type(decoded) is cls
        differs = _kinds(built, decoded, cls.__name__)
        assert {(b, d) for _, b, d in differs} <= {("int", "float")}, differs
        if not as_built:
            assert differs == set()


def test_a_whole_number_written_as_an_int_is_a_float_only_once_decoded() -> None:
    """The one difference an actor can see: equal values, another type (and repr)."""
    from bus.protocol import Fill

    built = Fill(request_id="r", symbol="BTCUSDT", side="buy", qty=1, price=50_000, ts=1.0)
    decoded = decode_message(encode(built))
    assert decoded == built and hash(decoded) == hash(built)
    assert isinstance(decoded, Fill)
    assert (type(built.qty), type(decoded.qty)) == (int, float)
