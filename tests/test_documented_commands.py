"""The docs, followed literally: every shell command of README.md and docs/*.md is run, checked, or said why not.

Each command of a ```sh / ```bash block matches one rule of ``RULES``:
- ``run``: run for real with bash, in the documented order, from the root of a temporary copy of the
  repository, against a web server and a Varnish that this module starts with the documented commands
  themselves (``serve``), on free loopback ports. Placeholders (``...`` secrets, ``http://varnish/``,
  production sizes and addresses) are replaced as ``SUBSTITUTIONS`` says, nothing else.
- ``check``: not run (it serves forever, needs a cluster, or names an example value), but checked
  statically: the executable exists, the Makefile has the target, files named exist, ``DATAVIZ_*``
  variables are read by the code, and each ``--flag`` appears in the command's own ``--help``.
- ``not run``: nothing to check; the rule says why.
A command that matches no rule fails the test, so a doc cannot gain a command nobody tried.
Besides the commands: links between the docs resolve (files and heading anchors), every ``DATAVIZ_*``
variable a doc names is read by the code, every repository file and Python module a doc names exists,
and no doc cites a file outside the repository.
"""
from __future__ import annotations

import functools
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import services
from tests.support import doc_commands

REPO = Path(__file__).resolve().parents[1]
COMMANDS = doc_commands.shell_commands(REPO)

READER_KEY = "local-reader-key-0123456789abcdef"   # the keys docs/api.md asks `make run` to be started with
ADMIN_KEY = "local-admin-key-0123456789abcdef"
SECRETS = {"DATAVIZ_EMBED_SECRET": "docs-test-embed-secret-0123456789abcdef",
           "DATAVIZ_ANALYST_SECRET": "docs-test-analyst-secret-0123456789abcdef"}


@dataclass(frozen=True)
class Rule:
    pattern: str        # re.search against the command's text
    how: str            # "run", "serve", "check" or "not run"
    why: str
    expect: str = ""    # for "run": a regex its output must match (multiline)


