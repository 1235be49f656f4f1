"""The TLC runner (membarrier_spec.tlc / membarrier_spec.cli.tlc): finding Java and the jar, install-tlc, TLC's -tool
output, counterexamples as steps, per-property verdicts, and a clear message (never a traceback) for each
failure: no Java, no jar, wrong jar, parse and semantic errors, out of memory, timeout, Ctrl-C.

The specs under tests/fixtures/tla are hand-written, so nothing here depends on the generator.  Tests
that run TLC are marked ``tlc`` and skip, with the reason, when no tla2tools.jar or Java is found.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from conftest import default_signals

from membarrier_spec import tlc
from membarrier_spec.errors import MembarrierSpecError
from membarrier_spec.model.properties import PROPERTIES

FIX = Path(__file__).resolve().parent / "fixtures" / "tla"
COUNTER = FIX / "Counter.tla"


# ------------------------------------------------------------------------------------------------ helpers

def _tools() -> tuple[str | None, str | None, str]:
    try:
        jar = str(tlc.find_jar())
    except MembarrierSpecError as exc:
        return None, None, f"no TLC: {exc}"
    try:
        java = tlc.find_java()
    except MembarrierSpecError as exc:
        return None, None, f"no TLC: {exc}"
    return jar, java, ""


JAR, JAVA, NO_TLC = _tools()
needs_tlc = [pytest.mark.tlc, pytest.mark.skipif(JAR is None, reason=NO_TLC or "no TLC")]


def run(*argv: str, env: dict | None = None, script: str = "tlc-run", timeout: float = 120,
        cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``tlc-run ARGS`` (or ``membarrier-spec ARGS``) in a fresh interpreter."""
    module = "membarrier_spec.cli.tlc" if script == "tlc-run" else "membarrier_spec.cli"
    return subprocess.run([sys.executable, "-m", module, *argv], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=cwd)


def assert_clear_error(proc: subprocess.CompletedProcess, status: int, *needles: str) -> str:
    assert proc.returncode == status, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    for needle in needles:
        assert needle in proc.stderr, (needle, proc.stderr)
    return proc.stderr


def one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    err = assert_clear_error(proc, 2, *needles)
    lines = err.strip("\n").splitlines()
    assert len(lines) == 1 and "error" in lines[0], err
    return lines[0]


def fake_jar(path: Path, with_tlc: bool = True) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("tlc2/TLC.class" if with_tlc else "org/example/Other.class", b"\xca\xfe\xba\xbe")
    return path


