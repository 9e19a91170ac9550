"""How ``study.db`` (and ``study.db-outputs/``) here were made: by py3r-script 0.1.0 at study
schema 2 (commit e815a99, before outputs were stored by kind), running this folder's
``pipeline.py``. Kept as that version wrote them, so tests can check that a study of the
previous version still loads and resumes. Run from this folder with that version installed:
``python make_study.py``. Outputs over 1,000 bytes went to side files (the limit lowered from
1 MiB so the fixture stays small), so the study has side files too.
"""

import py3r_script
from py3r_script.store import sidefiles

sidefiles.INLINE_LIMIT = 1000
py3r_script.sweep("pipeline.py", {"x": [1, 2, 3]}, store="study.db", label="old",
                  progress=False)
