"""The Qt application: one ``QApplication`` with our names, style and error hook."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import traceback
from types import TracebackType

from PySide6.QtCore import (
    QCoreApplication,
    QDir,
    QEvent,
    QEventLoop,
    QMessageLogContext,
    QObject,
    QSettings,
    QSocketNotifier,
    QTimer,
    QtMsgType,
    SignalInstance,
    qInstallMessageHandler,
)
from PySide6.QtWidgets import QApplication, QMainWindow, QMessageBox, QSplitter, QWidget

import resources

from .i18n import install_translator

logger = logging.getLogger(__name__)


#: Messages of Qt's own that say nothing to our users (the offscreen platform used for screenshots).
_QT_NOISE = ("This plugin does not support propagateSizeHints", "This plugin does not support raise()")
_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}
_qt_logger = logging.getLogger("qt")


def _qt_message(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    if message.startswith(_QT_NOISE):
        return
    _qt_logger.log(_QT_LEVELS.get(kind, logging.WARNING), "%s", message)


def route_qt_messages_to_logging() -> None:
    qInstallMessageHandler(_qt_message)


def application(
    argv: list[str] | None = None, *, style: str = "light", language: str | None = None
) -> QApplication:
    """The running QApplication, created (with organization, name, style sheet, translations) if needed."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        QCoreApplication.setOrganizationName("ccenter")
        QCoreApplication.setApplicationName("ccenter")
        app = QApplication(argv if argv is not None else sys.argv[:1])
    apply_style(app, style)
    install_translator(app, language)
    return app


#: The colour icons are drawn in, per style (the style sheets' button text colour).
ICON_COLORS = {"light": "#2b3a48", "dark": "#d7dee6"}


def apply_style(app: QApplication, style: str) -> None:
    path = resources.path("styles", f"{style}.qss")
    QDir.setSearchPaths("styles", [str(resources.path("styles"))])  # url(styles:…) in the style sheets
    app.setStyleSheet(path.read_text(encoding="utf-8") if path.exists() else "")
    app.setProperty("iconColor", ICON_COLORS.get(style, ICON_COLORS["light"]))


_signal_wakeup: list[object] = []


def quit_on_signals(app: QCoreApplication) -> None:
    """Ctrl+C in the terminal (SIGINT) and SIGTERM end ``app``'s event loops with status 128 + the signal.

    The code after ``exec()`` then closes the windows and links as when the user closes the window.
    Python runs a signal's handler only between its own statements, never while Qt's loop waits, so
    the signal also writes to a socket (:func:`signal.set_wakeup_fd`) that wakes the loop. Without
    this, Python's KeyboardInterrupt surfaced in whatever slot ran next, as an "Unexpected error" box,
    and the window stayed open.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, app)

    def drain() -> None:  # the handler itself has run by now: Python ran it before this slot
        with contextlib.suppress(OSError):
            reader.recv(512)

    def stop(signum: int, _frame: object) -> None:
        print(f"ccenter: {signal.Signals(signum).name}: closing the windows", file=sys.stderr, flush=True)
        app.exit(128 + signum)

    notifier.activated.connect(drain)
    signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    _signal_wakeup[:] = [reader, writer, notifier]  # kept while the process runs


def install_excepthook(*, interactive: bool = True) -> None:
    """Log unexpected errors and show them, instead of letting a slot's exception vanish or kill the app.

    With ``interactive=False`` (a scripted run with nobody at the screen, such as the demo's
    screenshots) the error is logged and the process ends with status 70 at once: a message box
    nobody can close would leave it hanging.
    """

    def hook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        logger.critical("unexpected error", exc_info=(kind, error, tb))
        if not interactive:
            for handler in logging.getLogger().handlers:
                handler.flush()
            sys.stderr.flush()
            os._exit(70)  # EX_SOFTWARE: Qt's event loop would swallow a SystemExit raised here
        if QApplication.instance() is not None:
            text = QCoreApplication.translate("Application", "Unexpected error: %1").replace("%1", str(error))
            box = QMessageBox(QMessageBox.Icon.Critical, "ccenter", text)
            box.setDetailedText("".join(traceback.format_exception(kind, error, tb)))
            box.exec()

    sys.excepthook = hook


#: Room left above a window for the window manager's title bar when its default size is fitted to the screen.
TITLE_BAR = 32


def fit_default_size(window: QWidget, width: int, height: int) -> None:
    """Give ``window`` its default size, made smaller to fit its screen's available area: on a 1366×768
    laptop a 1360×860 workstation ran off the screen's bottom edge, its Save button out of reach."""
    screen = window.screen().availableGeometry()
    window.resize(min(width, screen.width()), min(height, screen.height() - TITLE_BAR))


def remember_layout(window: QMainWindow, key: str, *splitters: QSplitter) -> None:
    """Restore ``window``'s geometry and splitter positions now, and save them whenever it closes."""
    settings = QSettings()
    geometry = settings.value(f"{key}/geometry")
    if geometry is not None:
        window.restoreGeometry(geometry)
    for index, splitter in enumerate(splitters):
        state = settings.value(f"{key}/splitter{index}")
        if state is not None:
            splitter.restoreState(state)

    class _Saver(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Close:
                store = QSettings()
                store.setValue(f"{key}/geometry", window.saveGeometry())
                for i, s in enumerate(splitters):
                    store.setValue(f"{key}/splitter{i}", s.saveState())
            return False

    window.installEventFilter(_Saver(window))


class Expected:
    """A signal being waited for, connected before the action that may emit it (even synchronously)."""

    def __init__(self, signal: SignalInstance) -> None:
        self.fired = False
        self._loop: QEventLoop | None = None
        signal.connect(self._on_fired)

    def _on_fired(self, *_args: object) -> None:
        self.fired = True
        if self._loop is not None:
            self._loop.quit()

    def wait(self, timeout_ms: int = 10_000) -> bool:
        """Run the event loop until the signal has fired (perhaps already) or the timeout passes."""
        if not self.fired:
            self._loop = QEventLoop()
            # A timer the loop owns goes with it: nothing fires later at a loop that is gone.
            timer = QTimer(self._loop, singleShot=True, interval=timeout_ms)
            timer.timeout.connect(self._loop.quit)
            timer.start()
            self._loop.exec()
            self._loop = None
        return self.fired


def expect(signal: SignalInstance) -> Expected:
    return Expected(signal)
