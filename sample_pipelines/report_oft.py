"""A report to send: two sweeps of the open-field pipeline in a study, written as one page.

Run from anywhere: ``python sample_pipelines/report_oft.py [FOLDER]``. It writes
``oft_study.db`` and ``oft_report.html`` into FOLDER (default: the current folder). With
``--screenshot`` it also takes the picture of the page the README shows,
``figures/oft_report.png`` beside this file; that needs playwright (in the ``dev`` extra)
and Debian's ``chromium`` at ``/usr/bin/chromium``.
"""

import argparse
from pathlib import Path

from py3r_script import Study, sensitivity, sweep

HERE = Path(__file__).parent
PIPELINE = HERE / "oft_pipeline.py"
SCREENSHOT = HERE / "figures" / "oft_report.png"
OUTPUTS = ["time_moving", "distance_cm", "centre_time"]
VALUES = {"smooth_window": [1, 5, 15], "threshold": [1.0, 2.0, 4.0]}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def screenshot(page: Path, picture: Path) -> None:
    """The top of the page as it opens in headless Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             headless=True, args=CHROMIUM_ARGS)
        view = browser.new_page(viewport={"width": 1200, "height": 1500})
        view.goto(page.resolve().as_uri())
        view.screenshot(path=str(picture))
        browser.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=".", type=Path)
    parser.add_argument("--screenshot", action="store_true", help=f"also write {SCREENSHOT}")
    args = parser.parse_args()
    study = args.folder / "oft_study.db"
    sensitivity(PIPELINE, VALUES, outputs=OUTPUTS, store=study, label="first look",
                max_workers="auto")
    sweep(PIPELINE, VALUES, outputs=OUTPUTS, store=study, label="grid", max_workers="auto")
    with Study(study) as opened:
        page = opened.report(args.folder / "oft_report.html")
    print(f"wrote {page}")
    if args.screenshot:
        screenshot(page, SCREENSHOT)
        print(f"wrote {SCREENSHOT}")
