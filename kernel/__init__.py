"""The supervisor microkernel: actors, bus, bot link, journal and control."""

__version__ = "0.1.0"
