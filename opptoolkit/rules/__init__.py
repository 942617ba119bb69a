"""Validation of UpdateOpportunity / CreateOpportunity payloads.

The model's constraints and the documented business rules, in the API's own error vocabulary. Shared by the
client (plan, form) and the sandbox server, so both say the same thing about the same payload.

Model constraints (enums, patterns, list bounds, required members) are read from the service
model. Business rules come from the API documentation; each cites its source, and every value
they name is checked against the model when this module loads, so a renamed enum value fails
loudly instead of silently disabling a rule.

Messages never contain the value of a sensitive (PII) field.

By job, one module each: ``_facts`` (the documented values every rule names, checked against the model, and
payload helpers), ``_model`` (the service model's constraints), ``_editability`` (what a record's ReviewStatus
refuses, and what AWS answers without applying), ``_sheet`` (AWS's field sheet, as plan warnings) and
``_business`` (the documented business rules, the plan's warnings, submission readiness). The names are
re-exported here: import them from ``opptoolkit.rules``.
"""

from __future__ import annotations

# the names are re-exported "X as X" (explicitly, for mypy --strict), one import block per module
# isort: skip_file

from ._business import (
    AWS_REFERRAL as AWS_REFERRAL,
    MAX_SOLUTIONS as MAX_SOLUTIONS,
    PROSPECT as PROSPECT,
    QUALIFIED as QUALIFIED,
    business_problems,
    payload_warnings,
    related_of_row,
    stored_target_company as stored_target_company,
    submission_problems,
    submission_warnings,
    validate_payload,
)
from ._editability import (
    check_editable,
    edit_ignored,
    edit_refusal,
    editable_fields,
    is_read_only as is_read_only,
)
from ._facts import (
    ACTION_REQUIRED as ACTION_REQUIRED,
    ACTION_REQUIRED_EDITABLE as ACTION_REQUIRED_EDITABLE,
    APPROVED as APPROVED,
    APPROVED_LOCKED as APPROVED_LOCKED,
    ASSOCIATED as ASSOCIATED,
    ASSOCIATIONS as ASSOCIATIONS,
    AWS_PRODUCTS_URL as AWS_PRODUCTS_URL,
    CLOSED_LOST as CLOSED_LOST,
    CLOSED_STAGES as CLOSED_STAGES,
    COMMITTED as COMMITTED,
    DURATION as DURATION,
    EDITABLE_STATUSES as EDITABLE_STATUSES,
    FREQUENCY_FOR as FREQUENCY_FOR,
    GOVERNMENT as GOVERNMENT,
    LAUNCHED as LAUNCHED,
    LOCKED_STATUSES as LOCKED_STATUSES,
    MONTHLY as MONTHLY,
    NEEDS_SOLUTION as NEEDS_SOLUTION,
    NO as NO,
    NOT_EDITS as NOT_EDITS,
    ONE_TIME as ONE_TIME,
    OTHER_COMPETITOR as OTHER_COMPETITOR,
    OTHER_INDUSTRY as OTHER_INDUSTRY,
    OTHER_SOLUTION as OTHER_SOLUTION,
    PARTITION as PARTITION,
    PENDING_SUBMISSION as PENDING_SUBMISSION,
    READ_ONLY as READ_ONLY,
    RELATED as RELATED,
    SELF as SELF,
    SOLUTION_KINDS as SOLUTION_KINDS,
    SPEND_TARGET as SPEND_TARGET,
    SUBMITTED as SUBMITTED,
    TARGET_COMPANY as TARGET_COMPANY,
    UNENFORCED_PATTERNS as UNENFORCED_PATTERNS,
    YES as YES,
    accepted_values as accepted_values,
    association_items as association_items,
    association_key as association_key,
    association_keys as association_keys,
    changed_columns,
    documented_range as documented_range,
    documented_values as documented_values,
    input_value,
    flatten_payload,
    required_for_partition as required_for_partition,
)
from ._model import (
    allowed_message,
    association_count_problem,
    association_problem,
    model_problems,
)
from ._sheet import (
    AFTER_LAUNCHED_UPDATABLE as AFTER_LAUNCHED_UPDATABLE,
    FLAT_RENEWAL as FLAT_RENEWAL,
    US as US,
)

__all__ = [
    "allowed_message",
    "association_count_problem",
    "association_problem",
    "business_problems",
    "changed_columns",
    "check_editable",
    "edit_ignored",
    "edit_refusal",
    "editable_fields",
    "flatten_payload",
    "input_value",
    "model_problems",
    "payload_warnings",
    "related_of_row",
    "submission_problems",
    "submission_warnings",
    "validate_payload",
]