def clean_env(tmp_path: Path, **extra) -> dict:
    """The environment without any way to find a real jar (no $TLA2TOOLS_JAR, an empty cache)."""
    env = {k: v for k, v in os.environ.items() if k not in (tlc.JAR_ENV, "XDG_CACHE_HOME")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env.update(extra)
    return env


# ------------------------------------------------------------------------------------- TLA+ value parser

@pytest.mark.parametrize("text, value", [
    ("42", 42),
    ("-3", -3),
    ('"a \\"q\\" \\\\ b\\n"', 'a "q" \\ b\n'),
    ("TRUE", True),
    ("FALSE", False),
    ("p1", "p1"),
    ("<<>>", ()),
    ("<<1, <<2, p1>>, \"s\">>", (1, (2, "p1"), "s")),
    ("{}", frozenset()),
    ("{3, 1, 2}", frozenset({1, 2, 3})),
    ("{{}, {1}}", frozenset({frozenset(), frozenset({1})})),
    ("2..5", frozenset({2, 3, 4, 5})),
    ("[name |-> \"init\", flag |-> FALSE, seen |-> {}]", {"name": "init", "flag": False, "seen": frozenset()}),
    ("(p1 :> 0 @@ p2 :> 1)", {"p1": 0, "p2": 1}),
    ("(m1 :> {m2} @@ m2 :> <<m1>>)", {"m1": frozenset({"m2"}), "m2": ("m1",)}),
    ("(<<1, 2>> :> 0 @@ <<3, 4>> :> 0)", {(1, 2): 0, (3, 4): 0}),
    ("(p1 :> 0)", {"p1": 0}),
    ("[a |-> [b |-> <<1, -2>>]]", {"a": {"b": (1, -2)}}),
])
def test_parse_tla_value(text, value):
    got = tlc.parse_tla_value(text)
    assert got == value
    assert type(got) is type(value) or isinstance(got, type(value))


def test_records_inside_sets_and_as_keys_are_hashable_dicts():
    s = tlc.parse_tla_value("{[a |-> 1], [a |-> 2]}")
    assert s == frozenset({tlc.FrozenDict(a=1), tlc.FrozenDict(a=2)})
    assert all(isinstance(r, dict) for r in s) and {"a": 1} in [dict(r) for r in s]
    f = tlc.parse_tla_value("([a |-> 1] :> 5)")
    (key, val), = f.items()
    assert key == {"a": 1} and isinstance(key, dict) and val == 5
    assert tlc.parse_tla_value("{<<[a |-> 1]>>}") == frozenset({(tlc.FrozenDict(a=1),)})


def test_long_values_may_span_lines():
    text = "<<[name |-> \"element\",\n   val |-> 1],\n  [name |-> \"element\", val |-> 2]>>"
    assert tlc.parse_tla_value(text) == ({"name": "element", "val": 1}, {"name": "element", "val": 2})


@pytest.mark.parametrize("text", ["", "<<1, 2", "[a 1]", "{1,}", "1 2", "(1 :> 2 @@)", "x..3", "@"])
def test_parse_tla_value_rejects_garbage(text):
    with pytest.raises(tlc.TlaValueError):
        tlc.parse_tla_value(text)


def test_parse_tla_state():
    text = '/\\ owner = (p1 :> 0 @@ p2 :> 0)\n/\\ rec = [name |-> "init", flag |-> FALSE, seen |-> {}]\n' \
           '/\\ x = 0\n/\\ log = <<>>\n'
    assert tlc.parse_tla_state(text) == {"owner": {"p1": 0, "p2": 0},
                                         "rec": {"name": "init", "flag": False, "seen": frozenset()},
                                         "x": 0, "log": ()}
    assert tlc.parse_tla_state("x = 1\n") == {"x": 1}  # a one-variable spec prints no /\


_leaf = st.one_of(st.integers(-10**6, 10**6), st.booleans(),
                  st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=6),
                  st.sampled_from(["p1", "m2", "cpu0"]))


def _hashable(children):
    return st.one_of(st.tuples(children, children), st.frozensets(children, max_size=3))


_values = st.recursive(_leaf, lambda kids: st.one_of(
    st.lists(kids, max_size=3).map(tuple),
    st.frozensets(st.recursive(_leaf, _hashable, max_leaves=4), max_size=3),
    st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,5}", fullmatch=True), kids, min_size=1, max_size=3),
    st.dictionaries(st.integers(-5, 5), kids, min_size=1, max_size=3),
), max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(_values)
def test_format_then_parse_round_trips(value):
    assert tlc.parse_tla_value(tlc.format_tla_value(value)) == value
    json.dumps(tlc.jsonable(value))  # and the JSON rendering always serialises


# -------------------------------------------------------------------------------- -tool message framing

