"""IVR flow engine: flows defined as data (YAML under ``resources/ivr``).

The engine is sans-I/O: it takes call events (started, digits, timeout) and returns actions
(play, collect, transfer with attached data). A FastAGI adapter lets Asterisk run the same flows;
on the simulated PBX they run in-process.
"""
