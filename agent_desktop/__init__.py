"""PySide6 agent desktop and supervisor window.

The only package that imports Qt. Widgets present and forward intent; tables are Qt model/view
classes over plain Python state; database look-ups and network calls run off the GUI thread and
come back as signals. All caller- and file-supplied text is shown as plain text.
"""