TOOL_OUTPUT = """\
@!@!@STARTMSG 2262:0 @!@!@
TLC2 Version 2.20 of Day Month 20?? (rev: 96056d9)
@!@!@ENDMSG 2262 @!@!@
Parsing file /tmp/x/Spec.tla
@!@!@STARTMSG 1000:1 @!@!@
TLC threw an unexpected exception.
The exception was a tlc2.tool.ConfigFileException
: @!@!@STARTMSG 5006:0 @!@!@
TLC found an error in the configuration file at line 1
It was expecting a keyword, but did not find it.
@!@!@ENDMSG 5006 @!@!@
@!@!@ENDMSG 1000 @!@!@
@!@!@STARTMSG 2200:0 @!@!@
Progress(4) at 2026-11-21 10:03:57: 8 states generated (322 s/min), 8 distinct states found (322 ds/min), 3 states left on queue.
@!@!@ENDMSG 2200 @!@!@
@!@!@STARTMSG 2217:4 @!@!@
1: <Initial predicate>
"""


def test_tool_output_framing_nesting_and_unframed_text():
    msgs, unframed = tlc.parse_tool_output(TOOL_OUTPUT)
    assert [m.code for m in msgs] == [2262, 1000, 2200, 2217]  # the last one closed when TLC died
    assert msgs[0].text == "TLC2 Version 2.20 of Day Month 20?? (rev: 96056d9)"
    err = msgs[1]
    assert err.severity == 1 and [c.code for c in err.children] == [5006]
    assert "at line 1" in err.children[0].text and "at line 1" in err.text
    assert unframed == ["Parsing file /tmp/x/Spec.tla"]
    p = tlc.parse_progress(msgs[2].text)
    assert (p.generated, p.distinct, p.queue, p.depth, p.generated_per_minute) == (8, 8, 3, 4, 322)


def test_progress_reports_with_and_without_rates():
    first = ("Progress(12) at 2026-11-21 10:14:11: 75 states generated, 47 distinct states found, "
             "0 states left on queue.")
    p = tlc.parse_progress(first, seconds=2.0)
    assert (p.generated, p.distinct, p.queue, p.depth, p.generated_per_minute) == (75, 47, 0, 12, None)
    later = ("Progress(906) at 2026-11-21 10:28:12: 371,577,358 states generated (18,102,960 s/min), "
             "124,269,889 distinct states found (6,042,600 ds/min), 410,769 states left on queue.")
    p = tlc.parse_progress(later, seconds=600)
    assert (p.generated, p.distinct, p.queue, p.depth) == (371_577_358, 124_269_889, 410_769, 906)
    assert "371,577,358 generated" in p.line() and "301,716 states/s" in p.line()


def test_action_labels_become_action_and_named_args():
    params = tlc.operator_parameters(tlc.module_dependencies(COUNTER))
    assert params["Incr"] == ["p"] and params["Small"] == ["v", "lim"]
    assert tlc.parse_action_label("<Initial predicate>") == ("Init", {})
    assert tlc.parse_action_label("<Incr(p1) line 17, col 12 to line 21, col 50 of module Counter>", params) \
        == ("Incr", {"p": "p1"})
    assert tlc.parse_action_label("<Reset line 23, col 10 to line 27, col 25 of module Counter>", params) \
        == ("Reset", {})
    # an operator TLC names with arguments but whose definition was not found: positional names
    assert tlc.parse_action_label("<Move(<<1, 2>>, \"a\") line 1, col 1 to line 1, col 9 of module M>") \
        == ("Move", {"arg0": (1, 2), "arg1": "a"})


def test_module_dependencies_follow_extends_in_the_same_directory():
    assert sorted(p.name for p in tlc.module_dependencies(COUNTER)) == ["Counter.tla", "CounterDefs.tla"]


