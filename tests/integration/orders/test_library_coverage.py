"""Formulary and regimen coverage (issue 14): the regimen library covers the common adult and
paediatric infusion regimens, every dose it writes is one the formulary recognises for that drug
(same dimension, inside the drug's usual range for that basis, by an allowed route and diluent), every
formulary row carries the facts the bedside and the dose checks need, and every drug with a published
lifetime cumulative limit carries that limit and its source.

Cumulative limits: /work/shared/reference/clinical-rules.md section 4 (doxorubicin and doxorubicin
liposomal, epirubicin and daunorubicin from their openFDA labels; mitoxantrone in multiple sclerosis,
PubMed 12559512; bleomycin, Royal Marsden germ-cell series and label wording).
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from openinfusion.clinical.dosing import AUC_UNIT
from openinfusion.clinical.units import Quantity, split_unit

SRC = Path(__file__).resolve().parents[3] / "src" / "openinfusion"
DRUGS_YAML = SRC / "formulary" / "data" / "drugs.yaml"
REGIMENS_YAML = SRC / "orders" / "data" / "regimens.yaml"
ORDERS_SOURCES = SRC / "orders" / "data" / "SOURCES.md"
FORMULARY_SOURCES = SRC / "formulary" / "data" / "SOURCES.md"

CUMULATIVE_LIMIT_DRUGS = {
    # clinical-rules.md section 4 -> the unit the limit is counted in
    "doxorubicin": "mg/m2",
    "doxorubicin-liposomal": "mg/m2",
    "epirubicin": "mg/m2",
    "daunorubicin": "mg/m2",
    "mitoxantrone": "mg/m2",
    "bleomycin": "units",
}

COMMON_REGIMENS = {
    # adult oncology
    "mfolfox6",
    "folfiri",
    "folfirinox",
    "capox-oxaliplatin",
    "ac",
    "ac-dose-dense",
    "tc",
    "tchp",
    "fec-100",
    "abvd",
    "bep",
    "r-chop-21",
    "r-cvp",
    "br",
    "gemcitabine-cisplatin",
    "gemcitabine-nab-paclitaxel",
    "pemetrexed-carboplatin",
    "carboplatin-etoposide",
    "cisplatin-weekly-rt",
    "docetaxel-q3w",
    "nivolumab-q4w",
    "pembrolizumab-q6w",
    "cetuximab-q2w",
    "bevacizumab-maintenance",
    # non-oncology infusions
    "infliximab-induction",
    "vedolizumab-maintenance",
    "ocrelizumab-maintenance",
    "natalizumab",
    "tocilizumab-ra",
    "ivig-primary-immunodeficiency",
    "ferric-derisomaltose",
    "iron-sucrose-hd-ckd",
    "vancomycin-weight-based",
    "ceftriaxone-opat",
    "ertapenem-opat",
    "daptomycin-opat",
    # paediatric
    "wilms-ee-4a",
    "all-hd-methotrexate",
    "infliximab-paediatric-induction",
    "ivig-kawasaki",
    "ceftriaxone-paediatric",
}

AMOUNT_DIMENSION = {"mg": "mass", "g": "mass", "mcg": "mass", "units": "units", "mEq": "mEq", "mmol": "mmol"}
BASIS_FOR_DOSE_BASIS = {"flat": "", "mg/m2": "m2", "mg/kg": "kg", "units/kg": "kg", "AUC": "AUC"}
ADDITIVES = {"sodium-chloride-23.4"}
"""Concentrates only ever added to a bag, never infused on their own: no infusion time of their own."""
KNOWN_LABS = {"anc", "platelets", "hemoglobin", "wbc", "scr", "crcl", "bilirubin", "ast", "alt"}
"""Labs the chart records (patients.models.Lab) plus crcl, which the checks calculate."""
CATEGORIES = {"chemotherapy", "immunotherapy", "biologic", "anti-infective", "iron", "bone", "supportive"}
ICD10 = re.compile(r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$")


@cache
def drugs() -> dict[str, dict[str, Any]]:
    rows = yaml.safe_load(DRUGS_YAML.read_text(encoding="utf-8"))["drugs"]
    return {row["key"]: row for row in rows}


@cache
def regimens() -> list[dict[str, Any]]:
    return list(yaml.safe_load(REGIMENS_YAML.read_text(encoding="utf-8"))["regimens"])


def drug_lines() -> list[tuple[str, int, dict[str, Any]]]:
    return [(r["key"], day["day"], line) for r in regimens() for day in r["days"] for line in day["drugs"]]


def _unit(basis: str) -> str:
    return AUC_UNIT if basis == "AUC" else basis


def dimension(unit: str) -> tuple[str, str]:
    """(what is measured, what it is per): ``mg/m2`` -> ("mass", "m2"), ``AUC`` -> ("AUC", "AUC")."""
    unit = _unit(unit)
    if unit == AUC_UNIT:
        return "AUC", "AUC"
    numerator, denominators = split_unit(unit)
    return AMOUNT_DIMENSION.get(numerator, numerator), "/".join(denominators)


def usual_ranges(drug: dict[str, Any]) -> list[dict[str, Any]]:
    """The drug's usual range and its ranges in other bases (``alternate_usual_doses``)."""
    return [drug["usual_dose"], *drug.get("alternate_usual_doses", [])]


