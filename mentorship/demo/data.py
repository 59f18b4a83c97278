"""Demo data for the statewide mentor–pilot library-card program, read from `data.json`.

Real California public library jurisdictions and the K-12 school districts they partner
with. Counties, cooperative library systems, governance types and websites are public
facts; service populations, enrolments and ILS names are approximate and are here for
demo use only. District codes are the seven-digit CDS county-district codes published by
the California Department of Education, written "CC-DDDDD". No student data of any kind.

- `year1_libraries`: Year 1, Northern California (Pacific Library Partnership and
  NorthNet). Pilots first; the first pilot belongs to the demo user pilot@demo.test and
  the first mentor is theirs.
- `year2_libraries`: Year 2, statewide. Salinas and Yolo return from Year 1 as mentors.
- `school_districts`: the K-12 partners of every pilot library (a library may partner
  with several districts; `library` names it), then districts that are not yet anyone's
  partner (no `library`: a pilot may add them next), then the mentor libraries' own
  partnerships, running for years, with figures.
- The demo's words: commitment-letter signers, check-in notes and action items (with
  the side that owns each), a published case study, a draft one and a mentor's comment.
"""

from __future__ import annotations

import json
from importlib.resources import files

from ..models import CardModel, DistrictSize

_DATA = json.loads(files(__package__).joinpath("data.json").read_text(encoding="utf-8"))

YEAR1_LIBRARIES: list[dict] = _DATA["year1_libraries"]
YEAR2_LIBRARIES: list[dict] = _DATA["year2_libraries"]
SCHOOL_DISTRICTS: list[dict] = _DATA["school_districts"]
SIGNER_NAMES: list[str] = _DATA["signer_names"]
ACTION_TEXTS: tuple[tuple[str, str], ...] = tuple(tuple(pair) for pair in _DATA["action_texts"])
CHECK_IN_NOTES: tuple[str, ...] = tuple(_DATA["check_in_notes"])
MENTOR_COMMENT: str = _DATA["mentor_comment"]


def _case_study(values: dict) -> dict:
    return {
        **values,
        "card_model": CardModel(values["card_model"]),
        "district_size": DistrictSize(values["district_size"]),
    }


PUBLISHED_CASE_STUDY = _case_study(_DATA["published_case_study"])
DRAFT_CASE_STUDY = _case_study(_DATA["draft_case_study"])