RULES = (
    Rule(r"^make (run|test)\b", "check",
         "make run serves until stopped and make test is the whole suite; the Makefile has the target"),
    Rule(r"^DATAVIZ_API_KEYS=\S+ make run$", "check",
         "serves until stopped; the web server this test starts uses the same two keys"),
    Rule(r"^\.venv/bin/python -m etl generate ", "run", "a small export (SUBSTITUTIONS), the demo's tenants"),
    Rule(r"^\.venv/bin/python -m etl (refresh|rollback) .*\[", "check", "a synopsis: [optional] parts, not a command"),
    Rule(r"^(DATAVIZ_\w+=\S+ )*\.venv/bin/python -m etl watch\b", "check", "runs until stopped"),
    Rule(r"^\.venv/bin/gunicorn -c deploy/gunicorn.conf.py app.wsgi:server$", "serve",
         "the web server the curl commands talk to, on a free loopback port (DATAVIZ_BIND)"),
    Rule(r"^export DATAVIZ_\w+_SECRET=\.\.\.", "run", "the placeholder is the test server's secret"),
    Rule(r"^TOKEN=\$\(\.venv/bin/python -m app\.tokens ", "run", "mints a token with that secret"),
    Rule(r"^export API=", "run", "the address of `make run`, here the test's web server"),
    Rule(r"^ETAG=\$\(curl .* -D - .*\$API/api/v1/tenants/acme/kpis", "run", "keeps the ETag for the next command"),
    Rule(r"^curl -i .*\$API/api/v1/tenants/acme/kpis\"?( |$)(?!.*If-None-Match)", "run",
         "the demo export holds the tenant acme", r"(?i)^etag: \""),
    Rule(r"^curl .*If-None-Match: \$ETAG", "run", "the ETag received just before", r"^HTTP/1\.1 304"),
    Rule(r"^curl .*\"\$API/api/v1/(tenants/acme/\w+|meta|openapi\.json|refresh(/status)?)", "run",
         "a data, meta or refresh route of the test's web server", r"^\{\""),
    Rule(r"^\.venv/bin/python -m etl refresh --help\b", "run", "prints the options"),
    Rule(r"^\. var/stack/stack\.env && ", "check", "needs `make stack` running (five services)"),
    Rule(r"^varnishd -f \"\$PWD/deploy/varnish/default\.vcl\" ", "serve",
         "Varnish with the xkey vmod on a free loopback port (-a), stopped by its PID"),
    Rule(r"^curl -X PURGE -H \"X-Purge-Token: \$DATAVIZ_PURGE_TOKEN\" -H 'xkey-purge: [^']+' http://varnish/", "run", "against that Varnish", "Purged"),
    Rule(r"^curl -X BAN -H \"X-Purge-Token: \$DATAVIZ_PURGE_TOKEN\" -H 'X-Ban-Url: [^']+' http://varnish/", "run", "against that Varnish", "Banned"),
    Rule(r"^\.venv/bin/python -m etl rollback( +#.*)?$", "run", "two snapshots exist: the older one goes live",
         r"^rolled back: "),
    Rule(r"^\.venv/bin/python -m etl rollback --to \d{8}T\d{6}Z-\w{4}$", "check", "the version is an example"),
    Rule(r"^DATAVIZ_ERASURE_KEY=\.\.\. \.venv/bin/python -m etl forget ", "check",
         "erases example learners with a placeholder key; tests/etl/test_forget.py runs the command"),
    Rule(r"^\.venv/bin/python -m etl refresh --engine dask( |$)", "check",
         "a Dask cluster (a LocalCluster, or one at an example address)"),
    Rule(r"^\.venv/bin/dask (scheduler|worker) ", "check", "a cluster on other hosts (example addresses)"),
    Rule(r"^make install( +#.*)?$", "check", "the suite already runs in the .venv it makes"),
    Rule(r"^\.venv/bin/python -m app\.precompressed build( +#.*)?$", "check",
         "brotli 11 of every static file takes a minute; tests/app/test_precompressed.py builds two of them"),
    Rule(r"^\.venv/bin/pip install --no-deps \.( +#.*)?$", "check",
         "tests/integration/test_dask_cluster.py runs it into a fresh environment, then starts a cluster from it"),
)

# (pattern, replacement, why): the only changes made to a command before it runs.
SUBSTITUTIONS = (
    (r"--events 1000000\b", "--events 20000", "a small export (same tenants, seed and dates)"),
    (r"^export (DATAVIZ_\w+_SECRET)=\.\.\.", lambda m, env: f"export {m[1]}={SECRETS[m[1]]}",
     "the placeholder: the server's secret"),
    (r"http://127\.0\.0\.1:8050\b", lambda m, env: env["WEB_URL"], "make run's address: the test's web server"),
    (r"http://varnish/", lambda m, env: env["VARNISH_URL"] + "/", "the placeholder host: the test's Varnish"),
    (r"-a :80\b", lambda m, env: f"-a 127.0.0.1:{env['VARNISH_PORT']} -F -n {env['VARNISH_WORKDIR']}",
     "loopback on a free port, in the foreground (so its PID stops it), with a work folder of its own"),
)


UNCLASSIFIED = Rule("", "unclassified", "no rule matches")


def rule_for(command: doc_commands.Command) -> Rule:
    return next((rule for rule in RULES if re.search(rule.pattern, command.text)), UNCLASSIFIED)


def substitute(text: str, env: dict[str, str]) -> str:
    for pattern, replacement, _why in SUBSTITUTIONS:
        text = re.sub(pattern, replacement if isinstance(replacement, str) else
                      (lambda m, r=replacement: r(m, env)), text)
    return text


