"""`core` is the library: it never imports streamlit, and nothing downstream is imported by it."""

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "core"


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_never_imports_streamlit_or_the_app():
    files = list(CORE.rglob("*.py"))
    assert len(files) > 5
    offenders = {str(f.relative_to(CORE)): imported_modules(f) & {"streamlit", "app", "pages"}
                 for f in files}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_model_module_imports_only_torch():
    assert imported_modules(CORE / "model.py") - {"__future__", "dataclasses", "torch"} == set()


def test_every_command_is_listed_and_tag_stays_light():
    import subprocess
    import sys

    from core.__main__ import COMMANDS

    root = CORE.parent
    listing = subprocess.run([sys.executable, "-m", "core", "--help"], capture_output=True,
                             text=True, cwd=root, check=True).stdout
    assert all(name in listing for name in COMMANDS)
    code = ("import sys; from core.__main__ import build_parser; build_parser('tag'); "
            "print(sorted(m for m in ('scipy', 'duckdb', 'streamlit', 'sklearn', 'pandas', 'librosa') "
            "if m in sys.modules))")
    heavy = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root,
                           check=True).stdout.strip()
    assert heavy == "[]"


def test_tagging_loads_no_reference_resampler():
    """COALA's resampling is core/resample.py: tagging never pays numba's import and JIT."""
    import subprocess
    import sys

    code = ("import sys, core.tagger, core.audio; "
            "print(sorted(m for m in ('numba', 'resampy', 'librosa', 'soxr') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=CORE.parent, check=True).stdout.strip()
    assert loaded == "[]"
