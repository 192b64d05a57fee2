"""ICD-10 and OPCS-4 codes for synthetic hospital activity.

Primary diagnoses follow the person: an emergency admission of someone with COPD is
often a COPD exacerbation, a frail older person's often a fall or an infection.
Secondary diagnoses record the person's long-term conditions and, for frail older
people, the codes the Hospital Frailty Risk Score reads (falls, delirium, pressure
ulcers...). Codes are written without the dot; three-character codes stand alone.
"""

from __future__ import annotations

# Long-term condition -> (code recorded as a secondary diagnosis, primary diagnoses of an
# admission caused by the condition).
CONDITION_CODES: dict[str, tuple[str, tuple[str, ...]]] = {
    "hypertension": ("I10", ("I10",)),
    "depression": ("F329", ("F322", "F329")),
    "diabetes": ("E119", ("E111", "E115", "E116", "E162")),
    "asthma": ("J459", ("J459", "J46")),
    "ckd": ("N184", ("N179", "N184")),
    "cancer": ("C189", ("C349", "C509", "C189", "C61", "C787", "C795")),
    "chd": ("I251", ("I200", "I214", "I219")),
    "atrial_fibrillation": ("I489", ("I489", "I480")),
    "copd": ("J449", ("J440", "J441")),
    "stroke_tia": ("Z867", ("I639", "G459", "I64")),
    "heart_failure": ("I500", ("I500", "I501", "J81")),
    "serious_mental_illness": ("F209", ("F200", "F319", "F250")),
    "dementia": ("F03", ("F03", "F019", "G309")),
    "learning_disability": ("F79", ("G409", "J690")),
    "osteoporosis": ("M819", ("M800", "S720")),
    "epilepsy": ("G409", ("G409", "G419", "R568")),
}

# Emergency primary diagnoses not tied to a long-term condition, by broad age group:
# (code, relative weight, treatment function).
GENERAL_EMERGENCY = {
    "child": (("J069", 3, "420"), ("J219", 2, "420"), ("A090", 2, "420"), ("R509", 2, "420"),
              ("J181", 1, "420"), ("S060", 1, "420"), ("R11", 1, "420"), ("K359", 1, "100")),
    "adult": (("R073", 3, "300"), ("R104", 3, "100"), ("K359", 1, "100"), ("N390", 2, "300"),
              ("J189", 2, "340"), ("F102", 1, "300"), ("R55", 1, "300"), ("K808", 1, "100"),
              ("L031", 1, "300"), ("O209", 1, "502"), ("T391", 1, "300"), ("S525", 1, "110")),
    "older": (("J189", 4, "340"), ("N390", 3, "430"), ("R55", 2, "430"), ("E86", 1, "430"),
              ("R410", 1, "430"), ("K922", 1, "301"), ("L031", 1, "430"), ("A419", 1, "300"),
              ("R073", 2, "300"), ("I639", 1, "328")),
}  # fmt: skip

# Falls of older people: the injury (primary) and the external cause (secondary).
FALL_INJURIES = (("S720", 3), ("S721", 1), ("S060", 2), ("S525", 2), ("S324", 1), ("S422", 1),
                 ("T140", 2))  # fmt: skip
FALL_CAUSES = ("W010", "W060", "W100", "W180", "W19")

# Codes of the Hospital Frailty Risk Score's groups recorded for frail older people.
FRAILTY_CODES = (("R296", 4), ("W19", 3), ("R54", 2), ("Z741", 2), ("Z742", 1), ("Z750", 1),
                 ("N390", 3), ("R410", 3), ("F051", 2), ("L890", 1), ("E86", 2), ("R26", 2),
                 ("R32", 2), ("Z993", 1), ("R404", 1), ("Z918", 1), ("M625", 1),
                 ("B962", 1), ("R531", 1), ("I959", 1), ("S009", 1), ("Y95", 1))  # fmt: skip

# Planned care: (diagnosis, main procedure, treatment function, day case share, weight,
# youngest typical age).
ELECTIVE = (
    ("H259", "C712", "130", 0.98, 8, 55),
    ("M179", "W401", "110", 0.10, 3, 50),
    ("M169", "W371", "110", 0.05, 2, 50),
    ("K573", "H221", "301", 0.97, 6, 40),
    ("K635", "H251", "301", 0.97, 4, 40),
    ("K409", "T202", "100", 0.75, 3, 20),
    ("K802", "J183", "100", 0.60, 2, 25),
    ("N329", "M451", "101", 0.95, 3, 45),
    ("C509", "X352", "370", 0.99, 5, 35),
    ("C189", "X352", "370", 0.99, 3, 45),
    ("L821", "S062", "330", 0.99, 3, 30),
    ("N920", "Q071", "502", 0.40, 2, 30),
    ("J350", "F341", "120", 0.50, 2, 3),
    ("M230", "W821", "110", 0.95, 2, 18),
    ("G560", "A651", "110", 0.99, 2, 35),
    ("I209", "K634", "320", 0.85, 2, 50),
    ("D509", "X331", "300", 0.99, 2, 18),
)
ELECTIVE_CHILD = (("J350", "F341", "120", 0.50, 3, 3), ("Q531", "N081", "100", 0.95, 1, 0),
                  ("H669", "D151", "120", 0.95, 2, 1))  # fmt: skip

MATERNITY = (("O800", "R240", "501"), ("O820", "R179", "501"), ("O479", None, "501"))