def test_cfg_names_and_rewrite():
    text = (FIX / "CounterBad.cfg").read_text()
    assert tlc.cfg_names(text, "INVARIANT") == ["TypeOK", "XBelow", "Bounded"]
    assert tlc.cfg_names(text, "PROPERTY") == ["EventuallyReset"]
    out = tlc.rewrite_cfg(text, ["Bounded"], [])
    assert tlc.cfg_names(out, "INVARIANT") == ["Bounded"] and tlc.cfg_names(out, "PROPERTY") == []
    assert "Limit = 3" in out and "SPECIFICATION Spec" in out
    tricky = ('\\* INVARIANT Commented\n(* PROPERTY AlsoComment *)\nCONSTANT S = {"INVARIANT"}\n'
              'INVARIANTS\n  A\n  B\nPROPERTIES P\nCHECK_DEADLOCK FALSE\n')
    assert tlc.cfg_names(tricky, "INVARIANT") == ["A", "B"]
    assert tlc.cfg_names(tricky, "PROPERTY") == ["P"]
    out = tlc.rewrite_cfg(tricky, ["B"], ["P"])
    assert tlc.cfg_names(out, "INVARIANT") == ["B"] and "CHECK_DEADLOCK FALSE" in out
    assert 'S = {"INVARIANT"}' in out


# ------------------------------------------------------------------------------------ finding the tools

def test_wrong_jar_not_a_zip(tmp_path):
    bad = tmp_path / "tla2tools.jar"
    bad.write_text("not a jar")
    with pytest.raises(tlc.TlcSetupError, match="not a jar"):
        tlc.check_jar(bad)


def test_wrong_jar_without_tlc(tmp_path):
    with pytest.raises(tlc.TlcSetupError, match="no tlc2/TLC.class"):
        tlc.check_jar(fake_jar(tmp_path / "other.jar", with_tlc=False))
    assert tlc.check_jar(fake_jar(tmp_path / "ok.jar")) == tmp_path / "ok.jar"


