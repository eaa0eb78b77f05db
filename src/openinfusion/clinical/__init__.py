"""The clinical calculation core: pure Python, no Django, no I/O, Decimal quantities with units.

One module per thing computed, each citing its sources (see docs/clinical.md):
``units`` (quantities, parsing, conversion, display), ``body`` (BSA, BMI, IBW, AdjBW),
``renal`` (Cockcroft–Gault, CKD-EPI 2021), ``dosing`` (dose from basis, Calvert), ``rounding``
(increments and vials), ``cumulative`` (lifetime limits), ``rates`` (infusion and drip rates),
``bud`` (USP <797> beyond-use dates), ``codes`` (NDC, GTIN, GS1) and ``gravimetric``.
Every refusal is an ``openinfusion.errors.InvalidInput`` with a stable code and a message for
the pharmacist. Functions take their inputs, including times, as arguments: none reads a clock.
"""