def in_unit(value: Any, unit: str, target: str) -> Decimal:
    return Quantity(Decimal(str(value)), _unit(unit)).to(_unit(target)).value


def test_the_library_covers_the_common_adult_and_paediatric_infusion_regimens() -> None:
    keys = [r["key"] for r in regimens()]
    assert len(keys) == len(set(keys)), "regimen keys must be unique"
    assert COMMON_REGIMENS - set(keys) == set()


def test_every_regimen_drug_and_diluent_is_in_the_formulary() -> None:
    missing = {
        (regimen, day, key)
        for regimen, day, line in drug_lines()
        for key in (line["drug"], line.get("diluent"))
        if key and key not in drugs()
    }
    assert missing == set()


def test_every_regimen_dose_has_the_dimension_of_its_drugs_usual_dose() -> None:
    """A dose in units for a drug dosed in mg (or mL for a mg drug) is refused by the engine."""
    wrong = []
    for regimen, day, line in drug_lines():
        drug = drugs()[line["drug"]]
        if dimension(line["dose"]["basis"])[0] != dimension(drug["usual_dose"]["unit"])[0]:
            wrong.append((regimen, day, line["drug"], line["dose"]["basis"], drug["usual_dose"]["unit"]))
    assert wrong == []


def test_every_regimen_dose_lies_in_its_drugs_usual_range_for_that_basis() -> None:
    """The engine hard-stops doses far above the usual maximum: a protocol dose must never look like one."""
    outside = []
    for regimen, day, line in drug_lines():
        drug = drugs()[line["drug"]]
        value, basis = Decimal(str(line["dose"]["value"])), line["dose"]["basis"]
        same_basis = [r for r in usual_ranges(drug) if dimension(r["unit"]) == dimension(basis)]
        if not same_basis:
            outside.append((regimen, day, line["drug"], f"no usual range in {basis}"))
            continue
        if not any(
            in_unit(r["min"], r["unit"], basis) <= value <= in_unit(r["max"], r["unit"], basis) for r in same_basis
        ):
            ranges = ", ".join(f"{r['min']}-{r['max']} {r['unit']}" for r in same_basis)
            outside.append((regimen, day, line["drug"], f"{value} {basis} outside {ranges}"))
    assert outside == []


def test_every_regimen_cap_is_a_dose_amount_no_higher_than_the_formulary_cap() -> None:
    wrong = []
    for regimen, day, line in drug_lines():
        cap, drug = line.get("max_dose"), drugs()[line["drug"]]
        if not cap:
            continue
        kind, per = dimension(cap["unit"])
        dose_kind = dimension(line["dose"]["basis"])[0]
        if per or kind != ("mass" if dose_kind == "AUC" else dose_kind):  # a Calvert dose is capped in mg
            wrong.append((regimen, day, line["drug"], f"cap in {cap['unit']}"))
        limit = drug.get("max_single_dose")
        if limit and Decimal(str(cap["value"])) > in_unit(limit["value"], limit["unit"], cap["unit"]):
            wrong.append((regimen, day, line["drug"], f"cap {cap['value']} above formulary {limit['value']}"))
    assert wrong == []


def test_every_regimen_route_and_diluent_is_one_the_formulary_allows() -> None:
    """A route outside routes_allowed and a diluent outside compatible_diluents are hard stops."""
    wrong = []
    for regimen, day, line in drug_lines():
        drug = drugs()[line["drug"]]
        if line["route"] not in drug["routes_allowed"] or line["route"] in drug.get("routes_forbidden", []):
            wrong.append((regimen, day, line["drug"], line["route"]))
        diluent = line.get("diluent")
        compatible = drug.get("compatible_diluents") or []
        if diluent and (diluent in drug.get("incompatible_diluents", []) or (compatible and diluent not in compatible)):
            wrong.append((regimen, day, line["drug"], diluent))
    assert wrong == []


