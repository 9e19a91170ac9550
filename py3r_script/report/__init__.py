"""The report: a study (or one sweep's results) as one self-contained HTML page to send.

``Study(db).report(path)``, ``ScriptResults.report(path)`` and ``py3r-script report DB``
write it. ``studies`` chooses a study's sweeps and reads each back as results;
``document`` puts the page together from the ``overview`` (header, the study's sweeps,
what changed between them) and a section per sweep (``sweeps``: design, results table,
failures; ``analysis``: the tables and plots that fit its design). ``markup`` escapes
every value from a study, ``tables`` makes sortable tables, ``figures`` embeds plots as
PNG, and ``page`` holds the style, the few lines of script and the page's security policy.
"""

from .document import results_report as results_report
from .studies import study_report as study_report

__all__ = ["results_report", "study_report"]
