"""CVSS base scores computed from vector strings: v3.0, v3.1 and v4.0.

v3.x follows the equations of the FIRST CVSS v3.1 specification section 7 (v3.0 differs only
in its Roundup function). v4.0 follows the FIRST CVSS v4.0 specification section 8: the
vector is reduced to a MacroVector (EQ1..EQ6), its score is looked up in the table of 270
expert-ranked MacroVector scores, and the final score is interpolated towards the next lower
MacroVectors by the vector's severity distance from the highest-severity vector of its
MacroVector. For v4.0, threat (E) and environmental (CR/IR/AR, M*) metrics present in the
vector are honoured, as the specification's calculator does (giving CVSS-BT/BE/BTE); a
vector with only base metrics gives CVSS-B.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from itertools import product

from xtrust.errors import InputError

__all__ = ["InvalidCvssVector", "cvss_base_score", "severity_from_score"]


class InvalidCvssVector(InputError):
    """A CVSS vector string is malformed or incomplete."""


def severity_from_score(score: float) -> str:
    """Qualitative rating (CVSS v3.1 / v4.0 table): none, low, medium, high, critical."""
    if score == 0.0:
        return "none"
    if score < 4.0:
        return "low"
    if score < 7.0:
        return "medium"
    if score < 9.0:
        return "high"
    return "critical"


def _parse(vector: str, prefix: str, allowed: dict[str, set[str]]) -> dict[str, str]:
    parts = vector.strip().split("/")
    if not parts or parts[0] != prefix:
        raise InvalidCvssVector(f"CVSS vector {vector!r} does not start with {prefix!r}")
    metrics: dict[str, str] = {}
    for part in parts[1:]:
        name, sep, value = part.partition(":")
        if not sep:
            raise InvalidCvssVector(f"CVSS vector {vector!r}: malformed metric {part!r}")
        if name in metrics:
            raise InvalidCvssVector(f"CVSS vector {vector!r}: metric {name} repeated")
        if name in allowed and value not in allowed[name]:
            raise InvalidCvssVector(f"CVSS vector {vector!r}: invalid value {value!r} for {name}")
        metrics[name] = value
    return metrics


# --------------------------------------------------------------------------- v3.x

_V3_ALLOWED = {
    "AV": {"N", "A", "L", "P"},
    "AC": {"L", "H"},
    "PR": {"N", "L", "H"},
    "UI": {"N", "R"},
    "S": {"U", "C"},
    "C": {"H", "L", "N"},
    "I": {"H", "L", "N"},
    "A": {"H", "L", "N"},
}
_V3_AV = {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2}
_V3_AC = {"L": 0.77, "H": 0.44}
_V3_PR_U = {"N": 0.85, "L": 0.62, "H": 0.27}
_V3_PR_C = {"N": 0.85, "L": 0.68, "H": 0.5}
_V3_UI = {"N": 0.85, "R": 0.62}
_V3_CIA = {"H": 0.56, "L": 0.22, "N": 0.0}


def _roundup_31(x: float) -> float:
    """CVSS v3.1 Roundup (Appendix A): smallest one-decimal number >= x, float-safe."""
    i = round(x * 100000)
    if i % 10000 == 0:
        return i / 100000.0
    return (math.floor(i / 10000) + 1) / 10.0


def _roundup_30(x: float) -> float:
    return math.ceil(x * 10) / 10.0


def _v3_score(vector: str) -> float:
    prefix = vector.split("/", 1)[0]
    if prefix not in ("CVSS:3.0", "CVSS:3.1"):
        raise InvalidCvssVector(f"unsupported CVSS version in {vector!r}")
    m = _parse(vector, prefix, _V3_ALLOWED)
    missing = [k for k in _V3_ALLOWED if k not in m]
    if missing:
        raise InvalidCvssVector(f"CVSS vector {vector!r} lacks base metrics {', '.join(missing)}")
    roundup = _roundup_31 if prefix == "CVSS:3.1" else _roundup_30
    changed = m["S"] == "C"
    iss = 1 - (1 - _V3_CIA[m["C"]]) * (1 - _V3_CIA[m["I"]]) * (1 - _V3_CIA[m["A"]])
    # Impact sub-score: scope changed uses the steeper curve of the specification.
    impact = 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15 if changed else 6.42 * iss
    pr = (_V3_PR_C if changed else _V3_PR_U)[m["PR"]]
    exploitability = 8.22 * _V3_AV[m["AV"]] * _V3_AC[m["AC"]] * pr * _V3_UI[m["UI"]]
    if impact <= 0:
        return 0.0
    if changed:
        return roundup(min(1.08 * (impact + exploitability), 10.0))
    return roundup(min(impact + exploitability, 10.0))


# --------------------------------------------------------------------------- v4.0

_V4_BASE = ("AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA")
_V4_ALLOWED: dict[str, set[str]] = {
    "AV": {"N", "A", "L", "P"},
    "AC": {"L", "H"},
    "AT": {"N", "P"},
    "PR": {"N", "L", "H"},
    "UI": {"N", "P", "A"},
    "VC": {"H", "L", "N"},
    "VI": {"H", "L", "N"},
    "VA": {"H", "L", "N"},
    "SC": {"H", "L", "N"},
    "SI": {"H", "L", "N"},
    "SA": {"H", "L", "N"},
    "E": {"X", "A", "P", "U"},
    "CR": {"X", "H", "M", "L"},
    "IR": {"X", "H", "M", "L"},
    "AR": {"X", "H", "M", "L"},
    "MAV": {"X", "N", "A", "L", "P"},
    "MAC": {"X", "L", "H"},
    "MAT": {"X", "N", "P"},
    "MPR": {"X", "N", "L", "H"},
    "MUI": {"X", "N", "P", "A"},
    "MVC": {"X", "H", "L", "N"},
    "MVI": {"X", "H", "L", "N"},
    "MVA": {"X", "H", "L", "N"},
    "MSC": {"X", "H", "L", "N"},
    "MSI": {"X", "S", "H", "L", "N"},
    "MSA": {"X", "S", "H", "L", "N"},
    # Supplemental metrics: parsed and validated, never part of the score.
    "S": {"X", "N", "P"},
    "AU": {"X", "N", "Y"},
    "R": {"X", "A", "U", "I"},
    "V": {"X", "D", "C"},
    "RE": {"X", "L", "M", "H"},
    "U": {"X", "Clear", "Green", "Amber", "Red"},
}

# MacroVector "EQ1 EQ2 EQ3 EQ4 EQ5 EQ6" -> score: the FIRST CVSS v4.0 lookup table.
_V4_LOOKUP: dict[str, float] = {
    "000000": 10, "000001": 9.9, "000010": 9.8, "000011": 9.5, "000020": 9.5, "000021": 9.2,
    "000100": 10, "000101": 9.6, "000110": 9.3, "000111": 8.7, "000120": 9.1, "000121": 8.1,
    "000200": 9.3, "000201": 9, "000210": 8.9, "000211": 8, "000220": 8.1, "000221": 6.8,
    "001000": 9.8, "001001": 9.5, "001010": 9.5, "001011": 9.2, "001020": 9, "001021": 8.4,
    "001100": 9.3, "001101": 9.2, "001110": 8.9, "001111": 8.1, "001120": 8.1, "001121": 6.5,
    "001200": 8.8, "001201": 8, "001210": 7.8, "001211": 7, "001220": 6.9, "001221": 4.8,
    "002001": 9.2, "002011": 8.2, "002021": 7.2, "002101": 7.9, "002111": 6.9, "002121": 5,
    "002201": 6.9, "002211": 5.5, "002221": 2.7,
    "010000": 9.9, "010001": 9.7, "010010": 9.5, "010011": 9.2, "010020": 9.2, "010021": 8.5,
    "010100": 9.5, "010101": 9.1, "010110": 9, "010111": 8.3, "010120": 8.4, "010121": 7.1,
    "010200": 9.2, "010201": 8.1, "010210": 8.2, "010211": 7.1, "010220": 7.2, "010221": 5.3,
    "011000": 9.5, "011001": 9.3, "011010": 9.2, "011011": 8.5, "011020": 8.5, "011021": 7.3,
    "011100": 9.2, "011101": 8.2, "011110": 8, "011111": 7.2, "011120": 7, "011121": 5.9,
    "011200": 8.4, "011201": 7, "011210": 7.1, "011211": 5.2, "011220": 5, "011221": 3,
    "012001": 8.6, "012011": 7.5, "012021": 5.2, "012101": 7.1, "012111": 5.2, "012121": 2.9,
    "012201": 6.3, "012211": 2.9, "012221": 1.7,
    "100000": 9.8, "100001": 9.5, "100010": 9.4, "100011": 8.7, "100020": 9.1, "100021": 8.1,
    "100100": 9.4, "100101": 8.9, "100110": 8.6, "100111": 7.4, "100120": 7.7, "100121": 6.4,
    "100200": 8.7, "100201": 7.5, "100210": 7.4, "100211": 6.3, "100220": 6.3, "100221": 4.9,
    "101000": 9.4, "101001": 8.9, "101010": 8.8, "101011": 7.7, "101020": 7.6, "101021": 6.7,
    "101100": 8.6, "101101": 7.6, "101110": 7.4, "101111": 5.8, "101120": 5.9, "101121": 5,
    "101200": 7.2, "101201": 5.7, "101210": 5.7, "101211": 5.2, "101220": 5.2, "101221": 2.5,
    "102001": 8.3, "102011": 7, "102021": 5.4, "102101": 6.5, "102111": 5.8, "102121": 2.6,
    "102201": 5.3, "102211": 2.1, "102221": 1.3,
    "110000": 9.5, "110001": 9, "110010": 8.8, "110011": 7.6, "110020": 7.6, "110021": 7,
    "110100": 9, "110101": 7.7, "110110": 7.5, "110111": 6.2, "110120": 6.1, "110121": 5.3,
    "110200": 7.7, "110201": 6.6, "110210": 6.8, "110211": 5.9, "110220": 5.2, "110221": 3,
    "111000": 8.9, "111001": 7.8, "111010": 7.6, "111011": 6.7, "111020": 6.2, "111021": 5.8,
    "111100": 7.4, "111101": 5.9, "111110": 5.7, "111111": 5.7, "111120": 4.7, "111121": 2.3,
    "111200": 6.1, "111201": 5.2, "111210": 5.7, "111211": 2.9, "111220": 2.4, "111221": 1.6,
    "112001": 7.1, "112011": 5.9, "112021": 3, "112101": 5.8, "112111": 2.6, "112121": 1.5,
    "112201": 2.3, "112211": 1.3, "112221": 0.6,
    "200000": 9.3, "200001": 8.7, "200010": 8.6, "200011": 7.2, "200020": 7.5, "200021": 5.8,
    "200100": 8.6, "200101": 7.4, "200110": 7.4, "200111": 6.1, "200120": 5.6, "200121": 3.4,
    "200200": 7, "200201": 5.4, "200210": 5.2, "200211": 4, "200220": 4, "200221": 2.2,
    "201000": 8.5, "201001": 7.5, "201010": 7.4, "201011": 5.5, "201020": 6.2, "201021": 5.1,
    "201100": 7.2, "201101": 5.7, "201110": 5.5, "201111": 4.1, "201120": 4.6, "201121": 1.9,
    "201200": 5.3, "201201": 3.6, "201210": 3.4, "201211": 1.9, "201220": 1.9, "201221": 0.8,
    "202001": 6.4, "202011": 5.1, "202021": 2, "202101": 4.7, "202111": 2.1, "202121": 1.1,
    "202201": 2.4, "202211": 0.9, "202221": 0.4,
    "210000": 8.8, "210001": 7.5, "210010": 7.3, "210011": 5.3, "210020": 6, "210021": 5,
    "210100": 7.3, "210101": 5.5, "210110": 5.9, "210111": 4, "210120": 4.1, "210121": 2,
    "210200": 5.4, "210201": 4.3, "210210": 4.5, "210211": 2.2, "210220": 2, "210221": 1.1,
    "211000": 7.5, "211001": 5.5, "211010": 5.8, "211011": 4.5, "211020": 4, "211021": 2.1,
    "211100": 6.1, "211101": 5.1, "211110": 4.8, "211111": 1.8, "211120": 2, "211121": 0.9,
    "211200": 4.6, "211201": 1.8, "211210": 1.7, "211211": 0.7, "211220": 0.8, "211221": 0.2,
    "212001": 5.3, "212011": 2.4, "212021": 1.4, "212101": 2.4, "212111": 1.2, "212121": 0.5,
    "212201": 1, "212211": 0.3, "212221": 0.1,
}  # fmt: skip

# Highest-severity vectors of each EQ level (spec section 8.2), as metric dicts.
_EQ1_MAX = {
    0: ["AV:N/PR:N/UI:N"],
    1: ["AV:A/PR:N/UI:N", "AV:N/PR:L/UI:N", "AV:N/PR:N/UI:P"],
    2: ["AV:P/PR:N/UI:N", "AV:A/PR:L/UI:P"],
}
_EQ2_MAX = {0: ["AC:L/AT:N"], 1: ["AC:H/AT:N", "AC:L/AT:P"]}
_EQ3EQ6_MAX = {
    (0, 0): ["VC:H/VI:H/VA:H/CR:H/IR:H/AR:H"],
    (0, 1): ["VC:H/VI:H/VA:L/CR:M/IR:M/AR:H", "VC:H/VI:H/VA:H/CR:M/IR:M/AR:M"],
    (1, 0): ["VC:L/VI:H/VA:H/CR:H/IR:H/AR:H", "VC:H/VI:L/VA:H/CR:H/IR:H/AR:H"],
    (1, 1): [
        "VC:L/VI:H/VA:L/CR:H/IR:M/AR:H",
        "VC:L/VI:H/VA:H/CR:H/IR:M/AR:M",
        "VC:H/VI:L/VA:H/CR:M/IR:H/AR:M",
        "VC:H/VI:L/VA:L/CR:M/IR:H/AR:H",
        "VC:L/VI:L/VA:H/CR:H/IR:H/AR:M",
    ],
    (2, 1): ["VC:L/VI:L/VA:L/CR:H/IR:H/AR:H"],
}
_EQ4_MAX = {0: ["SC:H/SI:S/SA:S"], 1: ["SC:H/SI:H/SA:H"], 2: ["SC:L/SI:L/SA:L"]}
# Maximal severity depth of each EQ level, in steps of 0.1 (spec section 8.2).
_EQ1_DEPTH = {0: 1, 1: 4, 2: 5}
_EQ2_DEPTH = {0: 1, 1: 2}
_EQ3EQ6_DEPTH = {(0, 0): 7, (0, 1): 6, (1, 0): 8, (1, 1): 8, (2, 1): 10}
_EQ4_DEPTH = {0: 6, 1: 5, 2: 4}

# Severity level of each metric value (lower = more severe), for distances.
_LEVEL: dict[str, dict[str, float]] = {
    "AV": {"N": 0.0, "A": 0.1, "L": 0.2, "P": 0.3},
    "PR": {"N": 0.0, "L": 0.1, "H": 0.2},
    "UI": {"N": 0.0, "P": 0.1, "A": 0.2},
    "AC": {"L": 0.0, "H": 0.1},
    "AT": {"N": 0.0, "P": 0.1},
    "VC": {"H": 0.0, "L": 0.1, "N": 0.2},
    "VI": {"H": 0.0, "L": 0.1, "N": 0.2},
    "VA": {"H": 0.0, "L": 0.1, "N": 0.2},
    "SC": {"H": 0.1, "L": 0.2, "N": 0.3},
    "SI": {"S": 0.0, "H": 0.1, "L": 0.2, "N": 0.3},
    "SA": {"S": 0.0, "H": 0.1, "L": 0.2, "N": 0.3},
    "CR": {"H": 0.0, "M": 0.1, "L": 0.2},
    "IR": {"H": 0.0, "M": 0.1, "L": 0.2},
    "AR": {"H": 0.0, "M": 0.1, "L": 0.2},
}


def _split(s: str) -> dict[str, str]:
    return dict(p.split(":") for p in s.split("/"))


def _effective(m: dict[str, str], name: str) -> str:
    """The value used for scoring: a modified metric overrides its base; defaults for X."""
    if name == "E":
        v = m.get("E", "X")
        return "A" if v == "X" else v
    if name in ("CR", "IR", "AR"):
        v = m.get(name, "X")
        return "H" if v == "X" else v
    modified = m.get("M" + name, "X")
    if modified != "X":
        return modified
    return m[name]


def _macrovector(v: dict[str, str]) -> tuple[int, int, int, int, int, int]:
    av, pr, ui = v["AV"], v["PR"], v["UI"]
    if av == "N" and pr == "N" and ui == "N":
        eq1 = 0
    elif (av == "N" or pr == "N" or ui == "N") and av != "P":
        eq1 = 1
    else:
        eq1 = 2
    eq2 = 0 if v["AC"] == "L" and v["AT"] == "N" else 1
    vc, vi, va = v["VC"], v["VI"], v["VA"]
    if vc == "H" and vi == "H":
        eq3 = 0
    elif vc == "H" or vi == "H" or va == "H":
        eq3 = 1
    else:
        eq3 = 2
    if v["SI"] == "S" or v["SA"] == "S":
        eq4 = 0
    elif v["SC"] == "H" or v["SI"] == "H" or v["SA"] == "H":
        eq4 = 1
    else:
        eq4 = 2
    eq5 = {"A": 0, "P": 1, "U": 2}[v["E"]]
    eq6 = (
        0
        if (v["CR"] == "H" and vc == "H")
        or (v["IR"] == "H" and vi == "H")
        or (v["AR"] == "H" and va == "H")
        else 1
    )
    return eq1, eq2, eq3, eq4, eq5, eq6


def _lookup(eqs: tuple[int, ...]) -> float | None:
    return _V4_LOOKUP.get("".join(str(e) for e in eqs))


def _round1(x: float) -> float:
    # Half-up to one decimal, with the spec calculator's 1e-6 tolerance for float noise.
    return float(Decimal(repr(x + 1e-6)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _v4_score(vector: str) -> float:
    m = _parse(vector, "CVSS:4.0", _V4_ALLOWED)
    missing = [k for k in _V4_BASE if k not in m]
    if missing:
        raise InvalidCvssVector(f"CVSS vector {vector!r} lacks base metrics {', '.join(missing)}")
    for name in m:
        if name not in _V4_ALLOWED:
            raise InvalidCvssVector(f"CVSS vector {vector!r}: unknown metric {name}")
    v = {name: _effective(m, name) for name in (*_V4_BASE, "E", "CR", "IR", "AR")}
    if all(v[k] == "N" for k in ("VC", "VI", "VA", "SC", "SI", "SA")):
        return 0.0

    eq1, eq2, eq3, eq4, eq5, eq6 = mv = _macrovector(v)
    value = _lookup(mv)
    if value is None:  # pragma: no cover - every reachable MacroVector is in the table
        raise InvalidCvssVector(f"CVSS vector {vector!r}: MacroVector not in the table")

    # Scores of the next lower MacroVector along each EQ (None where none exists).
    lower_eq1 = _lookup((eq1 + 1, eq2, eq3, eq4, eq5, eq6))
    lower_eq2 = _lookup((eq1, eq2 + 1, eq3, eq4, eq5, eq6))
    if eq3 == 0 and eq6 == 0:
        left = _lookup((eq1, eq2, eq3, eq4, eq5, eq6 + 1))
        right = _lookup((eq1, eq2, eq3 + 1, eq4, eq5, eq6))
        cands = [s for s in (left, right) if s is not None]
        lower_eq3eq6 = max(cands) if cands else None
    elif eq3 == 1 and eq6 == 0:
        lower_eq3eq6 = _lookup((eq1, eq2, eq3, eq4, eq5, eq6 + 1))
    else:  # (0, 1), (1, 1), (2, 1)
        lower_eq3eq6 = _lookup((eq1, eq2, eq3 + 1, eq4, eq5, eq6))
    lower_eq4 = _lookup((eq1, eq2, eq3, eq4 + 1, eq5, eq6))
    lower_eq5 = _lookup((eq1, eq2, eq3, eq4, eq5 + 1, eq6))

    # The first highest-severity vector of the MacroVector that the vector does not exceed.
    distances: dict[str, float] | None = None
    for parts in product(_EQ1_MAX[eq1], _EQ2_MAX[eq2], _EQ3EQ6_MAX[(eq3, eq6)], _EQ4_MAX[eq4]):
        top = _split("/".join(parts))
        d = {k: _LEVEL[k][v[k]] - _LEVEL[k][top[k]] for k in _LEVEL}
        if all(x >= 0 for x in d.values()):
            distances = d
            break
    if distances is None:  # pragma: no cover - the spec guarantees one exists
        raise InvalidCvssVector(f"CVSS vector {vector!r}: no maximal vector found")

    dist_eq1 = distances["AV"] + distances["PR"] + distances["UI"]
    dist_eq2 = distances["AC"] + distances["AT"]
    dist_eq3eq6 = sum(distances[k] for k in ("VC", "VI", "VA", "CR", "IR", "AR"))
    dist_eq4 = distances["SC"] + distances["SI"] + distances["SA"]

    step = 0.1
    normalized: list[float] = []
    for lower, dist, depth in (
        (lower_eq1, dist_eq1, _EQ1_DEPTH[eq1]),
        (lower_eq2, dist_eq2, _EQ2_DEPTH[eq2]),
        (lower_eq3eq6, dist_eq3eq6, _EQ3EQ6_DEPTH[(eq3, eq6)]),
        (lower_eq4, dist_eq4, _EQ4_DEPTH[eq4]),
        (lower_eq5, 0.0, 1),  # EQ5 has no distance inside its MacroVector
    ):
        if lower is None:
            continue
        available = value - lower
        normalized.append(available * (dist / (depth * step)))
    mean = sum(normalized) / len(normalized) if normalized else 0.0
    return _round1(min(max(value - mean, 0.0), 10.0))


def cvss_base_score(vector: str) -> float:
    """The score of a CVSS v3.0, v3.1 or v4.0 vector string.

    Raises :class:`InvalidCvssVector` (an :class:`~xtrust.errors.InputError`) for a
    malformed vector or an unsupported CVSS version.
    """
    if not isinstance(vector, str):
        raise InvalidCvssVector("CVSS vector must be a string")
    v = vector.strip()
    if v.startswith("CVSS:4.0/"):
        return _v4_score(v)
    if v.startswith(("CVSS:3.0/", "CVSS:3.1/")):
        return _v3_score(v)
    raise InvalidCvssVector(f"unsupported CVSS vector {vector!r} (need CVSS:3.0, 3.1 or 4.0)")
