"""Data shipped with the product: icons, style sheets, translations, IVR flows, workflows, demo data.

``path(*parts)`` gives the location of a resource file inside the installed package.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent


def path(*parts: str) -> Path:
    """Return the path of a shipped resource, e.g. ``path("ivr", "telecom.yaml")``."""
    return ROOT.joinpath(*parts)