def test_every_command_is_run_checked_or_said_why_not():
    unclassified = [str(command) for command in COMMANDS if rule_for(command) is UNCLASSIFIED]
    assert not unclassified, ("commands in the docs that this test neither runs nor checks; add a rule to RULES "
                              "(run, check or not run, with the reason):\n" + "\n".join(unclassified))


def test_every_rule_still_matches_a_command():
    unused = [rule.pattern for rule in RULES if not any(re.search(rule.pattern, c.text) for c in COMMANDS)]
    assert not unused, f"rules that no documented command matches any more: {unused}"


def test_commands_are_in_labelled_blocks():
    stray = doc_commands.unlabelled_commands(REPO)
    assert not stray, "commands in blocks without a language (label them ```sh):\n" + "\n".join(map(str, stray))


def test_commands_use_the_project_environment():
    """The shell's `python` is not the project's (Debian has none); project modules need .venv/bin/python."""
    wrong = [str(c) for c in COMMANDS if re.search(r"(^|\$\(|[;&|]\s*)(\w+=\S+\s+)*(python3?|gunicorn|dask)\s", c.text)]
    assert not wrong, "use .venv/bin/... from the repository's root:\n" + "\n".join(wrong)


# --- checked statically ---------------------------------------------------------------------------

@functools.cache
def _code_text() -> str:
    return "\n".join(path.read_text() for folder in ("app", "etl", "deploy") for pattern in ("*.py", "*.vcl")
                     for path in (REPO / folder).rglob(pattern))


