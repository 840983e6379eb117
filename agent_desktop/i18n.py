"""The desktop's language: our translations (``resources/translations``) plus Qt's own.

``install_translator(app)`` picks the language from its argument, else ``CCENTER_LANG``, else the
system locale, and installs ``ccenter_<lang>.qm`` together with Qt's ``qtbase_<lang>.qm`` (so the
standard buttons, OK and Cancel, follow). English is the source language: it needs no file.

Only translations into Simplified Chinese ship today; any ``zh`` locale that is not Traditional
Chinese (``zh``, ``zh_CN``, ``zh-Hans``, ``zh_SG``…) uses them.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

import resources

logger = logging.getLogger(__name__)

ENV_VAR = "CCENTER_LANG"
SOURCE_LANGUAGE = "en"
#: Languages we ship a ``ccenter_<lang>.qm`` for.
LANGUAGES = ("en", "zh_CN")

#: The translators this module installed, per application, so a new call replaces them.
_installed: list[QTranslator] = []


def translations_dir() -> Path:
    return resources.path("translations")


def normalize(language: str) -> str:
    """Our language code for a locale name: ``zh-Hans-CN``, ``zh_CN.UTF-8``, ``zh`` → ``zh_CN``; else
    the language part (``en_GB`` → ``en``); ``C``/``POSIX``/empty → ``en``."""
    name = language.strip().split(".")[0].split("@")[0].replace("-", "_")
    parts = [p for p in name.split("_") if p]
    if not parts or parts[0].lower() in ("c", "posix"):
        return SOURCE_LANGUAGE
    lang = parts[0].lower()
    if lang == "zh":
        rest = {p.lower() for p in parts[1:]}
        if rest & {"hant", "tw", "hk", "mo"}:
            return "zh_TW"
        return "zh_CN"
    return lang


def _system_language() -> str:
    locale = QLocale.system()
    languages = locale.uiLanguages()
    return languages[0] if languages else locale.name()


def choose_language(language: str | None = None) -> str:
    """The language asked for: the argument, else ``$CCENTER_LANG``, else the system's UI language."""
    return normalize(language or os.environ.get(ENV_VAR) or _system_language())


def locale_for(language: str) -> QLocale:
    """The locale dates, times and numbers are shown in for a desktop in ``language``: the system's when
    it speaks that language, else the language's own (``C``/``POSIX`` systems get US English)."""
    system = QLocale.system()
    if language == "zh_CN":
        if system.language() == QLocale.Language.Chinese and system.script() != QLocale.Script.TraditionalHanScript:
            return system
        return QLocale(QLocale.Language.Chinese, QLocale.Country.China)
    if system.language() in (QLocale.Language.C, QLocale.Language.AnyLanguage):
        return QLocale(QLocale.Language.English, QLocale.Country.UnitedStates)
    if language == SOURCE_LANGUAGE and system.language() == QLocale.Language.Chinese:
        return QLocale(QLocale.Language.English, QLocale.Country.UnitedStates)
    return system


def remove_translators(app: QCoreApplication | None = None) -> None:
    """Uninstall the translators :func:`install_translator` installed (back to English)."""
    app = app or QCoreApplication.instance()
    QLocale.setDefault(locale_for(SOURCE_LANGUAGE))
    while _installed:
        translator = _installed.pop()
        if app is not None:
            app.removeTranslator(translator)


def install_translator(app: QCoreApplication, language: str | None = None) -> str:
    """Install our translation and Qt's for ``language`` (see :func:`choose_language`).

    Returns the language in use: ``"en"`` when the language is English or when no translation for
    it ships. Calling it again replaces the translators installed before.
    """
    remove_translators(app)
    wanted = choose_language(language)
    QLocale.setDefault(locale_for(wanted if wanted in LANGUAGES else SOURCE_LANGUAGE))
    if wanted == SOURCE_LANGUAGE or wanted not in LANGUAGES:
        if wanted != SOURCE_LANGUAGE:
            logger.info("no translation for %s, using English", wanted)
        return SOURCE_LANGUAGE
    ours = QTranslator(app)
    if not ours.load(f"ccenter_{wanted}", str(translations_dir())):
        logger.warning("could not load the %s translation from %s", wanted, translations_dir())
        QLocale.setDefault(locale_for(SOURCE_LANGUAGE))
        return SOURCE_LANGUAGE
    qt = QTranslator(app)
    qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    if qt.load(f"qtbase_{wanted}", qt_dir):
        app.installTranslator(qt)
        _installed.append(qt)
    else:
        logger.info("Qt has no %s translation in %s", wanted, qt_dir)
    app.installTranslator(ours)
    _installed.append(ours)
    logger.info("language: %s", wanted)
    return wanted
