"""Every command pays for what `import diogen.cli` does: a re-sync is mostly start-up."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import diogen.cli
from diogen.accounts import passwords
heavy = sorted(m for m in ("fastapi", "uvicorn", "starlette") if m in sys.modules)
print(heavy, passwords.dummy_hash.cache_info().currsize)
"""


def test_cli_import_leaves_out_the_web_stack_and_the_argon2_hash() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[] 0"


def test_dummy_hash_is_made_once_and_verifies_nothing_else() -> None:
    from diogen.accounts.passwords import dummy_hash, verify_password

    assert dummy_hash() is dummy_hash()
    assert dummy_hash().startswith("$argon2id$")
    assert not verify_password(dummy_hash(), "correct horse battery staple")
