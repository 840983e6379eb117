"""Campaigns: the BI file interface and the campaign rules.

* :mod:`.reading`: bytes and encodings of plan and target files;
* :mod:`.plan`: the plan (JSON) checked key by key;
* :mod:`.targets`: target rows resolved to customers and loaded as work items;
* :mod:`.importing`: ``import_plan``, ``import_targets``, ``import_file``;
* :mod:`.results`: ``export_results`` and ``list_campaigns``.

This package imports nothing by itself, so that a pure module of it can be imported without the
database layer. ``crm.campaign_files`` gathers the file interface's public names.
"""
