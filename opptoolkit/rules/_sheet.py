"""AWS's field sheet (opportunity-samples/Opportunity-Fields.csv and its companions): plan warnings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import fields as P
from .._address import NO_POSTAL_CODE, describe_postal_formats, postal_code_fits
from .._values import is_blank
from ..exceptions import Problem
from ..schema import get_schema, template
from ._facts import LAUNCHED, NOT_EDITS, READ_ONLY, YES, join_path, model_value, value_at

# -- AWS's field sheet ------------------------------------------------------------------------------
# aws-samples/partner-crm-integration-samples, opportunity-samples/Opportunity-Fields.csv (with
# CountriesWithoutPostalCode.csv and PostalCodeValidations.csv): AWS's sheet of the opportunity fields, written for
# its CRM integration. No recording shows the Selling API refusing on these rules (the recorded requests keep
# them), so the plan warns and the row is still sent.
_ADDRESS = join_path(P.ACCOUNT, "Address")
_COUNTRY, _STATE, _POSTAL = (join_path(_ADDRESS, m) for m in ("CountryCode", "StateOrRegion", "PostalCode"))
US = model_value(_COUNTRY, "US")
FLAT_RENEWAL = model_value("OpportunityType", "Flat Renewal")
_PARENT = join_path("Project", "RelatedOpportunityIdentifier")
_AWS_ACCOUNT = join_path(P.ACCOUNT, "AwsAccountId")
#: Opportunity-Fields.csv, column "Update - After Launched (Closed Won)": the fields it marks "Yes" (DeliveryModel
#: and AdditionalComments for ISV partners, SoftwareRevenue for special programs); every other field "No".
AFTER_LAUNCHED_UPDATABLE = (
    join_path("Project", "DeliveryModels"),
    join_path("Project", "AdditionalComments"),
    "SoftwareRevenue",
)
for _p in (_STATE, _POSTAL, _PARENT, _AWS_ACCOUNT, *AFTER_LAUNCHED_UPDATABLE[:2]):
    assert _p in get_schema(), _p


def sheet_warnings(
    payload: Mapping[str, Any], changed: set[str] | None, stored_stage: str | None, out: list[Problem]
) -> None:
    """Add what Opportunity-Fields.csv and its companions say of the changes to ``out``.

    ``stored_stage`` is the record's stage before the edit (None: not known).
    """

    def warn(path: str, code: str, msg: str) -> None:
        out.append(Problem(None, path, code, msg))

    natsec = value_at(payload, P.NATIONAL_SECURITY) == YES
    address = value_at(payload, _ADDRESS)
    if isinstance(address, Mapping) and (changed is None or any(c.startswith(_ADDRESS + ".") for c in changed)):
        country, state, postal = (address.get(m) for m in ("CountryCode", "StateOrRegion", "PostalCode"))
        # Opportunity-Fields.csv, state: "Conditionally Mandatory", "When country = United States. Not required if
        # NatSec = True"; "Value to this field will be accepted only when country is United States".
        if country == US and is_blank(state) and not natsec:
            warn(_STATE, "REQUIRED_FIELD_MISSING", f"AWS's field sheet asks for it when the country is {US!r}")
        elif not is_blank(state) and not is_blank(country) and country != US:
            warn(_STATE, "INVALID_VALUE", f"AWS's field sheet takes it only when the country is {US!r}")
        # Opportunity-Fields.csv, postalCode: "Countries without postal code will no longer take values";
        # "Mandatory", "Exception: Not mandatory for countries without a postal code" (CountriesWithoutPostalCode.csv)
        if isinstance(country, str) and country in NO_POSTAL_CODE:
            if not is_blank(postal):
                warn(_POSTAL, "INVALID_VALUE", f"AWS's field sheet lists {country!r} as a country without postal codes")
        elif not is_blank(country) and is_blank(postal) and not natsec:
            warn(_POSTAL, "REQUIRED_FIELD_MISSING", f"AWS's field sheet asks for one in {country!r}")
        elif isinstance(postal, str) and postal_code_fits(str(country), postal) is False:
            # PostalCodeValidations.csv, "The postal code is invalid for country ..." (the value is not shown: PII)
            formats = describe_postal_formats(str(country))
            warn(_POSTAL, "INVALID_STRING_FORMAT", f"AWS's field sheet wants {formats} in {country!r}")
    # Opportunity-Fields.csv, parentOppId: "Conditionally Mandatory", "When Opportunity Type is set to Flat Renewal"
    if (
        value_at(payload, "OpportunityType") == FLAT_RENEWAL
        and is_blank(value_at(payload, _PARENT))
        and (changed is None or changed & {"OpportunityType", _PARENT})
    ):
        warn(
            _PARENT, "REQUIRED_FIELD_MISSING", f"AWS's field sheet asks for it when OpportunityType is {FLAT_RENEWAL!r}"
        )
    stage = value_at(payload, P.STAGE)
    moved = changed is None or P.STAGE in changed
    if stage == LAUNCHED and moved and is_blank(value_at(payload, _AWS_ACCOUNT)):
        # Opportunity-Fields.csv, Customer.Account.AWSAccountId: "For Consulting Partners, When Stage = Launched"
        warn(
            _AWS_ACCOUNT, "REQUIRED_FIELD_MISSING", f"AWS's field sheet asks consulting partners for it at {LAUNCHED!r}"
        )
    if (stored_stage if moved else stage) == LAUNCHED and changed:
        # Opportunity-Fields.csv, "Update - After Launched (Closed Won)": "No" for every other field (the stage too)
        for col in sorted(changed):
            if not col.startswith(AFTER_LAUNCHED_UPDATABLE) and template(col) not in READ_ONLY and col not in NOT_EDITS:
                warn(col, "ACTION_NOT_PERMITTED", f"AWS's field sheet says it is not updated once {LAUNCHED!r}")