def test_every_regimen_names_its_indications_source_and_risk() -> None:
    wrong = []
    for regimen in regimens():
        key = regimen["key"]
        if not regimen.get("indications") or not all(ICD10.match(i["code"]) for i in regimen["indications"]):
            wrong.append((key, "indications"))
        if set(regimen.get("required_labs", [])) - KNOWN_LABS or regimen["category"] not in CATEGORIES:
            wrong.append((key, "required_labs or category"))
        if "http" not in regimen["source"]:
            wrong.append((key, "source URL"))
        if regimen["category"] == "chemotherapy" and not regimen.get("emetogenic_risk"):
            wrong.append((key, "emetogenic_risk"))
        if regimen["category"] == "chemotherapy" and not regimen.get("hold_parameters"):
            wrong.append((key, "hold_parameters"))
    assert wrong == []


def test_every_regimen_is_listed_in_the_library_sources() -> None:
    sources = ORDERS_SOURCES.read_text(encoding="utf-8")
    assert [r["key"] for r in regimens() if f"`{r['key']}`" not in sources] == []


def test_every_formulary_drug_has_the_facts_the_checks_and_the_bedside_need() -> None:
    wrong = []
    for key, drug in drugs().items():
        dose = drug.get("usual_dose")
        if not dose or dose.get("min") is None or dose.get("max") is None or not dose.get("unit"):
            wrong.append((key, "usual_dose"))
            continue
        if Decimal(str(dose["min"])) > Decimal(str(dose["max"])):
            wrong.append((key, "usual_dose min > max"))
        if dimension(dose["unit"])[1] != BASIS_FOR_DOSE_BASIS[drug.get("dose_basis", "flat")]:
            wrong.append((key, f"usual_dose unit {dose['unit']} does not fit dose_basis {drug.get('dose_basis')}"))
        for alternate in drug.get("alternate_usual_doses", []):
            if dimension(alternate["unit"])[0] != dimension(dose["unit"])[0]:
                wrong.append((key, f"alternate range in {alternate['unit']}"))
        if not drug.get("drug_class") or not drug.get("routes_allowed") or not drug.get("sources"):
            wrong.append((key, "drug_class, routes_allowed and sources"))
        for field in ("niosh_group", "high_alert", "compatible_diluents", "lifetime_limit"):
            if field not in drug:
                wrong.append((key, field))
        infused = "IV" in drug["routes_allowed"] and drug["category"] != "base_solution" and key not in ADDITIVES
        if infused and not drug.get("usual_infusion_minutes"):
            wrong.append((key, "usual_infusion_minutes"))
    assert wrong == []


def test_every_drug_with_a_published_lifetime_limit_carries_it_with_its_source() -> None:
    wrong = []
    for key, unit in CUMULATIVE_LIMIT_DRUGS.items():
        drug = drugs().get(key)
        if drug is None:
            wrong.append((key, "not in the formulary"))
            continue
        limit = drug.get("lifetime_limit") or {}
        if limit.get("unit") != unit or not limit.get("value"):
            wrong.append((key, f"lifetime_limit {limit}"))
        if not any(str(s).startswith(("lifetime_limit", "cumulative")) for s in drug["sources"]):
            wrong.append((key, "no source named for the lifetime limit"))
    assert wrong == []
    listed = FORMULARY_SOURCES.read_text(encoding="utf-8")
    assert [key for key in CUMULATIVE_LIMIT_DRUGS if f"**{key}**" not in listed] == []


@pytest.mark.django_db
def test_the_whole_library_loads_into_the_starter_formulary() -> None:
    from openinfusion.formulary.importer import STARTER_FILES, import_formulary
    from openinfusion.formulary.models import Drug
    from openinfusion.orders.library import load_regimens
    from openinfusion.orders.models import Regimen

    import_formulary(STARTER_FILES, actor=None)
    assert load_regimens(actor=None) == len(regimens()) == Regimen.objects.count()
    for key, unit in CUMULATIVE_LIMIT_DRUGS.items():
        drug = Drug.objects.get(key=key)
        assert drug.lifetime_limit and drug.lifetime_limit_unit == unit, key
