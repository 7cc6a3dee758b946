"""C++ symbol demangling with binutils' c++filt (Itanium C++ ABI names).

Third-party MLPerf Tiny firmware compiles the official API as C++, so its
`th_timestamp` is the symbol `_Z12th_timestampv`.  Every mangled name of an
image is demangled in one c++filt process (no shell): arm-none-eabi-c++filt
comes with the cross binutils (ci/setup), the host's c++filt reads the same
mangling.  Without either, names stay as they are."""
from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable

CXXFILT = ("arm-none-eabi-c++filt", "c++filt")


def cxxfilt_binary() -> str | None:
    return next((found for found in map(shutil.which, CXXFILT) if found), None)


def demangle_all(names: Iterable[str]) -> dict[str, str]:
    """{mangled: demangled} for every name that looks mangled (`_Z...`) and
    that c++filt could demangle; other names are left out."""
    mangled = sorted({n for n in names if n.startswith("_Z") and "\n" not in n})
    tool = cxxfilt_binary()
    if not mangled or tool is None:
        return {}
    result = subprocess.run([tool], input="\n".join(mangled) + "\n", capture_output=True, text=True, check=False)
    lines = result.stdout.splitlines()
    if result.returncode != 0 or len(lines) != len(mangled):
        return {}
    return {m: d for m, d in zip(mangled, lines) if d != m}


def base_name(demangled: str) -> str:
    """The qualified function name without its parameter list:
    'tflite::ops::Eval(TfLiteContext*, TfLiteNode*)' -> 'tflite::ops::Eval'."""
    depth = 0
    for i, ch in enumerate(demangled):
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif ch == "(" and depth == 0 and i > 0:
            return demangled[:i]
    return demangled
