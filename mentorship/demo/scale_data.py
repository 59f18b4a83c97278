"""Reference figures for the generated statewide and national programs (seed-demo --scale),
read from `scale_data.json`.

County populations (2020 census, in thousands, rounded) weight where generated libraries
and districts go; the cooperative system of each county is the one its public libraries
belong to (approximate for a few small counties). Everything else is a word list for
names that are obviously made up: every generated name ends in "(synthetic)".
"""

from __future__ import annotations

import json
from importlib.resources import files

from .. import demo

_DATA = json.loads(files(__package__).joinpath("scale_data.json").read_text(encoding="utf-8"))


def _pairs(rows: list[list]) -> tuple[tuple, ...]:
    return tuple(tuple(row) for row in rows)


COUNTY_POPULATION_THOUSANDS: dict[str, int] = _DATA["county_population_thousands"]
SYSTEM_OF_COUNTY = {
    county: system for system, counties in _DATA["system_counties"].items() for county in counties
}
PLACE_FIRST = tuple(_DATA["place_first"])
PLACE_SECOND = tuple(_DATA["place_second"])
DISTRICT_KINDS_SMALL = tuple(_DATA["district_kinds_small"])
DISTRICT_KINDS_LARGE = tuple(_DATA["district_kinds_large"])
ILS_NAMES = _pairs(_DATA["ils_names"])  # (name, weight)
GOVERNANCE_WEIGHTS = _pairs(_DATA["governance_weights"])  # (governance, weight)
CONTACT_TITLES = tuple(_DATA["contact_titles"])
MILESTONE_COMMENTS = tuple(_DATA["milestone_comments"])
CASE_STUDY_COMMENTS = tuple(_DATA["case_study_comments"])
CASE_STUDY_BODY: str = _DATA["case_study_body"]
CHECK_IN_NOTES = tuple(_DATA["check_in_notes"])
ACTION_TEXTS = demo.ACTION_TEXTS  # the demo's own, for the generated check-ins
