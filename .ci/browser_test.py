"""Drives `lambdasim serve` in headless Chromium through raw WebDriver HTTP (standard library only).

Usage: browser_test.py PAGE_URL DRIVER_URL LAMBDASIM SCENARIO WORKDIR SCREENSHOT

Loads the page, moves the reserved-concurrency slider with the keyboard, and checks that the
throttle count shown equals what `lambdasim run` prints for the same --set; then types a bad
value and checks the page shows the same message as `lambdasim check`.
"""
import json
import subprocess
import sys
import time
import urllib.request
import base64

page, driver, binary, scenario, work, shot = sys.argv[1:7]


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(driver + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())["value"]


flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--user-data-dir=" + work + "/profile", "--window-size=1400,1100"]
caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
    "binary": "/usr/bin/chromium", "args": flags}}}}
sid = call("POST", "/session", caps)["sessionId"]
s = "/session/" + sid


def js(script):
    return call("POST", s + "/execute/sync", {"script": script, "args": []})


def wait_runs(n, what):
    deadline = time.time() + 30
    while time.time() < deadline:
        if int(js("return Number(document.body.dataset.runs || 0)")) >= n:
            return
        time.sleep(0.05)
    sys.exit("browser test: timed out waiting for " + what)


def text(id_):
    return js("return document.getElementById(%r).textContent" % id_)


def lambdasim(*args):
    return subprocess.run([binary, *args], capture_output=True, text=True)


try:
    call("POST", s + "/url", {"url": page})
    wait_runs(1, "the first run")
    before = int(text("throttles"))
    runs = int(js("return Number(document.body.dataset.runs)"))
    key = "functions.api.reserved_concurrency"
    el = call("POST", s + "/element", {"using": "css selector",
                                         "value": "#c-functions_api_reserved_concurrency"})
    el = list(el.values())[0]
    # PageDown moves a range input by a tenth of its span: 500 -> 400 -> ... -> 100.
    call("POST", s + "/element/" + el + "/value", {"text": "\ue00f" * 4})
    wait_runs(runs + 1, "the run after moving the slider")
    # Debounced runs may follow one another: wait until the page is quiet.
    time.sleep(0.5)
    wait_runs(int(js("return Number(document.body.dataset.runs)")), "the last run")
    value = js("return document.getElementById('c-functions_api_reserved_concurrency').value")
    shown = int(text("throttles"))
    ms = text("timing")
    roundtrip = js("return document.body.dataset.roundtrip")
    cli = lambdasim("run", scenario, "--set", key + "=" + value, "--format", "json",
                    "--no-charts", "--no-whatif", "--out", work + "/run")
    if cli.returncode != 0:
        sys.exit("lambdasim run failed: " + cli.stderr)
    expected = json.loads(cli.stdout)["account"]["throttles"]["total"]
    print("browser test: reserved %s -> page shows %d throttles (was %d), lambdasim run: %d; "
          "server answered in %s ms, page request to redrawn charts %s ms"
          % (value, shown, before, expected, ms, roundtrip))
    if shown != expected:
        sys.exit("browser test: page shows %d throttles, lambdasim run prints %d" % (shown, expected))
    if shown == before:
        sys.exit("browser test: moving the slider did not change the throttle count")
    png = call("GET", s + "/screenshot")
    with open(shot, "wb") as f:
        f.write(base64.b64decode(png))

    # A bad value: the page shows the message `lambdasim check` prints.
    runs = int(js("return Number(document.body.dataset.runs)"))
    area = list(call("POST", s + "/element", {"using": "css selector", "value": "#extra"}).values())[0]
    call("POST", s + "/element/" + area + "/value", {"text": "account.concurrency_limit=-5"})
    deadline = time.time() + 30
    while js("return getComputedStyle(document.getElementById('error')).display") == "none":
        if time.time() > deadline:
            sys.exit("browser test: no error shown for a bad value")
        time.sleep(0.05)
    check = lambdasim("check", scenario, "--set", key + "=" + value,
                      "--set", "account.concurrency_limit=-5")
    if text("error").strip() != check.stderr.strip():
        sys.exit("browser test: page says %r, check says %r" % (text("error"), check.stderr))
    print("browser test: bad value shows %r as `check` does" % text("error").strip())
finally:
    call("DELETE", s)
