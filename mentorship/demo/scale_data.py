"""Reference figures for the generated statewide and national programs (seed-demo --scale).

County populations (2020 census, in thousands, rounded) weight where generated libraries
and districts go; the cooperative system of each county is the one its public libraries
belong to (approximate for a few small counties). Everything else here is a word list for
names that are obviously made up: every generated name ends in "(synthetic)".
"""

from __future__ import annotations

from .. import demo

COUNTY_POPULATION_THOUSANDS = {
    "Alameda": 1682, "Alpine": 1, "Amador": 40, "Butte": 212, "Calaveras": 45, "Colusa": 22,
    "Contra Costa": 1166, "Del Norte": 28, "El Dorado": 192, "Fresno": 1008, "Glenn": 29,
    "Humboldt": 136, "Imperial": 180, "Inyo": 19, "Kern": 909, "Kings": 153, "Lake": 68,
    "Lassen": 33, "Los Angeles": 10014, "Madera": 157, "Marin": 262, "Mariposa": 17,
    "Mendocino": 91, "Merced": 281, "Modoc": 9, "Mono": 13, "Monterey": 439, "Napa": 138,
    "Nevada": 103, "Orange": 3186, "Placer": 405, "Plumas": 20, "Riverside": 2418,
    "Sacramento": 1585, "San Benito": 64, "San Bernardino": 2181, "San Diego": 3298,
    "San Francisco": 874, "San Joaquin": 779, "San Luis Obispo": 283, "San Mateo": 764,
    "Santa Barbara": 449, "Santa Clara": 1936, "Santa Cruz": 271, "Shasta": 182, "Sierra": 3,
    "Siskiyou": 44, "Solano": 453, "Sonoma": 489, "Stanislaus": 552, "Sutter": 99,
    "Tehama": 65, "Trinity": 16, "Tulare": 473, "Tuolumne": 55, "Ventura": 843, "Yolo": 217,
    "Yuba": 81,
}  # fmt: skip

_SYSTEM_COUNTIES = {
    "49-99": ("Amador", "Calaveras", "San Joaquin", "Stanislaus", "Tuolumne"),
    "Black Gold": ("San Luis Obispo", "Santa Barbara", "Ventura"),
    "Inland": ("Inyo", "Mono", "Riverside", "San Bernardino"),
    "NorthNet": (
        "Alpine", "Butte", "Colusa", "Del Norte", "El Dorado", "Glenn", "Humboldt", "Lake",
        "Lassen", "Marin", "Mendocino", "Modoc", "Napa", "Nevada", "Placer", "Plumas",
        "Sacramento", "Shasta", "Sierra", "Siskiyou", "Solano", "Sonoma", "Sutter", "Tehama",
        "Trinity", "Yolo", "Yuba",
    ),
    "Pacific Library Partnership": (
        "Alameda", "Contra Costa", "Monterey", "San Benito", "San Francisco", "San Mateo",
        "Santa Clara", "Santa Cruz",
    ),
    "San Joaquin Valley": ("Fresno", "Kern", "Kings", "Madera", "Mariposa", "Merced", "Tulare"),
    "Santiago": ("Orange",),
    "Serra": ("Imperial", "San Diego"),
    "Southern California Library Cooperative": ("Los Angeles",),
}  # fmt: skip
SYSTEM_OF_COUNTY = {county: system for system, cs in _SYSTEM_COUNTIES.items() for county in cs}

PLACE_FIRST = (
    "Alder", "Aspen", "Bay", "Bluff", "Canyon", "Cedar", "Coyote", "Cypress", "Elk", "Fern",
    "Granite", "Harbor", "Hawk", "Juniper", "Laurel", "Live Oak", "Manzanita", "Maple", "Mesa",
    "Mission", "Oak", "Pine", "Poppy", "Quail", "Redrock", "Sage", "Sierra", "Sycamore",
    "Tule", "Willow",
)  # fmt: skip
PLACE_SECOND = (
    "Creek", "Crossing", "Flats", "Grove", "Heights", "Hills", "Landing", "Meadows", "Point",
    "Ridge", "Springs", "Valley", "Vista", "Wells",
)  # fmt: skip
DISTRICT_KINDS_SMALL = ("Elementary", "Union Elementary", "Joint Elementary", "Union High")
DISTRICT_KINDS_LARGE = ("Unified", "Joint Unified", "Unified", "Union High")
ILS_NAMES = (
    ("Polaris", 30), ("Sierra", 20), ("Koha", 12), ("Symphony", 10), ("Horizon", 6),
    ("Evergreen", 6), ("Carl.X", 4), ("Spydus", 4), ("Alma", 3), ("", 5),
)  # fmt: skip
GOVERNANCE_WEIGHTS = (
    ("city", 45), ("county", 30), ("special district", 12), ("joint powers", 8), ("other", 5)
)  # fmt: skip
CONTACT_TITLES = (
    "Director of Educational Services", "Assistant Superintendent, Instruction",
    "Coordinator of Library Services", "Director of Technology", "Chief Academic Officer",
)  # fmt: skip
MILESTONE_COMMENTS = (
    "Nice work. Did the district's legal team ask for any changes?",
    "We had the same question last year: our MOU template is in the toolkit.",
    "Can you share the **timeline** you agreed with the district?",
    "Done on our side. The district confirmed by email.",
    "Let's go through this at our next check-in.",
    "The superintendent's office wants a one-page summary first.",
    "Worth asking the ILS vendor about loading the records in one batch.",
    "Great progress: the schools are ready for the sign-up week.",
)
CASE_STUDY_COMMENTS = (
    "Thank you for writing this up. How long did the data-sharing agreement take?",
    "We are about to start with a district of the same size: very helpful.",
    "Did families ask for physical cards after the digital ones?",
    "Going fine-free made the difference for us too.",
    "Could you share the parent notice you sent?",
)
CASE_STUDY_BODY = (
    "### Where we started\n\nOne district, one librarian and a card target agreed with the "
    "superintendent's office.\n\n### What worked\n\n- Student ID numbers as card numbers\n"
    "- A sign-up week at each school\n\n### What we would do again\n\nStart the agreement "
    "with the district's lawyers in the first month.\n\n*Generated demo content.*"
)
CHECK_IN_NOTES = (
    "Went through the timeline and the next steps with the district.",
    "Talked about card models: the district prefers student ID as the card number.",
    "Reviewed the commitment letter and who still has to sign it.",
    "Planned the first school visits and the library card sign-up week.",
    "Looked at the first figures from the schools.",
    "Discussed training for teachers and school staff.",
)
ACTION_TEXTS = demo.ACTION_TEXTS  # the demo's own, for the generated check-ins
