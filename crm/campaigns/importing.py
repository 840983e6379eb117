"""Imports of plans and target lists: one campaign upserted, its work items loaded, rejects written beside the input."""

from __future__ import annotations

import csv
import dataclasses
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..masking import mask_text
from ..models import (
    DEFAULT_SITE,
    Activity,
    Campaign,
    CampaignStatus,
)
from .plan import Plan, normalize_key, validate_plan
from .reading import CampaignFileError, Source, _load, _parse_json, _Text
from .results import safe_cell
from .targets import (
    BATCH,
    ImportReport,
    Reject,
    _batched,
    _chunks,
    _CsvRows,
    _Loader,
    _Row,
    _rows_from_csv,
    _rows_from_list,
)

logger = logging.getLogger(__name__)

#: ``progress(line, lines)``: the import has reached ``line`` of the file's ``lines``.
Progress = Callable[[int, int], None]


def _upsert_campaign(session: Session, plan: Plan, site: str) -> tuple[Campaign, bool, list[str]]:
    campaign = session.scalar(select(Campaign).where(Campaign.campaign_key == plan.campaign_key,
                                                     Campaign.site == site))
    created = campaign is None
    if campaign is None:
        campaign = Campaign(site=site, campaign_key=plan.campaign_key, status=plan.status or CampaignStatus.ACTIVE)
        session.add(campaign)
    elif plan.status is not None:
        campaign.status = plan.status
    campaign.name = plan.name
    campaign.products = list(plan.products)
    campaign.script = plan.script
    campaign.starts_at = plan.starts_at
    campaign.ends_at = plan.ends_at
    campaign.calling_hours = dict(plan.calling_hours)
    campaign.rules = dict(plan.rules)
    campaign.dial_mode = plan.dial_mode
    existing = {a.channel for a in campaign.activities}
    for channel in plan.channels:
        if channel not in existing:
            campaign.activities.append(Activity(channel=channel))
    session.flush()
    notes = [
        f"{campaign.campaign_key}: channel {channel} is no longer in the plan; its work items are kept"
        for channel in sorted(existing - set(plan.channels))
    ]
    return campaign, created, notes


def _rejects_path(loaded: _Text) -> Path | None:
    if loaded.path is None:
        return None
    return loaded.path.with_name(f"{loaded.path.stem}.rejects.csv")


def _reject_cell(value: object) -> str:
    """A cell of the reject file: no formula (OWASP), no card number, a NUL byte shown as ``\\0``."""
    return safe_cell(mask_text(str(value)).replace("\x00", "\\0"))


def _write_rejects(path: Path | None, header: Sequence[str], rejects: Sequence[Reject]) -> Path | None:
    """Write the rejects beside the input (UTF-8 with BOM); remove a stale file when there are none."""
    if path is None:
        return None
    if not rejects:
        path.unlink(missing_ok=True)
        return None
    columns = ["line", "reason", *header]
    for reject in rejects:
        columns.extend(k for k in reject.row if k not in columns)
    try:
        with path.open("w", encoding="utf-8-sig", newline="") as out:
            csv.writer(out).writerow([_reject_cell(name) for name in columns])  # the header came from the file too
            writer = csv.DictWriter(out, fieldnames=columns, restval="")
            for reject in sorted(rejects, key=lambda r: r.line):
                row = {**reject.row, "line": reject.line, "reason": reject.reason}
                writer.writerow({name: _reject_cell(value) for name, value in row.items()})
    except OSError as exc:
        raise CampaignFileError(f"cannot write the reject file {path}: {exc.strerror or exc}") from None
    return path


def _report(loaded: _Text, kind: str, campaigns: Sequence[str], created: Sequence[str], rows: int,
            loader: _Loader, header: Sequence[str], notes: Sequence[str]) -> ImportReport:
    counts = loader.counts
    path = _write_rejects(_rejects_path(loaded), header, counts.rejects)
    report = ImportReport(
        source=str(loaded.path or loaded.name), kind=kind, encoding=loaded.encoding, campaigns=tuple(campaigns),
        campaigns_created=tuple(created), rows=rows, work_items_created=counts.created,
        work_items_updated=counts.updated, work_items_unchanged=counts.unchanged,
        prospects_created=counts.prospects, rejects=tuple(sorted(counts.rejects, key=lambda r: r.line)),
        rejects_path=path, notes=tuple([*notes, *counts.notes]),
    )
    logger.info("campaign import of %s: %d rows, %d work items created, %d updated, %d prospects, %d rejects",
                report.source, rows, counts.created, counts.updated, counts.prospects, len(counts.rejects))
    return report


def _refuse_nul(body: object, name: str, where: str = "") -> None:
    """A plan's own values may hold no NUL byte (its targets are rows: a NUL rejects the row alone)."""
    if isinstance(body, str):
        if "\x00" in body:
            raise CampaignFileError(f"{name}: {where or 'the plan'} holds a NUL byte")
    elif isinstance(body, dict):
        for key, value in body.items():
            if not where and key == "targets":
                continue
            _refuse_nul(key, name, where or "a key")
            _refuse_nul(value, name, f"{where}.{key}" if where else str(key))
    elif isinstance(body, list):
        for i, value in enumerate(body):
            _refuse_nul(value, name, f"{where}[{i}]")