def test_find_jar_order(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(tlc.JAR_ENV, raising=False)
    with pytest.raises(tlc.TlcSetupError, match="install-tlc"):
        tlc.find_jar()
    tlc.cached_jar().parent.mkdir(parents=True)
    cached = fake_jar(tlc.cached_jar())
    assert tlc.find_jar() == cached
    env_jar = fake_jar(tmp_path / "env.jar")
    monkeypatch.setenv(tlc.JAR_ENV, str(env_jar))
    assert tlc.find_jar() == env_jar
    explicit = fake_jar(tmp_path / "explicit.jar")
    assert tlc.find_jar(explicit) == explicit
    monkeypatch.setenv(tlc.JAR_ENV, str(tmp_path / "missing.jar"))
    with pytest.raises(tlc.TlcSetupError, match="does not exist"):
        tlc.find_jar()


def test_find_java_errors(tmp_path, monkeypatch):
    with pytest.raises(tlc.TlcSetupError, match="no Java at"):
        tlc.find_java(tmp_path / "nonexistent" / "java")
    not_java = tmp_path / "java"
    not_java.write_text("#!/bin/sh\necho 'this is not java' >&2\nexit 1\n")
    not_java.chmod(0o755)
    with pytest.raises(tlc.TlcSetupError, match="failed"):
        tlc.find_java(not_java)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(tlc.TlcSetupError, match="no Java found on PATH"):
        tlc.find_java()


def test_cli_no_java(tmp_path):
    jar = fake_jar(tmp_path / "tla2tools.jar")
    proc = run(str(COUNTER), "--jar", str(jar), "--java", str(tmp_path / "no" / "java"))
    assert "no Java at" in one_line_error(proc)
    env = clean_env(tmp_path, PATH=str(tmp_path / "empty-path"))
    env.pop("JAVA_HOME", None)
    proc = run(str(COUNTER), "--jar", str(jar), env=env)
    assert "no Java found on PATH" in one_line_error(proc)


def test_cli_no_jar(tmp_path):
    proc = run(str(COUNTER), env=clean_env(tmp_path))
    line = one_line_error(proc, "install-tlc")
    assert "no tla2tools.jar found" in line
    proc = run(str(COUNTER), "--jar", str(tmp_path / "missing.jar"), env=clean_env(tmp_path))
    one_line_error(proc, "no tla2tools.jar at")


def test_cli_wrong_jar(tmp_path):
    text_file = tmp_path / "tla2tools.jar"
    text_file.write_text("hello")
    one_line_error(run(str(COUNTER), "--jar", str(text_file)), "not a jar")
    other = fake_jar(tmp_path / "other.jar", with_tlc=False)
    one_line_error(run(str(COUNTER), "--jar", str(other)), "no tlc2/TLC.class")
    # the same through `membarrier-spec check` and $TLA2TOOLS_JAR
    env = clean_env(tmp_path, **{tlc.JAR_ENV: str(other)})
    one_line_error(run("check", "no-entry-mb", "--tla-dir", str(FIX), env=env, script="membarrier-spec"),
                   "no tlc2/TLC.class")


@pytest.mark.parametrize("argv, needle", [
    (["--workers", "0"], "--workers"),
    (["--workers", "many"], "--workers"),
    (["--heap", "2x"], "--heap"),
    (["--timeout", "-1"], "--timeout"),
    (["--distributed", "0"], "--distributed"),
    (["--config", "/nonexistent.cfg"], "no such TLC configuration"),
])
def test_cli_bad_options(argv, needle, tmp_path):
    jar = fake_jar(tmp_path / "tla2tools.jar")
    one_line_error(run(str(COUNTER), "--jar", str(jar), *argv), needle)


def test_cli_bad_targets(tmp_path):
    one_line_error(run("no-such-preset"), "unknown preset")
    one_line_error(run(str(tmp_path / "Missing.tla")), "no such spec")
    one_line_error(run("check", "mainline", "--tla-dir", str(tmp_path), script="membarrier-spec"),
                   "membarrier-spec generate")
    one_line_error(run("check", "mainline", "--engine", "explorer", "--timeout", "5", script="membarrier-spec"),
                   "only apply to --engine tlc")
    one_line_error(run("check", "nope", script="membarrier-spec"), "unknown preset")


def test_console_script_is_installed():
    exe = Path(sys.executable).with_name("tlc-run")
    if not exe.exists():
        pytest.skip("the tlc-run console script is not installed next to this Python")
    proc = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and "PRESET|SPEC.tla" in proc.stdout


def test_check_with_the_explorer_engine():
    proc = run("check", "racy-state-load", "--engine", "explorer", "--json", "--quiet", script="membarrier-spec",
               timeout=300)
    assert proc.returncode == 1, proc.stderr  # The verdict table: the racy load reads a freed mm
    out = json.loads(proc.stdout)
    assert out["engine"] == "explorer" and out["properties"]["NoUseAfterFree"] == "violated"


# ------------------------------------------------------------------------------------------- install-tlc

class _Server:
    """A one-file HTTP server on 127.0.0.1."""

    def __init__(self, payload: bytes):
        payload_ = payload

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path != "/tla2tools.jar":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload_)))
                self.end_headers()
                self.wfile.write(payload_)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/tla2tools.jar"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_install_downloads_and_verifies(tmp_path):
    payload = fake_jar(tmp_path / "src.jar").read_bytes()
    digest = hashlib.sha256(payload).hexdigest()
    dest = tmp_path / "cache" / "tla2tools.jar"
    with _Server(payload) as srv:
        assert tlc.install_tlc(url=srv.url, sha256=digest, dest=dest) == dest
        assert dest.read_bytes() == payload
        # already installed: kept as is
        before = dest.stat().st_mtime_ns
        assert tlc.install_tlc(url=srv.url, sha256=digest, dest=dest) == dest
        assert dest.stat().st_mtime_ns == before


def test_install_refuses_a_hash_mismatch_and_keeps_the_old_jar(tmp_path):
    payload = fake_jar(tmp_path / "src.jar").read_bytes()
    dest = tmp_path / "cache" / "tla2tools.jar"
    dest.parent.mkdir()
    dest.write_bytes(b"the jar that was there before")
    wrong = hashlib.sha256(b"something else").hexdigest()
    with _Server(payload) as srv:
        with pytest.raises(tlc.TlcSetupError, match="refusing .* its SHA-256 is"):
            tlc.install_tlc(url=srv.url, sha256=wrong, dest=dest)
    assert dest.read_bytes() == b"the jar that was there before"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["tla2tools.jar"]  # no partial download left


