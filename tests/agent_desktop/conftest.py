import pytest
from PySide6.QtCore import QCoreApplication, QSettings


@pytest.fixture(autouse=True)
def _isolated_qt_settings(tmp_path, qapp):
    """Each GUI test starts with empty, private QSettings (never the user's)."""
    QCoreApplication.setOrganizationName("ccenter-tests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))
    yield


@pytest.fixture(autouse=True)
def _no_leaked_windows(qapp):
    """A test must close (or hand to qtbot) every top-level window it opens."""
    before = {id(w) for w in qapp.topLevelWidgets() if w.isVisible()}
    yield
    qapp.processEvents()
    leaked = [w for w in qapp.topLevelWidgets() if w.isVisible() and id(w) not in before]
    for window in leaked:
        window.close()
    assert not leaked, f"test left windows open: {[type(w).__name__ for w in leaked]}"
