"""megumin.love's own front-end against Themeboard, in a browser: the calls its pages make (read in
robflop/megumin.love, src/resources/js), made the same way from a page of this server, with the
same expectations of status, keys and types. (The real pages are run through a proxy by hand and
by the independent check; their code is not ours to copy here.)"""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

# What index.js and soundboard.js do on load and on a click, re-expressed: REST reads, the
# version slice of the home page, the socket at the site's root, and the messages it listens to.
ORIGINAL_CLIENT = """
async () => {
  const result = {};
  result.counter = (await (await fetch('/api/counter')).json()).counter;
  const sounds = await (await fetch('/api/sounds')).json();
  result.soundKeys = Object.keys(sounds[0]).sort();
  const playable = sounds.filter(s => s.source !== 'no-source' && s.displayname && s.theme === 'megumin');
  const sound = playable[0];
  const sourceName = sound.source.replace(/\\s/g, '-').toLowerCase();
  result.soundStatus = (await fetch(`/sounds/${sound.theme}/${sourceName}/${sound.filename}.mp3`)).status;
  result.hiddenSources = sounds.filter(s => s.source === 'no-source').length;
  const meta = await (await fetch('/api/meta')).json();
  result.version = meta.version.substring(0, meta.version.indexOf('.', meta.version.indexOf('.') + 1));
  result.port = typeof meta.port;
  const wsAddress = document.location.protocol === 'https:' ? `wss://${document.location.host}` : `ws://${document.location.host}`;
  const clicker = new WebSocket(wsAddress), watcher = new WebSocket(wsAddress);
  await Promise.all([clicker, watcher].map(ws => new Promise(open => ws.addEventListener('open', open))));
  const seen = {};
  watcher.addEventListener('message', message => {
    let data;
    try { data = JSON.parse(message.data); } catch (e) { data = {}; }
    seen[data.type] = data;  // the latest of each kind
  });
  clicker.send(JSON.stringify({type: 'click', soundFilename: sound.filename}));
  clicker.send(JSON.stringify({type: 'sbClick', soundFilename: sound.filename}));
  clicker.send(JSON.stringify({type: 'click', soundFilename: 'not-a-sound'}));
  await new Promise(done => setTimeout(done, 1200));
  result.seen = seen;
  result.summary = await (await fetch('/api/statistics/summary')).json();
  result.chartData = await (await fetch('/api/statistics/chartData')).json();
  result.milestones = await (await fetch('/api/statistics/milestones')).json();
  result.after = (await (await fetch('/api/counter')).json()).counter;
  result.unknown = await (await fetch('/api/statistics/nothing')).json();
  clicker.close(); watcher.close();
  return result;
}
"""


def test_the_original_front_ends_calls_work_unchanged(live_server, page):
    assert live_server.app.test_cli_runner().invoke(args=["seed"]).exit_code == 0
    page.goto(f"{live_server.url}/soundboard")
    result = page.evaluate(ORIGINAL_CLIENT)
    assert result["soundKeys"] == ["count", "displayname", "filename", "id", "source", "theme"]
    assert result["soundStatus"] == 200 and result["hiddenSources"] >= 1
    assert result["version"].count(".") == 1 and result["port"] == "number"
    assert result["after"] == result["counter"] + 1  # the unknown sound's click was ignored
    update = result["seen"]["counterUpdate"]
    assert update["counter"] == result["after"]
    assert set(update["statistics"]["summary"]) == {"alltime", "daily", "weekly", "monthly", "yearly", "average"}
    assert isinstance(update["statistics"]["summary"]["average"], int)
    assert set(update["statistics"]["newChartData"]) == {"month", "count"}
    assert "crazyMode" in result["seen"]
    assert result["summary"]["alltime"] == result["after"]
    assert result["chartData"][-1]["count"] >= 1 and set(result["chartData"][-1]) == {"month", "count"}
    assert all(m["reached"] in (0, 1) and "sound_id" in m for m in result["milestones"])
    assert result["unknown"] == {"code": 404, "name": "Invalid route", "message": "Endpoint not found."}
