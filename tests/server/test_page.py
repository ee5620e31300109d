# SPDX-License-Identifier: MIT
"""The page at / in headless Chromium (Debian chromium + chromium-driver,
driven by selenium): pick the sample, ask for text, and the transcript
that streams in equals the CLI's; the metrics panel fills from /metrics."""
import shutil

import pytest

from conftest import SAMPLE, cli_output
import json

pytestmark = pytest.mark.usefixtures("need_server")


def test_page_transcribes_the_sample(shared_server):
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait
    if not shutil.which("chromedriver") or not (shutil.which("chromium") or shutil.which("chromium-browser")):
        pytest.skip("chromium and chromium-driver are not installed")
    opts = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        opts.add_argument(a)
    opts.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver"))
    d = webdriver.Chrome(options=opts, service=service)
    try:
        d.set_page_load_timeout(60)
        d.get(shared_server.url + "/")
        assert "amanuensis" in d.title.lower()
        d.find_element(By.ID, "file").send_keys(SAMPLE)
        Select(d.find_element(By.ID, "format")).select_by_value("text")
        d.find_element(By.ID, "go").click()
        want = json.loads(cli_output(SAMPLE, "json"))["text"].strip()
        WebDriverWait(d, 120).until(
            lambda drv: drv.find_element(By.ID, "transcript").text.strip() == want)
        WebDriverWait(d, 30).until(lambda drv: "tenant" in drv.find_element(By.ID, "metrics").text.lower()
                                   or "busy" in drv.find_element(By.ID, "metrics").text.lower())
    finally:
        d.quit()
