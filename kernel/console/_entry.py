"""The ``kernel`` console script: text that never crashes a console, and a quiet Ctrl-C.

The command's imports (rich, zmq, asyncio, every actor) take about half a second; a
KeyboardInterrupt during them would otherwise print a traceback of importlib frames.
This module imports nothing heavy, so the ``try`` is in place before that work starts.

Before anything is printed, standard output and error learn to write a character
their encoding lacks as an escape instead of raising ``UnicodeEncodeError``
(:func:`keep_output_printable`). That happens where Windows writes the ANSI code
page (cp1252) to a file or a pipe, ``kernel plan ... > plan.txt``, or wherever
``PYTHONIOENCODING`` says so; a Windows console window itself takes any character.
"""

from __future__ import annotations

import codecs
import contextlib
import sys

EXIT_INTERRUPTED = 130
"""128 + SIGINT, what a shell reports for a command stopped by Ctrl-C."""

ESCAPE_ERRORS = "kernel.json-escape"
"""The codec error handler: ``→`` becomes ``\\u2192``, an emoji its surrogate pair."""


def json_escape(error: UnicodeError) -> tuple[str, int]:
    """Write what the encoding lacks as JSON's ``\\uXXXX`` escapes (astral: surrogate pairs).

    The same escape serves both kinds of output: people read ``\\u2192`` and know
    a character was there, and a ``--json`` line stays valid JSON that decodes to
    exactly the original text (a backslash of the text itself is already ``\\\\``
    in JSON, and JSON's punctuation is ASCII). Python's own ``backslashreplace``
    writes ``\\U0001f680`` for an emoji, which no JSON parser accepts.
    """
    if not isinstance(error, UnicodeEncodeError):
        raise error
    escapes = []
    for char in error.object[error.start:error.end]:
        code = ord(char)
        if code > 0xFFFF:
            code -= 0x10000
            escapes.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
        else:
            escapes.append(f"\\u{code:04x}")
    return "".join(escapes), error.end


def keep_output_printable() -> None:
    """Give stdout and stderr :func:`json_escape` for what their encoding cannot write.

    The encoding stays the one Python chose (the console's, the locale's when
    redirected, or ``PYTHONIOENCODING``/``PYTHONUTF8`` when set): a person who
    asked for cp1252 gets cp1252, with escapes, rather than bytes their editor
    would misread. Idempotent; a stream that cannot be reconfigured is left alone.
    """
    codecs.register_error(ESCAPE_ERRORS, json_escape)
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError, TypeError):
                reconfigure(errors=ESCAPE_ERRORS)


def main() -> int:
    try:
        keep_output_printable()  # inside: a Ctrl-C can land here too
        from kernel.console.cli import main as cli_main  # late: the point of this module

        return cli_main()
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