def test_install_from_a_file_url_and_env_overrides(tmp_path, monkeypatch):
    src = fake_jar(tmp_path / "src.jar")
    monkeypatch.setenv(tlc.URL_ENV, src.as_uri())
    monkeypatch.setenv(tlc.SHA256_ENV, tlc.sha256_of(src))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert tlc.install_tlc() == tmp_path / "xdg" / "membarrier-spec" / "tla2tools.jar"
    assert tlc.find_jar() == tlc.cached_jar()


def test_install_errors(tmp_path):
    payload = b"plain bytes, not a jar"
    with _Server(payload) as srv:
        with pytest.raises(tlc.TlcSetupError, match="HTTP 404"):
            tlc.install_tlc(url=srv.url.replace("tla2tools", "nothing"), sha256="0" * 64, dest=tmp_path / "a.jar")
        with pytest.raises(tlc.TlcSetupError, match="not tla2tools.jar"):  # right hash, wrong content
            tlc.install_tlc(url=srv.url, sha256=hashlib.sha256(payload).hexdigest(), dest=tmp_path / "b.jar")
    with pytest.raises(tlc.TlcSetupError, match="not a SHA-256"):
        tlc.install_tlc(url="file:///dev/null", sha256="abc", dest=tmp_path / "c.jar")
    assert not (tmp_path / "b.jar").exists()


def test_install_cli(tmp_path):
    src = fake_jar(tmp_path / "src.jar")
    dest = tmp_path / "out" / "tla2tools.jar"
    proc = run("install-tlc", "--url", src.as_uri(), "--sha256", "f" * 64, "--dest", str(dest),
               script="membarrier-spec")
    assert_clear_error(proc, 2, "refusing")
    assert not dest.exists()
    proc = run("install-tlc", "--url", src.as_uri(), "--sha256", tlc.sha256_of(src), "--dest", str(dest),
               script="membarrier-spec")
    assert proc.returncode == 0 and proc.stdout.strip() == str(dest)


def test_pinned_release_is_a_stable_tag_with_a_hash():
    assert tlc.PINNED_URL == f"https://github.com/tlaplus/tlaplus/releases/download/v{tlc.PINNED_VERSION}/tla2tools.jar"
    assert len(tlc.PINNED_SHA256) == 64 and int(tlc.PINNED_SHA256, 16) >= 0


# ------------------------------------------------------------------------------------------- TLC runs

