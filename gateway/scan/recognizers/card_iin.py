"""Payment card brands by their published IIN ranges and lengths (ISO/IEC 7812 issuer identification
numbers as the schemes publish them; the table follows Wikipedia's "Payment card number" list).

Each row: brand, IIN ranges (inclusive, prefixes of equal length), allowed lengths. A number is a
card of a brand when its first digits fall in one of the brand's ranges and its length is allowed;
the Luhn check (python-stdnum) is applied by the recognizer. bench/accuracy.py measures what each
brand costs in false positives on benign numbers (order numbers, JAN codes, tracking numbers).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Brand:
    name: str
    ranges: tuple[tuple[str, str], ...]
    lengths: tuple[int, ...]

    def matches(self, number: str) -> bool:
        if len(number) not in self.lengths:
            return False
        return any(lo <= number[: len(lo)] <= hi for lo, hi in self.ranges)


def _r(*specs: str) -> tuple[tuple[str, str], ...]:
    out = []
    for s in specs:
        lo, _, hi = s.partition("-")
        out.append((lo, hi or lo))
    return tuple(out)


_16_19 = (16, 17, 18, 19)
_12_19 = (12, 13, 14, 15, *_16_19)
BRANDS: tuple[Brand, ...] = (
    Brand("Visa", _r("4"), (13, 16, 19)),
    Brand("Mastercard", _r("51-55", "2221-2720"), (16,)),
    Brand("American Express", _r("34", "37"), (15,)),
    Brand("JCB", _r("3528-3589"), _16_19),
    Brand("JCB (15 digits)", _r("1800", "2131"), (15,)),
    Brand("Diners Club", _r("36", "300-305", "3095", "38-39"), (14, 15, 16, 17, 18, 19)),
    Brand("Discover", _r("6011", "644-649", "65", "622126-622925"), _16_19),
    Brand("China UnionPay", _r("62", "81"), _16_19),
    Brand("Maestro", _r("5018", "5020", "5038", "5893", "6304", "6759", "6761-6763", "676770", "676774"), _12_19),
    Brand("Dankort", _r("5019"), (16,)),
    Brand("UATP", _r("1"), (15,)),
    Brand("Mir", _r("2200-2204"), _16_19),
    Brand("BORICA", _r("2205"), (16,)),
    Brand("RuPay", _r("60", "65", "81", "82", "508", "353", "356"), (16,)),
    Brand("Troy", _r("65", "9792"), (16,)),
    Brand("Verve", _r("506099-506198", "650002-650027", "507865-507964"), (16, 18, 19)),
    Brand("InterPayment", _r("636"), _16_19),
    Brand("InstaPayment", _r("637-639"), (16,)),
    Brand("UkrCard", _r("60400100-60420099"), _16_19),
    Brand("China T-Union", _r("31"), (19,)),
    Brand("LankaPay", _r("357111"), (16,)),
    Brand("UzCard", _r("8600"), (16,)),
    Brand("Humo", _r("9860"), (16,)),
    Brand("GPN", _r("1946", "50", "56", "58", "60-63"), (16, 18, 19)),
    Brand("Napas", _r("9704"), (16, 19)),
    # Maestro's wider original ranges, still printed on cards and used by generators such as Faker;
    # last, so that the narrower ranges inside them (Dankort 5019, Maestro 6759 ...) name the brand
    Brand("Maestro (50, 56-69)", _r("50", "56-69"), _12_19),
)


def brand_of(number: str) -> str | None:
    """The first brand whose IIN range and length fit `number` (digits only), or None."""
    return next((b.name for b in BRANDS if b.matches(number)), None)
