"""The independence rule of the final check, table-tested (USP <797> §5 and ASHP Guidelines on
Compounding Sterile Preparations: the final check is made by someone other than the compounder; ISMP:
an independent double check is made by a second person who took no part in the first)."""

from __future__ import annotations

import pytest

from openinfusion.compounding.independence import Part, PartKind, conflicts, require_independent
from openinfusion.errors import DomainError

STARTER, STEPPER, RELEASER, VERIFIER, OUTSIDER = 1, 2, 3, 4, 5
PARTS = (
    Part(STARTER, PartKind.PREPARED, "started the preparation"),
    Part(STEPPER, PartKind.PREPARED, "recorded steps 2–6"),
    Part(STEPPER, PartKind.PREPARED, "took a photo at step 3"),
    Part(RELEASER, PartKind.RELEASED, "released it to be compounded"),
    Part(VERIFIER, PartKind.VERIFIED, "verified its order"),
    Part(VERIFIER, PartKind.VERIFIED, "verified its order"),  # verified_by and the signature's signer
)


@pytest.mark.parametrize(
    ("checker", "three_people", "code", "said"),
    [
        (STARTER, False, "SELF_CHECK", "You started the preparation, so"),
        (STEPPER, False, "SELF_CHECK", "You recorded steps 2–6 and took a photo at step 3, so"),
        (RELEASER, False, "NOT_INDEPENDENT", "You released it to be compounded, so"),
        (VERIFIER, True, "NOT_INDEPENDENT", "You verified its order (this site asks for three different people), so"),
        (VERIFIER, False, None, None),
        (OUTSIDER, True, None, None),
        (OUTSIDER, False, None, None),
    ],
    ids=[
        "starter",
        "step-recorder",
        "releaser",
        "verifier-three-people",
        "verifier-two-people",
        "outsider",
        "outsider-2",
    ],
)
def test_the_checker_took_no_part_in_the_dose(checker, three_people, code, said):
    if code is None:
        require_independent(checker, PARTS, excludes_verifier=three_people)
        assert conflicts(checker, PARTS, excludes_verifier=three_people) == []
        return
    with pytest.raises(DomainError) as refused:
        require_independent(checker, PARTS, excludes_verifier=three_people, details={"entity_id": "7"})
    assert (refused.value.code, refused.value.status) == (code, 403)
    assert refused.value.message.startswith(said), refused.value.message
    assert "Ask a pharmacist who took no part in preparing or releasing it" in refused.value.message
    assert ("or verifying its order" in refused.value.message) is three_people
    assert refused.value.details["entity_id"] == "7"


def test_a_person_who_both_prepared_and_released_is_refused_as_a_preparer_naming_both():
    parts = [Part(1, PartKind.RELEASED, "released it to be compounded"), Part(1, PartKind.PREPARED, "completed it")]
    with pytest.raises(DomainError) as refused:
        require_independent(1, parts, excludes_verifier=False)
    assert refused.value.code == "SELF_CHECK"
    assert refused.value.message.startswith("You released it to be compounded and completed it, so")
    assert refused.value.details["parts"] == ["prepared", "released"]