class TestWithTlc:
    pytestmark = needs_tlc

    def test_correct_spec(self):
        proc = run(str(COUNTER), "--json", "--workers", "1")
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout)
        explorer_keys = {"preset", "engine", "distinct_states", "transitions", "depth", "seconds", "complete",
                         "scenarios", "properties", "counterexamples"}
        assert explorer_keys <= set(out)
        assert out["engine"] == "tlc" and out["status"] == "ok" and out["complete"]
        assert (out["distinct_states"], out["generated_states"], out["transitions"], out["depth"]) == (47, 75, 74, 12)
        assert out["properties"] == {"TypeOK": "holds", "Bounded": "holds", "EventuallyReset": "holds"}
        assert out["counterexamples"] == {}

    def test_invariant_violation_and_counterexample_values(self):
        r = tlc.check_spec(COUNTER, FIX / "CounterBad.cfg", workers=1)
        assert r.properties == {"TypeOK": "holds", "XBelow": "violated", "Bounded": "holds",
                                "EventuallyReset": "holds"}
        assert r.runs == 2 and r.complete and r.distinct_states == 47  # the rerun explored everything
        assert r.exit_status() == 1
        trace = r.counterexamples["XBelow"]
        assert [s["action"] for s in trace] == ["Init", "Incr", "Incr", "Incr"]
        assert all(set(s) == {"action", "args", "state"} for s in trace)
        assert trace[0]["args"] == {} and set(trace[1]["args"]) == {"p"}
        first, last = trace[0]["state"], trace[-1]["state"]
        assert first == {"owner": {"p1": 0, "p2": 0}, "rec": {"name": "init", "flag": False, "seen": frozenset()},
                         "x": 0, "log": ()}
        assert last["x"] == 3 and len(last["log"]) == 3 and isinstance(last["log"], tuple)
        assert isinstance(last["rec"]["seen"], frozenset) and last["rec"]["flag"] is True
        assert sum(last["owner"].values()) == 3
        json.dumps(r.to_json())

    def test_temporal_violation_is_a_lasso(self):
        r = tlc.run_tlc(COUNTER, FIX / "CounterLive.cfg", workers=1)
        assert r.properties == {"TypeOK": "holds", "EventuallyNeverTwo": "violated"}
        assert r.exit_code == 13 and r.complete
        trace = r.counterexamples["EventuallyNeverTwo"]
        assert trace[0]["action"] == "Init"
        back = trace[-1]
        assert "back_to" in back and back["state"] == trace[back["back_to"]]["state"]
        assert back["action"] == "Incr" and back["state"]["x"] == trace[-2]["state"]["x"] + 1

    def test_unnamed_temporal_violation_is_resolved_one_property_at_a_time(self):
        runs = []
        r = tlc.check_spec(COUNTER, FIX / "CounterTwoLive.cfg", workers=1,
                           on_run=lambda n, invs, props: runs.append((invs, props)))
        assert r.properties == {"TypeOK": "holds", "EventuallyReset": "holds", "EventuallyNeverTwo": "violated"}
        assert runs == [(["TypeOK"], ["EventuallyReset", "EventuallyNeverTwo"]), ([], ["EventuallyReset"]),
                        ([], ["EventuallyNeverTwo"])]
        assert r.counterexamples["EventuallyNeverTwo"][-1].get("back_to") is not None

    def test_deadlock_then_the_rest(self):
        r = tlc.check_spec(COUNTER, FIX / "CounterStuck.cfg", workers=1)
        assert r.properties == {"TypeOK": "holds", "Deadlock": "violated"}
        assert r.counterexamples["Deadlock"][-1]["state"]["x"] == 2 and r.distinct_states == 7

    def test_false_assumption(self):
        r = tlc.check_spec(COUNTER, FIX / "CounterAssume.cfg")
        assert r.properties["LimitSmall"] == "violated" and r.runs == 1
        assert r.properties["TypeOK"] == "not-checked"

    def test_parse_error_shows_message_and_line(self):
        err = assert_clear_error(run(str(FIX / "ParseError.tla")), 2, "ParseError.tla", "line 5")
        assert "x + + 1" in err and 'Encountered "1"' in err

    def test_semantic_error_shows_message_and_line(self):
        err = assert_clear_error(run(str(FIX / "Undefined.tla")), 2, "Unknown operator", "line 5")
        assert "Next == x' = x + y" in err

    def test_config_error(self):
        assert_clear_error(run(str(COUNTER), "--config", str(FIX / "CounterNoSuchInv.cfg")), 2,
                           "NoSuchInvariant", "not defined")

    def test_evaluation_error_is_a_tlc_failure(self):
        proc = run(str(COUNTER), "--config", str(FIX / "CounterEvalError.cfg"))
        assert_clear_error(proc, 3, "TLC did not finish", "exit status 75")

    def test_out_of_memory(self):
        proc = run(str(FIX / "Hog.tla"), "--heap", "64m", "--json")
        assert_clear_error(proc, 3, "out of memory", "--heap")
        assert json.loads(proc.stdout)["status"] == "out-of-memory"

    def test_timeout_reports_partial_statistics_and_progress(self, tmp_path):
        env = dict(os.environ, TMPDIR=str(tmp_path))
        proc = run(str(FIX / "Big.tla"), "--timeout", "5", "--workers", "1", "--json", env=env)
        assert_clear_error(proc, 3, "did not finish within 5s")
        out = json.loads(proc.stdout)
        assert out["status"] == "timeout" and not out["complete"]
        assert out["distinct_states"] > 1000 and out["generated_states"] >= out["distinct_states"]
        assert out["properties"] == {"TypeOK": "not-checked"}
        progress = [ln for ln in proc.stderr.splitlines() if ln.startswith("Big: ") and "distinct" in ln]
        assert progress, proc.stderr  # the live progress display
        assert list(tmp_path.iterdir()) == []  # the temporary directory is gone

    def test_ctrl_c_kills_tlc_and_removes_temporary_files(self, tmp_path):
        env = dict(os.environ, TMPDIR=str(tmp_path))
        proc = subprocess.Popen([sys.executable, "-m", "membarrier_spec.cli.tlc", str(FIX / "Big.tla")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, preexec_fn=default_signals)
        try:
            first = proc.stderr.readline()  # the first progress line: TLC is running
            assert "distinct" in first, first
            run_dirs = list(tmp_path.iterdir())
            assert len(run_dirs) == 1 and run_dirs[0].name.startswith("membarrier-tlc-")
            java_pids = _java_pids(str(tmp_path))
            assert java_pids, "TLC's java process not found"
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 130, err
        assert "interrupted" in err and "Traceback" not in err
        assert list(tmp_path.iterdir()) == []
        assert not any(_alive(pid) for pid in java_pids)

    def test_distributed_mode_on_loopback(self, tmp_path, monkeypatch):
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # every process of the run names tmp_path
        r = tlc.check_spec(COUNTER, FIX / "CounterSafety.cfg", distributed=1, timeout=60)
        assert r.status == "ok" and r.properties == {"TypeOK": "holds", "Bounded": "holds"}
        assert r.distinct_states == 47 and "TLCWorker" in r.workers
        r = tlc.check_spec(COUNTER, FIX / "CounterBad.cfg", invariants=["XBelow"], properties=[], distributed=1,
                           timeout=60)
        assert r.properties == {"XBelow": "violated"}  # distributed TLC does not name it; one suspect
        assert r.counterexamples["XBelow"][-1]["state"]["x"] == 3
        assert not _java_pids(str(tmp_path)), "a TLCServer or TLCWorker was left running"
        assert list(tmp_path.iterdir()) == []

    def test_check_preset_gives_one_verdict_per_property(self):
        proc = run("check", "no-entry-mb", "--tla-dir", str(FIX), "--json", "--workers", "1",
                   script="membarrier-spec")
        assert proc.returncode == 1, proc.stderr
        out = json.loads(proc.stdout)
        assert list(out["properties"]) == [p.name for p in PROPERTIES]
        assert out["preset"] == "no-entry-mb" and out["scenarios"] == ["sb_private"]
        got = {k: v for k, v in out["properties"].items() if v != "not-checked"}
        assert got == {"TypeOK": "holds", "Ordering": "violated", "StableEinval": "holds",
                       "MembarrierReturns": "holds"}  # NoSpuriousIPI is in the cfg but not checked by the preset
        steps = out["counterexamples"]["Ordering"]
        assert [(s["action"], s["args"]) for s in steps] == [("Init", {}), ("Advance", {"by": 1}),
                                                            ("Advance", {"by": 1})]
        assert out["runs"] == 2 and out["distinct_states"] == 4


def _java_pids(needle: str) -> list[int]:
    out = subprocess.run(["pgrep", "-f", needle], capture_output=True, text=True).stdout
    return [int(p) for p in out.split() if int(p) != os.getpid()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is not alive
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False
