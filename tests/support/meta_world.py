"""A config folder with a real external Meta-Agent: a small Python program the tests write.

The program reads the task it is given (the path is its last argument), finds
where to answer in the task's front matter, and then behaves as asked by its
``--behaviour`` argument: answers properly (with two proposals), hangs, fails,
writes garbage, writes nothing, writes a huge report, names a report outside
the outbox, prints the report on stdout, or reports the secrets it was given.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from kernel.settings import Settings, load_settings
from tests.conftest import write_config

AGENT = '''\
import json, os, pathlib, sys, time

behaviour = sys.argv[sys.argv.index("--behaviour") + 1]
task = pathlib.Path(sys.argv[-1])
text = task.read_text(encoding="utf-8")
front = dict(line.split(": ", 1) for line in text.split("---")[1].strip().splitlines())
task_id = json.loads(front["task_id"])
answer = pathlib.Path(json.loads(front["answer_to"]))
assert os.environ["SUPERVISOR_TASK_ID"] == task_id
assert os.environ["SUPERVISOR_REPORT"] == str(answer)
pathlib.Path("agent.pid").write_text(str(os.getpid()))
report = (f"---\\ntask_id: {task_id}\\nverdict: concerns\\nproposals:\\n"
          "  - kind: risk_rule\\n    title: Lower the leverage cap\\n"
          "    rationale: two halts this week\\n    changes: {max_leverage: 1.5}\\n"
          "  - kind: retrain\\n    title: Retrain the entry model\\n"
          "    target: models/entry.pkl\\n"
          f"---\\n## Summary\\n\\nRead {len(text)} characters of {front['kind']}.\\n")
if behaviour == "ok":
    answer.write_text(report, encoding="utf-8")
    print("report written")
elif behaviour == "hang":
    time.sleep(600)
elif behaviour == "fail":
    print("boom: the model file is missing", file=sys.stderr)
    sys.exit(3)
elif behaviour == "garbage":
    answer.write_bytes(os.urandom(4096) + b"\\x00")
elif behaviour == "nothing":
    pass
elif behaviour == "huge":
    answer.write_text(report + "x" * 3_000_000, encoding="utf-8")
elif behaviour == "escape":
    (answer.parent.parent / "escape.md").write_text(report, encoding="utf-8")
    print("report: ../escape.md")
elif behaviour == "absolute":
    outside = answer.parent.parent / "absolute.md"
    outside.write_text(report, encoding="utf-8")
    print(f"report: {outside}")
elif behaviour == "stdout":
    sys.stdout.write(report)
elif behaviour == "environment":
    seen = sorted(k for k in os.environ if k.upper().startswith(("ANTHROPIC_", "CLAUDE_")))
    answer.write_text(report + f"\\nsecrets seen: {seen}\\nkept: "
                      f"{os.environ.get('SUPERVISOR_TEST_SETTING')}\\n", encoding="utf-8")
elif behaviour == "chatty":
    sys.stderr.write("e" * 1_000_000)
    answer.write_text(report, encoding="utf-8")
'''

FAST_META = """\
enabled: false
timeout_s: 20
report_max_bytes: 65536
capture_max_bytes: 4096
"""


def meta_config(root: Path, behaviour: str | None, *, meta_yaml: str = FAST_META,
                llm_yaml: str = "enabled: false\n") -> Path:
    """A config folder under ``root``; ``behaviour`` None: no command (built-in agent)."""
    config = write_config(root, meta_yaml=meta_yaml, llm_yaml=llm_yaml)
    bot = root / "bot"
    (bot / "models").mkdir(parents=True, exist_ok=True)
    (bot / "run_bot.py").write_text("print('trading')\n", encoding="utf-8")
    (bot / "models" / "entry.pkl").write_bytes(b"model")
    script = root / "meta_agent.py"
    script.write_text(AGENT, encoding="utf-8")
    command = ("[]" if behaviour is None else
               f'["{{python}}", "{script.as_posix()}", "--behaviour", "{behaviour}"]')
    (config / "paths.yaml").write_text(textwrap.dedent(f"""\
        bot:
          command: ["{{python}}", "run_bot.py"]
          cwd: "{bot.as_posix()}"
        meta_agent:
          command: {command}
          cwd: "{root.as_posix()}"
          inbox: meta/inbox
          outbox: meta/outbox
        data_dir: data
        log_dir: logs
        reports_dir: reports
        """), encoding="utf-8")
    return config


def add_meta_agent(config: Path, root: Path, behaviour: str) -> None:
    """Name the test's Meta-Agent in an existing paths.yaml (one written by write_config)."""
    script = root / "meta_agent.py"
    script.write_text(AGENT, encoding="utf-8")
    with open(config / "paths.yaml", "a", encoding="utf-8") as paths:
        paths.write(textwrap.dedent(f"""\
            meta_agent:
              command: ["{{python}}", "{script.as_posix()}", "--behaviour", "{behaviour}"]
              cwd: "{root.as_posix()}"
              inbox: meta/inbox
              outbox: meta/outbox
            """))


def meta_settings(root: Path, behaviour: str | None, **kwargs: str) -> Settings:
    return load_settings(meta_config(root, behaviour, **kwargs))


def files_under(root: Path) -> set[Path]:
    return {path for path in root.rglob("*") if path.is_file()}
