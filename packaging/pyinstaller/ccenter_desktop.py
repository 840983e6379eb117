"""Entry point of the desktop bundle: the ``ccenter`` command, ``ccenter desktop`` when run bare.

A workstation's menu entry (packaging/linux/ccenter-desktop.desktop) starts the bundle without
arguments; ``ccenter-desktop supervisor``, ``ccenter-desktop doctor`` and ``--help`` work as the
installed ``ccenter`` command does.
"""

import sys

from ccenter.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["desktop"]))
