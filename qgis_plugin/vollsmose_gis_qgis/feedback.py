"""Bridge the library's progress callbacks, warnings, logs and errors to Processing.

The library reports long work through ``progress(fraction, message)`` callbacks, issues
``warnings.warn`` for things the user should know, logs with :mod:`logging`, and raises
:class:`vollsmose_gis.InputError` for input the user can fix.  Here these become
``feedback.setProgress`` / ``setProgressText``, ``pushWarning`` / ``pushInfo``, and
``QgsProcessingException`` with the library's own message; cancelling the algorithm
raises out of the library at its next progress report.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Callable, Iterator

from qgis.core import QgsProcessingFeedback

from vollsmose_gis import InputError

from ._compat import QgsProcessingException

__all__ = ["Cancelled", "Progress", "check_cancelled", "library_call", "progress_callback"]

Progress = Callable[[float, str], None]


class Cancelled(Exception):
    """Raised inside a library call when the user cancels the algorithm."""


def progress_callback(
    feedback: QgsProcessingFeedback | None, start: float = 0.0, end: float = 100.0
) -> Progress:
    """Return a library ``progress`` callback that drives ``feedback`` within [start, end] %.

    The callback raises :class:`Cancelled` as soon as ``feedback.isCanceled()``, which
    stops the library at its next report; :func:`library_call` turns that into a
    ``QgsProcessingException`` saying the run was cancelled and nothing was written.
    """
    last: list[str] = [""]

    def report(fraction: float, message: str = "") -> None:
        if feedback is None:
            return
        if feedback.isCanceled():
            raise Cancelled
        share = min(max(float(fraction), 0.0), 1.0)
        feedback.setProgress(start + (end - start) * share)
        if message and message != last[0]:
            last[0] = message
            feedback.setProgressText(message)

    return report


def check_cancelled(feedback: QgsProcessingFeedback | None) -> None:
    """Raise :class:`Cancelled` if the user has cancelled (between library calls)."""
    if feedback is not None and feedback.isCanceled():
        raise Cancelled


class _FeedbackHandler(logging.Handler):
    def __init__(self, feedback: QgsProcessingFeedback) -> None:
        super().__init__(level=logging.INFO)
        self.feedback = feedback

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)
        if record.levelno >= logging.WARNING:
            self.feedback.pushWarning(text)
        else:
            self.feedback.pushInfo(text)


@contextlib.contextmanager
def library_call(feedback: QgsProcessingFeedback | None) -> Iterator[None]:
    """Run library code: its warnings and logs go to ``feedback``, its errors become
    ``QgsProcessingException`` with the library's message.

    Raises
    ------
    QgsProcessingException
        On bad input (``InputError``, with the library's message), a missing or
        unwritable file (``OSError``), cancellation, or a bug (named as one, with the
        exception type, so it can be reported).
    """
    logger = logging.getLogger("vollsmose_gis")
    handler = _FeedbackHandler(feedback) if feedback is not None else None
    previous_level = logger.level
    if handler is not None:
        logger.addHandler(handler)
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                yield
            finally:
                if feedback is not None:
                    for item in caught:
                        if issubclass(item.category, (DeprecationWarning, FutureWarning)):
                            continue
                        feedback.pushWarning(str(item.message))
    except Cancelled:
        raise QgsProcessingException("Cancelled by the user; no output was written.") from None
    except QgsProcessingException:
        raise
    except InputError as exc:
        raise QgsProcessingException(str(exc)) from exc
    except OSError as exc:
        raise QgsProcessingException(str(exc)) from exc
    except Exception as exc:
        raise QgsProcessingException(
            f"internal error in vollsmose-gis ({type(exc).__name__}: {exc}). This is a bug; "
            "please report it with the Processing log."
        ) from exc
    finally:
        if handler is not None:
            logger.removeHandler(handler)
            logger.setLevel(previous_level)
