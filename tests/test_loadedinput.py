"""serve's view of the loaded input, from the EEMBC commands it relays (harness.loadedinput)."""
from __future__ import annotations

from harness.loadedinput import LoadedInput


def test_db_load_then_hex_chunks_make_the_input_and_infer_sets_the_iterations():
    loaded = LoadedInput()
    assert loaded.data is None and loaded.iterations == 0
    loaded.feed(b"db load 5%")
    loaded.feed(b"db 0102%")
    assert loaded.data is None  # 2 of 5 bytes
    loaded.feed(b"db 030405ff%")  # one byte past N: the firmware stops at N
    assert loaded.data == bytes([1, 2, 3, 4, 5])
    loaded.feed(b"infer 70 10%")
    assert loaded.iterations == 70
    loaded.feed(b"infer 20%")
    assert loaded.iterations == 20


def test_a_new_load_starts_over_and_other_commands_change_nothing():
    loaded = LoadedInput()
    loaded.feed(b"db load 2%")
    loaded.feed(b"db aabb%")
    for other in (b"name%", b"db print 2%", b"db xyz%", b"db 123%", b"infer x%", b"results%"):
        loaded.feed(other)
    assert loaded.data == b"\xaa\xbb" and loaded.iterations == 0
    loaded.feed(b"db load 1%")
    assert loaded.data is None
    loaded.feed(b"db 07%")
    assert loaded.data == b"\x07"
