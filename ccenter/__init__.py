"""Composition root of the contact-center suite.

Holds the ``ccenter`` command, configuration (flags, environment, TOML file) and the wiring that
joins the other packages into processes: the one-process ``ccenter demo`` on embedded defaults and
the production processes (``cti-gateway``, ``ivr``, ``acd``, ``desktop``, ``supervisor``). Nothing
imports this package.
"""

__version__ = "0.1.0"
