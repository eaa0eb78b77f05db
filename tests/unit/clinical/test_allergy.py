"""Allergy matching (``clinical.allergy``) against the project's groups (formulary/data/allergy_groups.yaml).

Sources for the expected matches:
- Khan DA et al. Drug allergy: a 2022 practice parameter update. J Allergy Clin Immunol 2022;150:1333
  (penicillins as a group; cross-reactivity with cephalosporins ~2 % and carbapenems < 1 %).
- Castells MC et al. J Allergy Clin Immunol 2008;122:574 (cross-reactivity among platinum agents).
- Picard M, Castells MC. Clin Rev Allergy Immunol 2015;49:177 (taxanes).
- EMA/579491/2013 (a previous hypersensitivity to any parenteral iron contraindicates the others).
- WAO anaphylaxis guidance 2020; RegiSCAR (SJS/TEN, DRESS): reactions that make an allergy severe.
"""

from __future__ import annotations

import pytest

from openinfusion.clinical.allergy import Allergy, Match, is_severe, matches
from openinfusion.formulary.allergy_groups import table

DRUGS = {
    "piperacillin-tazobactam": (
        "piperacillin and tazobactam",
        "extended-spectrum penicillin + beta-lactamase inhibitor",
    ),
    "cefazolin": ("ceFAZolin", "first-generation cephalosporin"),
    "meropenem": ("meropenem", "carbapenem"),
    "carboplatin": ("CARBOplatin", "platinum analogue (alkylating-like)"),
    "docetaxel": ("DOCEtaxel", "taxane (microtubule stabiliser)"),
    "ferric-carboxymaltose": ("ferric carboxymaltose", "iron replacement (iron-carbohydrate complex)"),
    "vancomycin": ("vancomycin", "glycopeptide"),
}

TABLE = [
    # (recorded substance, ordered drug, expected match, via)
    ("Penicillin", "piperacillin-tazobactam", Match.SAME_GROUP, "penicillins"),
    ("penicillins", "piperacillin-tazobactam", Match.SAME_GROUP, "penicillins"),
    ("amoxicillin", "piperacillin-tazobactam", Match.SAME_GROUP, "penicillins"),
    ("piperacillin-tazobactam", "piperacillin-tazobactam", Match.SAME_DRUG, ""),
    ("penicillin", "cefazolin", Match.CROSS_SENSITIVE, "penicillins"),
    ("amoxicillin", "meropenem", Match.CROSS_SENSITIVE, "penicillins"),
    ("ceftriaxone", "cefazolin", Match.SAME_GROUP, "cephalosporins"),
    ("beta-lactam", "meropenem", Match.SAME_GROUP, "carbapenems"),
    ("oxaliplatin", "carboplatin", Match.SAME_GROUP, "platinum compounds"),
    ("platinum", "carboplatin", Match.SAME_GROUP, "platinum compounds"),
    ("paclitaxel", "docetaxel", Match.SAME_GROUP, "taxanes"),
    ("taxanes", "docetaxel", Match.SAME_GROUP, "taxanes"),
    ("iron dextran", "ferric-carboxymaltose", Match.SAME_GROUP, "iv iron products"),
    ("Vancomycin", "vancomycin", Match.SAME_DRUG, ""),
    # brand names and abbreviations people write (FDA labels, DailyMed)
    ("Augmentin", "piperacillin-tazobactam", Match.SAME_GROUP, "penicillins"),
    ("Zosyn - hives", "piperacillin-tazobactam", Match.SAME_GROUP, "penicillins"),
    ("PCN", "piperacillin-tazobactam", Match.SAME_GROUP, "penicillins"),
    ("Keflex", "cefazolin", Match.SAME_GROUP, "cephalosporins"),
    ("Taxol", "docetaxel", Match.SAME_GROUP, "taxanes"),
    ("Venofer", "ferric-carboxymaltose", Match.SAME_GROUP, "iv iron products"),
]


@pytest.mark.parametrize(("substance", "drug", "match", "via"), TABLE)
def test_an_allergy_matches_through_the_drug_its_group_or_a_cross_sensitive_group(substance, drug, match, via):
    name, drug_class = DRUGS[drug]
    [hit] = matches([Allergy(substance, "mild")], drug_key=drug, drug_name=name, drug_class=drug_class, table=table())
    assert (hit.match, hit.via) == (match, via)


@pytest.mark.parametrize(
    ("substance", "drug"),
    [("sulfa", "cefazolin"), ("penicillin", "vancomycin"), ("latex", "carboplatin"), ("taxane", "carboplatin")],
)
def test_an_unrelated_allergy_does_not_match(substance, drug):
    name, drug_class = DRUGS[drug]
    assert (
        matches([Allergy(substance, "severe")], drug_key=drug, drug_name=name, drug_class=drug_class, table=table())
        == ()
    )


@pytest.mark.parametrize(
    ("severity", "reaction", "severe"),
    [
        ("anaphylaxis", "", True),
        ("severe", "", True),
        ("moderate", "angioedema of the lips", True),
        ("mild", "Stevens-Johnson syndrome 2019", True),
        ("moderate", "SJS/TEN", True),
        ("moderate", "DRESS with eosinophilia", True),
        ("mild", "rash", False),
        ("moderate", "nausea", False),
    ],
)
def test_a_reaction_is_severe_by_its_severity_or_by_what_it_names(severity, reaction, severe):
    assert is_severe(severity, reaction) is severe


def test_every_group_names_its_source_and_its_cross_sensitivities_exist():
    groups = table().groups
    keys = {g.key for g in groups}
    assert all(g.source for g in groups)
    assert all(set(g.cross_sensitive) <= keys for g in groups)
