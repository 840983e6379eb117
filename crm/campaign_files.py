"""The BI campaign file interface: plans and target lists in, results out.

A **plan** (JSON) describes a campaign and its targets; a **target list** (CSV) adds targets to
campaigns that exist. :func:`import_plan`, :func:`import_targets` and :func:`import_file` (which
picks one by the file's content) write into the caller's session: run them inside
``crm.db.transaction`` so that one import is committed whole or not at all. A plan that breaks a rule
raises :class:`CampaignFileError` before anything is written; a target row that cannot be used is
reported (and written to ``<name>.rejects.csv`` beside the input) while the good rows load.

Files are read as UTF-8 (with or without BOM), GB18030/GBK or Big5, decided on the whole file.
:func:`export_results` writes one CSV row per work item (or per attempt) in UTF-8 with a BOM, times
in ISO 8601 UTC. The formats are documented for the BI team in ``docs/campaigns.md``.

The code lives in :mod:`crm.campaigns`, one module per concern; this module gathers its public names.
"""

from __future__ import annotations

from .campaigns.importing import import_file, import_plan, import_targets
from .campaigns.plan import (
    CALL_CHANNELS,
    CHANNELS,
    DIAL_MODES,
    PLAN_KEYS,
    RESERVED_KEYS,
    Plan,
    validate_plan,
)
from .campaigns.reading import CampaignFileError, Source, decode
from .campaigns.results import ATTEMPT_COLUMNS, RESULT_COLUMNS, CampaignSummary, export_results, list_campaigns
from .campaigns.rules import RETRY_OUTCOMES, RULE_KEYS
from .campaigns.targets import TARGET_COLUMNS, ImportReport, Reject

__all__ = [
    "ATTEMPT_COLUMNS",
    "CALL_CHANNELS",
    "CHANNELS",
    "DIAL_MODES",
    "PLAN_KEYS",
    "RESERVED_KEYS",
    "RESULT_COLUMNS",
    "RETRY_OUTCOMES",
    "RULE_KEYS",
    "TARGET_COLUMNS",
    "CampaignFileError",
    "CampaignSummary",
    "ImportReport",
    "Plan",
    "Reject",
    "Source",
    "decode",
    "export_results",
    "import_file",
    "import_plan",
    "import_targets",
    "list_campaigns",
    "validate_plan",
]
