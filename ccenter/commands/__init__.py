"""Sub-commands of ``ccenter``: each module has ``register(subparsers, common)``."""
