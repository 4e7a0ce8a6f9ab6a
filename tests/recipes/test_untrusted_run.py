"""Issue 10: a run directory is data, not trust. ``rnnkit predict --run DIR`` on a directory
someone else made (with a manifest that matches its edited files, as anyone can write) must not
quote local files in its messages, fetch URLs, or allocate beyond what the command line allows;
config.json is checked like command-line input."""
import json
import shutil
from pathlib import Path

import pytest

from rnnkit.cli import main
from rnnkit.training import manifest
from tests.recipes.test_reliability import _forecast, _csv, _one_paragraph, good_run  # noqa: F401


def _planted(good_run, tmp_path, edit) -> Path:
    """A copy of a good run whose config.json is edited by ``edit(cfg)``, manifest updated to match."""
    _, out = good_run
    d = tmp_path / "planted"
    shutil.copytree(out, d)
    cfg = json.loads((d / "config.json").read_text())
    edit(cfg)
    (d / "config.json").write_text(json.dumps(cfg))
    m = json.loads((d / manifest.MANIFEST).read_text())
    text = json.dumps(m)
    old = next(v for v in _walk(m) if isinstance(v, str) and len(v) == 64 and v in text
               and _is_config_hash(m, v))
    (d / manifest.MANIFEST).write_text(text.replace(old, manifest.file_sha256(d / "config.json")))
    return d


def _walk(o):
    if isinstance(o, dict):
        for v in o.values():
            yield from _walk(v)
    elif isinstance(o, list):
        for v in o:
            yield from _walk(v)
    else:
        yield o


def _is_config_hash(m, v):
    return "config.json" in json.dumps(m).split(v)[0].rsplit("{", 1)[-1] or \
        f'"config.json": "{v}"' in json.dumps(m)


def test_the_planting_helper_makes_a_run_that_predict_accepts(good_run, tmp_path):
    d = _planted(good_run, tmp_path, lambda cfg: None)
    assert main(["predict", "--run", str(d)]) == 0


def test_huge_units_are_refused_before_allocating(good_run, tmp_path, capsys):
    def edit(cfg):
        cfg["job"]["units"] = cfg["model"]["units"] = 10 ** 9
    d = _planted(good_run, tmp_path, edit)
    assert main(["predict", "--run", str(d)]) == 2
    _one_paragraph(capsys, "--units", "1000000000", "fits in memory")


def test_a_model_other_than_its_job_builds_is_refused(good_run, tmp_path, capsys):
    d = _planted(good_run, tmp_path, lambda cfg: cfg["model"].update(layers=5000))
    assert main(["predict", "--run", str(d)]) == 2
    _one_paragraph(capsys, "layers=5000", "not the one its job builds")


@pytest.mark.parametrize("field,value,words", [
    ("units", "4", None),                       # text where the CLI takes an int: "4" parses as 4
    ("units", 64.5, ["`units`", "invalid int value"]),
    ("units", True, ["`units`", "expected a value of the type its option takes"]),
    ("lookback", [1, 2], ["`lookback`", "invalid int value"]),
    ("cell", "transformer", ["`cell`", "invalid choice"]),
    ("split", {"a": 1}, ["`split`", "type its option takes"]),
    ("seq2seq", "yes", ["`seq2seq`", "true or false"]),
    ("step", 0, ["`step`", "an integer >= 1"]),
    ("seasonal_period", 0, ["`seasonal_period`", "positive number of rows per season"]),
    ("time_features", "day", ["`time_features`", "'day' and 'year'"]),
    ("surprise", 1, ["unknown field", "surprise"]),
])
def test_wrong_types_in_the_job_are_refused_like_cli_input(good_run, tmp_path, capsys, field, value, words):
    d = _planted(good_run, tmp_path, lambda cfg: cfg["job"].__setitem__(field, value))
    code = main(["predict", "--run", str(d)])
    if words is None:
        assert code == 0
        return
    assert code == 2
    _one_paragraph(capsys, "config.json", *words)


def test_cli_and_config_give_the_same_message(good_run, tmp_path, capsys):
    """One code path: the message for a bad value is the command line's."""
    csv, _ = good_run
    assert _forecast(csv, tmp_path / "x", "--seasonal-period", "-3") == 2
    cli = capsys.readouterr().err.split("rnnkit: error: ")[1].strip()
    d = _planted(good_run, tmp_path, lambda cfg: cfg["job"].__setitem__("seasonal_period", -3))
    assert main(["predict", "--run", str(d)]) == 2
    assert cli in capsys.readouterr().err


def test_a_data_path_at_etc_passwd_is_never_quoted(good_run, tmp_path, capsys):
    secret = Path("/etc/passwd")
    if not secret.is_file():
        pytest.skip("no /etc/passwd")
    lines = [ln for ln in secret.read_text().splitlines() if ln.strip()]

    def edit(cfg):
        cfg["job"]["csv"] = str(secret)
        cfg["source"]["path"] = str(secret)
        cfg["source"]["sha256"] = manifest.file_sha256(secret)     # the worst case: a matching checksum
    d = _planted(good_run, tmp_path, edit)
    assert main(["predict", "--run", str(d)]) == 2
    captured = capsys.readouterr()
    text = captured.err + captured.out
    assert text.startswith("rnnkit: error: ") and "Traceback" not in text
    for ln in lines:
        for field in ln.split(":"):
            if len(field) > 3 and field not in str(secret):
                assert field not in text, (field, text)
    assert "details not shown" in text and "--csv" in text


@pytest.mark.parametrize("url", ["https://example.invalid/jena.csv.zip", "file:///etc/passwd"])
def test_a_url_in_the_data_source_is_never_fetched(good_run, tmp_path, capsys, monkeypatch, url):
    import importlib
    import urllib.request
    dl = importlib.import_module("rnnkit.data.download")

    def fail(*a, **k):
        pytest.fail(f"predict fetched {a} for a URL named by a run directory")
    monkeypatch.setattr(dl, "download", fail)
    monkeypatch.setattr(dl, "_open", fail)
    monkeypatch.setattr(urllib.request, "urlopen", fail)
    import rnnkit.data.jena as jena
    monkeypatch.setattr(jena, "download", fail)

    def edit(cfg):
        cfg["job"].update(csv=None, jena=url, target="T (degC)", time_col=None)
        cfg["source"] = {"url": url, "time_step_s": 600.0}
    d = _planted(good_run, tmp_path, edit)
    assert main(["predict", "--run", str(d)]) == 2
    _one_paragraph(capsys, url, "never fetches", "--csv")
