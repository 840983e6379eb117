"""The login dialog: agent id, password and extension (or station), checked off the GUI thread."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import QMetaObject, Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLineEdit, QVBoxLayout, QWidget

from crm.errors import CrmError
from crm.repository import AgentView

from .customer_view import named, plain_label
from .workers import run_in_background

#: ``authenticate(login, password) -> AgentView | None``; blocking, so it runs on a worker thread.
Authenticator = Callable[[str, str], AgentView | None]


class LoginDialog(QDialog):
    def __init__(self, authenticate: Authenticator, *, login: str = "", extension: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("ccenter — Log in"))
        self.authenticate = authenticate
        self.agent: AgentView | None = None
        self.login_edit = named(QLineEdit(login), "loginAgent")
        self.password_edit = named(QLineEdit(), "loginPassword")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.extension_edit = named(QLineEdit(extension), "loginExtension")
        self.extension_edit.setPlaceholderText(self.tr("as configured for your agent"))
        self.error = named(plain_label(), "loginError")
        form = QFormLayout()
        form.addRow(self.tr("Agent"), self.login_edit)
        form.addRow(self.tr("Password"), self.password_edit)
        form.addRow(self.tr("Extension"), self.extension_edit)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.try_login)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        (self.password_edit if login else self.login_edit).setFocus()

    def try_login(self) -> None:
        login, password = self.login_edit.text().strip(), self.password_edit.text()
        extension = self.extension_edit.text().strip()
        if not login or not password:
            self.error.setText(self.tr("Type your agent id and password."))
            return
        if extension and not (extension.isdigit() and len(extension) <= 8):
            self.error.setText(self.tr("An extension is digits only."))
            return
        self.buttons.setEnabled(False)
        self.error.setText(self.tr("Checking…"))
        run_in_background(self, self.authenticate, login, password,
                          done=lambda agent: self._on_checked(agent, extension), failed=self._on_failed)

    def _on_checked(self, agent: AgentView | None, extension: str) -> None:
        self.buttons.setEnabled(True)
        self.password_edit.clear()
        if agent is None:
            self.error.setText(self.tr("Unknown agent or wrong password."))
            return
        if not (extension or agent.extension):
            self.error.setText(self.tr("Type the extension of your phone."))
            return
        self.agent = replace(agent, extension=extension or agent.extension)
        # Close once the background call has finished reporting, not from inside its callback.
        QMetaObject.invokeMethod(self, "accept", Qt.ConnectionType.QueuedConnection)

    def _on_failed(self, error: Exception) -> None:
        self.buttons.setEnabled(True)
        self.error.setText(str(error) if isinstance(error, CrmError) else self.tr("Log-in failed: %1").replace(
            "%1", str(error)))
