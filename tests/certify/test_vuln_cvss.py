"""CVSS v3.x and v4.0 base scores from vectors with published scores."""

from __future__ import annotations

from pathlib import Path

import pytest

from xtrust.certify.vuln import InvalidCvssVector, cvss_base_score, severity_from_score

V3 = [
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),  # typical reflected XSS
    ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4),
    ("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N", 6.1),
    ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5),
    ("CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", 7.2),
    ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
    ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
    ("CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9),
]

V4 = [
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.3),
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H", 10.0),
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N", 6.9),
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 8.7),
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H", 9.4),
    # Supplemental metrics never change the score.
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:L/SI:L/SA:L/S:P/AU:Y/R:I/V:C/RE:H", 8.7),
    # "X" (not defined) threat/environmental metrics equal their defaults.
    (
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:X/CR:X/IR:X/AR:X"
        "/MAV:X/MAC:X/MAT:X/MPR:X/MUI:X/MVC:X/MVI:X/MVA:X/MSC:X/MSI:X/MSA:X",
        8.7,
    ),
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N", 0.0),
]


def _first_examples() -> list[tuple[str, float]]:
    path = Path(__file__).parent / "data_vuln" / "cvss4_first_examples.txt"
    out = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            vector, score = line.split()
            out.append((vector, float(score)))
    return out


def test_cvss_v4_first_examples() -> None:
    """FIRST's CVSS v4.0 example vectors (base, threat, environmental, supplemental)."""
    examples = _first_examples()
    assert len(examples) >= 40
    wrong = [(v, s, cvss_base_score(v)) for v, s in examples if cvss_base_score(v) != s]
    assert wrong == []


@pytest.mark.parametrize(("vector", "score"), V3)
def test_cvss_v3(vector: str, score: float) -> None:
    assert cvss_base_score(vector) == score


@pytest.mark.parametrize(("vector", "score"), V4)
def test_cvss_v4(vector: str, score: float) -> None:
    assert cvss_base_score(vector) == score


def test_cvss_v4_is_monotonic_in_attack_vector() -> None:
    base = "CVSS:4.0/AV:{}/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
    scores = [cvss_base_score(base.format(av)) for av in "NALP"]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == 9.3 and scores[-1] < scores[0]


def test_cvss_v4_threat_metric_lowers_score() -> None:
    base = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
    assert cvss_base_score(base + "/E:U") < cvss_base_score(base + "/E:P") < 9.3
    assert cvss_base_score(base + "/E:A") == 9.3


def test_every_v4_base_vector_scores_in_range() -> None:
    """A grid of base vectors (2,592) scores in [0, 10] without error."""
    import itertools

    values = {
        "AV": "NALP",
        "AC": "LH",
        "AT": "NP",
        "PR": "NLH",
        "UI": "NPA",
        "VC": "HLN",
        "VI": "HLN",
        "VA": "H",
        "SC": "HN",
        "SI": "HN",
        "SA": "N",
    }
    for combo in itertools.product(*values.values()):
        vector = "CVSS:4.0/" + "/".join(f"{k}:{v}" for k, v in zip(values, combo, strict=True))
        assert 0.0 <= cvss_base_score(vector) <= 10.0


@pytest.mark.parametrize(
    "bad",
    [
        "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
        "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N",
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:S/SA:N",
        "CVSS:4.0/AV:N/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
        "CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P",
        "",
    ],
)
def test_invalid_vectors(bad: str) -> None:
    with pytest.raises(InvalidCvssVector):
        cvss_base_score(bad)


@pytest.mark.parametrize(
    ("score", "word"),
    [(0.0, "none"), (0.1, "low"), (3.9, "low"), (4.0, "medium"), (6.9, "medium"),
     (7.0, "high"), (8.9, "high"), (9.0, "critical"), (10.0, "critical")],
)  # fmt: skip
def test_severity_from_score(score: float, word: str) -> None:
    assert severity_from_score(score) == word