@functools.cache
def _help(argv: tuple[str, ...]) -> str:
    proc = subprocess.run([*argv, "--help"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"{' '.join(argv)} --help failed: {proc.stderr[-1000:]}"
    return proc.stdout




def _check(part: list[str]) -> list[str]:
    """What is wrong with one simple command (a list of words): executable, target, files, variables, flags."""
    problems = []
    while part and re.match(r"^\w+=", part[0]):
        name = part.pop(0).split("=", 1)[0]
        if name.startswith("DATAVIZ_") and name not in _code_text():
            problems.append(f"{name} is read nowhere in app/, etl/ or deploy/")
    exe, args = part[0], part[1:]
    if exe == ".":
        return problems
    if exe == "make":
        makefile = (REPO / "Makefile").read_text()
        problems += [f"the Makefile has no target {target}" for target in args
                     if not re.search(rf"^{re.escape(target)}:", makefile, re.M)]
        return problems
    if exe.startswith(".venv/bin/"):
        if not (REPO / exe).exists():
            return problems + [f"{exe} does not exist (make install, or make install-dev)"]
    elif shutil.which(exe) is None:
        return problems + [f"{exe} is not on PATH"]
    for word in args:
        path = word.replace("$PWD/", "")
        if re.match(r"^(app|etl|deploy|bench|tests|scripts|assets)/\S+\.\w+$", path) and not (REPO / path).exists():
            problems.append(f"{path} does not exist")
    if args[:1] == ["-m"]:
        argv = (str(REPO / exe), "-m", args[1], *[w for w in args[2:3] if not w.startswith("-")])
    else:
        argv = (str(REPO / exe) if exe.startswith(".venv/") else exe, *[w for w in args[:1] if not w.startswith("-")])
    text = _help(argv)
    flags = {m for word in args for m in re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", word)} - {"-m"}
    problems += [f"{flag} is not in `{' '.join(argv)} --help`" for flag in sorted(flags)
                 if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text)]
    return problems


CHECKED = [c for c in COMMANDS if rule_for(c).how == "check"]


@pytest.mark.parametrize("command", CHECKED, ids=lambda c: f"{c.doc}:{c.line}")
def test_checked_command(command):
    words = shlex.split(command.text, comments=True)
    parts, current = [], []
    for word in words:
        if word in ("&&", "||", ";"):
            parts.append(current)
            current = []
        else:
            current.append(word)
    problems = [p for part in [*parts, current] if part for p in _check(part)]
    assert not problems, f"{command}:\n" + "\n".join(problems)


# --- run for real ---------------------------------------------------------------------------------

def _copy_of_the_repository() -> Path:
    """The code an operator has, with an empty var/; not under pytest's private tmp: varnishd reads the VCL."""
    site = Path(tempfile.mkdtemp(prefix="dataviz-docs-"))
    os.chmod(site, 0o755)
    for name in ("app", "etl", "callbacks", "layouts", "assets", "deploy"):
        shutil.copytree(REPO / name, site / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("Makefile", "Procfile", "requirements.txt", "requirements-dev.txt"):
        shutil.copy2(REPO / name, site / name)
    (site / ".venv").symlink_to((REPO / ".venv").resolve())
    return site


PURGE_TOKEN = "docs-test-purge-token-" + "x" * 32


def _shell_env() -> dict[str, str]:
    """A clean operator's shell: no DATAVIZ_* or proxy settings inherited from whoever runs the tests.

    It exports the purge token, as docs/operations.md asks, so the documented varnishd requires it and the
    documented PURGE and BAN send it.
    """
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER")
    return {**{k: os.environ[k] for k in keep if k in os.environ}, "NO_PROXY": "*", "no_proxy": "*",
            "DATAVIZ_PURGE_TOKEN": PURGE_TOKEN}


def _served(how: str) -> doc_commands.Command:
    matches = [c for c in COMMANDS if rule_for(c).how == "serve" and re.search(how, c.text)]
    assert matches, f"no documented command starts {how}"
    return matches[0]


def _etl(site: Path, *args: str) -> None:
    proc = subprocess.run([".venv/bin/python", "-m", "etl", *args], cwd=site, env=_shell_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A copy of the repository with two snapshots of the demo's tenants, its web server and its Varnish."""
    root = _copy_of_the_repository()
    logs = tmp_path_factory.mktemp("docs-services")
    started: list[services.Service] = []
    try:
        _etl(root, "generate", "--events", "20000", "--tenants", "30", "--seed", "7", "--out", "var/exports")
        _etl(root, "refresh")
        _etl(root, "refresh", "--force")  # a second snapshot, for `etl rollback`
        web_port, varnish_port = services.free_port(), services.free_port()
        env = {"WEB_URL": f"http://127.0.0.1:{web_port}", "VARNISH_URL": f"http://127.0.0.1:{varnish_port}",
               "VARNISH_PORT": str(varnish_port), "VARNISH_WORKDIR": str(root / "var" / "varnish")}
        web_env = {**_shell_env(), **SECRETS, "DATAVIZ_BIND": f"127.0.0.1:{web_port}", "DATAVIZ_WORKERS": "1",
                   "DATAVIZ_API_KEYS": f"{READER_KEY}:*,{ADMIN_KEY}:admin"}
        gunicorn = _served(r"gunicorn").text
        started.append(services.Service("gunicorn", ["bash", "-c", f"exec {gunicorn}"], web_port, logs,
                                        env=web_env, cwd=str(root)))
        services.wait_http(f"{env['WEB_URL']}/readyz", proc=started[-1].proc)
        varnishd = substitute(_served(r"varnishd").text, env)
        assert f"127.0.0.1:{varnish_port}" in varnishd, "the Varnish command must take its address from -a :80"
        started.append(services.Service("varnish", ["bash", "-c", f"exec {varnishd}"], varnish_port, logs,
                                        env=_shell_env(), cwd=str(root)))
        yield root, env
    finally:
        for service in reversed(started):
            service.stop()
        shutil.rmtree(root, ignore_errors=True)


def _wait_for_refresh_processes(site: Path, timeout: float = 60.0) -> None:
    """`POST /api/v1/refresh` starts a detached `etl refresh` in the site; the next command must not find it running.

    Looked up in /proc (its working folder and command line): the refresh status route cannot tell a
    refresh that has not taken the lock yet from one that is over.
    """
    def running() -> list[str]:
        found = []
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and Path(os.readlink(proc / "cwd")) == site:
                    argv = (proc / "cmdline").read_bytes().split(b"\0")
                    if b"etl" in argv and b"refresh" in argv:
                        found.append(proc.name)
            except OSError:
                continue  # gone meanwhile, or not ours to read
        return found

    deadline = time.monotonic() + timeout
    while running():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the refresh started by POST /api/v1/refresh still runs: PIDs {running()}")
        time.sleep(0.2)


PREAMBLE = """set -eo pipefail
set -a
curl() { command curl --fail-with-body --silent --show-error --max-time 30 --noproxy '*' "$@"; }
"""


@pytest.mark.services
def test_run_commands_in_documented_order(site):
    root, env = site
    state = root / "var" / "docs-shell.env"   # what `export` and assignments left, for the next command
    state.parent.mkdir(exist_ok=True)
    state.write_text("")
    failures = []
    for command in COMMANDS:
        rule = rule_for(command)
        if rule.how != "run":
            continue
        text = substitute(command.text, env)
        hosts = set(re.findall(r"https?://([^/:\s\"']+)", text))
        assert hosts <= {"127.0.0.1"}, f"{command}: would talk to {hosts - {'127.0.0.1'}}"
        script = f"{PREAMBLE}. {shlex.quote(str(state))}\n{text}\nexport -p > {shlex.quote(str(state))}\n"
        proc = subprocess.run(["bash", "-c", script], cwd=root, env=_shell_env(), capture_output=True, text=True,
                              timeout=120)
        output = proc.stdout + proc.stderr
        if proc.returncode != 0:
            failures.append(f"{command}\n  exit {proc.returncode}: {output[-800:]}")
        elif rule.expect and not re.search(rule.expect, output, re.M):
            failures.append(f"{command}\n  output does not match {rule.expect!r}: {output[-800:]}")
        if re.search(r"-X POST .*/api/v1/refresh", text):
            _wait_for_refresh_processes(root)
    api = re.search(r"^declare -x API=\"([^\"]*)\"", state.read_text(), re.M)
    assert api is None or api[1] == env["WEB_URL"], f"the commands talked to {api[1]}"
    assert not failures, "documented commands that fail when run as written:\n" + "\n".join(failures)


# --- links and citations --------------------------------------------------------------------------

def test_links_between_docs_resolve():
    broken = []
    for doc, line, target in doc_commands.links(REPO):
        if re.match(r"^[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        file = (REPO / doc).parent / path if path else REPO / doc
        if not file.exists():
            broken.append(f"{doc}:{line}: {target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in doc_commands.anchors(file):
            broken.append(f"{doc}:{line}: {target}: no heading with that anchor in {path or doc}")
    assert not broken, "\n".join(broken)


def test_docs_cite_only_the_repository():
    outside = [f"{path.relative_to(REPO)}:{number}: {line.strip()}"
               for path in doc_commands.doc_paths(REPO)
               for number, line in enumerate(path.read_text().splitlines(), 1)
               if re.search(r"shared/spec|\.\./shared|/work/", line)]
    assert not outside, "docs citing files outside the repository:\n" + "\n".join(outside)


def test_named_variables_are_read_by_the_code():
    code = _code_text()
    stale = [str(n) for n in doc_commands.named(REPO) if n.kind == "variable" and n.name not in code]
    assert not stale, "DATAVIZ_* variables the docs name but app/, etl/ and deploy/ never read:\n" + "\n".join(stale)


def test_named_files_and_modules_exist():
    missing = [f"{n} (a {n.kind})" for n in doc_commands.named(REPO)
               if (n.kind == "path" and not (REPO / n.name).exists())
               or (n.kind == "module" and not doc_commands.module_resolves(REPO, n.name))]
    assert not missing, "files and modules the docs name that the repository does not have:\n" + "\n".join(missing)