def _progress_of(source: _Text, progress: Progress | None) -> Callable[[int], None] | None:
    """``progress(line, lines)`` as a loader calls it (with the line reached)."""
    if progress is None:
        return None
    total = source.text.count("\n") + 1
    return lambda line: progress(min(line, total), total)


def import_plan(session: Session, path_or_file: Source, *, region: str = "US",
                now: datetime | None = None, progress: Progress | None = None, site: str = DEFAULT_SITE
                ) -> ImportReport:
    """Create or update the plan's campaign (of ``site``), its channel activities, tasks and work items."""
    now = now or datetime.now(UTC)
    loaded = _load(path_or_file)
    body = _parse_json(loaded)
    _refuse_nul(body, loaded.name)
    plan = validate_plan(body)
    notes: list[str] = []
    source = loaded
    rows: Iterable[_Row]
    if isinstance(plan.targets, str):
        base = loaded.path.parent if loaded.path is not None else Path.cwd()
        source = _load(base / plan.targets)
        header, csv_rows, notes = _rows_from_csv(source, need_campaign=False)
        rows = csv_rows
        notes = [f"targets read from {source.path} ({source.encoding})", *notes]
    else:
        header, rows, notes = _rows_from_list(plan.targets or [])
    campaign, created, campaign_notes = _upsert_campaign(session, plan, site)
    loader = _Loader(session, region=region, now=now, site=site)
    loader.progress = _progress_of(source, progress)
    loader.load(campaign, rows, plan.campaign_key, plan.channels)
    loader.seen.drop()
    count = rows.count if isinstance(rows, _CsvRows) else len(rows)
    report = _report(source, "plan", [plan.campaign_key], [plan.campaign_key] if created else [], count,
                     loader, header, [*campaign_notes, *notes])
    if source is not loaded:  # the plan is the source; its targets' encoding is in the notes
        return dataclasses.replace(report, source=str(loaded.path or loaded.name), encoding=loaded.encoding)
    return report


def import_targets(session: Session, path_or_file: Source, *, region: str = "US",
                   now: datetime | None = None, progress: Progress | None = None, site: str = DEFAULT_SITE
                ) -> ImportReport:
    """Add or update work items of existing campaigns (of ``site``) from a target CSV whose rows carry
    ``campaign_id``."""
    now = now or datetime.now(UTC)
    loaded = _load(path_or_file)
    header, rows, notes = _rows_from_csv(loaded, need_campaign=True)
    loader = _Loader(session, region=region, now=now, site=site)
    report_progress = _progress_of(loaded, progress)
    campaigns: dict[str, Campaign | None] = {}
    for batch in _batched(rows, BATCH):
        by_campaign: dict[str, list[_Row]] = {}
        for row in batch:
            key = normalize_key(row.values.get("campaign_id", ""))
            if not key:
                loader.reject(row, "campaign_id is missing")
            else:
                by_campaign.setdefault(key, []).append(row)
        wanted = [key for key in by_campaign if key not in campaigns]
        for chunk in _chunks(wanted):
            campaigns.update({key: None for key in chunk})
            campaigns.update((c.campaign_key, c) for c in
                             session.scalars(select(Campaign).where(Campaign.campaign_key.in_(chunk),
                                                                    Campaign.site == site)))
        for key, campaign_rows in by_campaign.items():
            campaign = campaigns.get(key)
            if campaign is None:
                for row in campaign_rows:
                    loader.reject(row, f"unknown campaign_id {key!r}")
                continue
            loader.load(campaign, campaign_rows, None)
        if report_progress is not None:
            report_progress(batch[-1].line)
    loader.seen.drop()
    found = sorted(key for key, campaign in campaigns.items() if campaign is not None)
    return _report(loaded, "targets", found, [], rows.count, loader, header, notes)


def import_file(session: Session, path_or_file: Source, *, region: str = "US",
                now: datetime | None = None, progress: Progress | None = None, site: str = DEFAULT_SITE
                ) -> ImportReport:
    """A plan (``.json``, or content starting with ``{``) or a target list (``.csv``).

    ``progress(line, lines)`` is called as target rows are loaded (a progress bar).
    """
    if isinstance(path_or_file, str | os.PathLike):
        suffix = Path(path_or_file).suffix.lower()
        if suffix == ".json":
            return import_plan(session, path_or_file, region=region, now=now, progress=progress, site=site)
        if suffix == ".csv":
            return import_targets(session, path_or_file, region=region, now=now, progress=progress, site=site)
        if _load(path_or_file).text.lstrip().startswith("{"):
            return import_plan(session, path_or_file, region=region, now=now, progress=progress, site=site)
        return import_targets(session, path_or_file, region=region, now=now, progress=progress, site=site)
    return import_plan(session, path_or_file, region=region, now=now, progress=progress, site=site)
