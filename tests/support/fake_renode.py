"""A stand-in for the `renode` program (tests/test_renode.py runs it as RENODE).

It behaves as Renode does in the cases tinyperf depends on, each taken from
Renode's sources (renode/renode and renode/renode-infrastructure):

- options (src/Renode/UI/Options.cs): -v/--version prints the version and
  exits; --console runs the Monitor on stdin/stdout; --hide-monitor with
  --console is refused; -P/--port; -e; the script is the positional argument.
- without --console and without --port, the Monitor listens on telnet port
  1234 (CommandLineInterface.cs sets Port = 1234 when there is no GUI), Monitor
  errors go to that port, and a second instance dies binding it; with
  --console, errors go to stdout and, at the end of stdin, Renode quits once
  the script has run.
- a .repl attribute that is no constructor parameter of its type is refused
  with Error E25 (CreationDriver.cs, the table in platforms/repl.py); a cpuType
  the pretended version lacks is refused with Error E38 `Unknown CPU type`
  (TranslationCPU.cs); both after `There was an error executing command`
  (Monitor.cs), and the script stops there.

Beyond that it plays the firmware: a UART socket terminal that greets, echoes
`CMD%` as `echo-[CMD]`, writes marker records on `mark%` and exit records on
`exit N%` to the counts file the hooks name.

Environment: FAKE_RENODE_VERSION (default 1.14.0), FAKE_RENODE_MONITOR_PORT
(the telnet port, default 1234), FAKE_RENODE_INFO (a file to which each
instance appends one JSON line: argv, pid, process group, session, whether
stdin is a pipe, the ports it listens on, the script), FAKE_RENODE_FAIL (log
one [ERROR] line and hang).
"""
from __future__ import annotations

import json
import os
import re
import socket
import stat
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from platforms.repl import RENODE_CONSTRUCTOR_PARAMETERS, RENODE_CPU_TYPE_SINCE  # noqa: E402

VERSION = tuple(int(x) for x in os.environ.get("FAKE_RENODE_VERSION", "1.14.0").split("."))
NAMESPACE = "Antmicro.Renode.Peripherals."
listening: list[int] = []
listeners: list[socket.socket] = []  # kept open for the life of the process
script_done = threading.Event()


class MonitorError(Exception):
    """A command failed: the text Renode prints after `There was an error ...`."""


def parse_args(argv: list[str]) -> dict:
    opts = {"console": False, "port": -1, "execute": [], "script": None, "version": False, "hide_monitor": False}
    args = iter(argv)
    for arg in args:
        if arg in ("-v", "--version"):
            opts["version"] = True
        elif arg == "--console":
            opts["console"] = True
        elif arg == "--hide-monitor":
            opts["hide_monitor"] = True
        elif arg in ("-p", "--plain", "--disable-xwt"):
            pass  # --disable-xwt sets HideMonitor only after the check below (Options.cs Validate)
        elif arg in ("-P", "--port"):
            opts["port"] = int(next(args))
        elif arg in ("-e", "--execute"):
            opts["execute"].append(next(args))
        elif arg.startswith("-"):
            print(f"Unknown option: {arg}")
            sys.exit(1)
        else:
            opts["script"] = arg
    return opts


def record_info(opts: dict, script: str) -> None:
    info = os.environ.get("FAKE_RENODE_INFO")
    if info:
        with open(info, "a") as f:
            f.write(json.dumps({"argv": sys.argv, "pid": os.getpid(), "pgid": os.getpgid(0), "sid": os.getsid(0),
                                "stdin_fifo": stat.S_ISFIFO(os.fstat(0).st_mode), "listening": listening,
                                "script": script}) + "\n")


# -- the platform description -------------------------------------------------------

def repl_entries(path: Path) -> list[dict]:
    """Entries of a .repl: name, type, line, and attributes (name, value text, line, column)."""
    entries: list[dict] = []
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("//", 1)[0].rstrip()
        if not line.strip():
            continue
        if not line[0].isspace():
            name, _, rest = line.partition(":")
            entries.append({"name": name.strip(), "type": rest.split("@")[0].strip(), "line": number,
                            "source": raw, "attributes": []})
        elif "->" not in line:
            key, _, value = line.strip().partition(":")
            entries[-1]["attributes"].append((key.strip(), value.strip(), number, len(line) - len(line.lstrip()) + 1))
    return entries


def position_error(code: int, message: str, path: Path, entry: dict) -> MonitorError:
    return MonitorError(f"Error E{code:02d}: {message}\nAt {path}:{entry['line']}:1:\n{entry['source']}\n^")


def load_platform_description(path: Path) -> None:
    if not path.is_file():
        raise MonitorError(f"Could not find file '{path}'")
    for entry in repl_entries(path):
        accepted = RENODE_CONSTRUCTOR_PARAMETERS.get(entry["type"])
        if accepted is None:
            raise position_error(4, f"Could not resolve type: '{entry['type']}'.", path, entry)
        unused = [a for a in entry["attributes"] if a[0] not in accepted]
        if unused:
            report = [f"Could not find suitable constructor for type '{NAMESPACE}{entry['type']}'.",
                      "Constructor selection report:", "", "Considering ctor Void .ctor(...).",
                      f"  Constructor rejected, {len(unused)} unused attributes left:"]
            report += [f"    '{key}' with value '[NumericalValue: {value}]' at {path}:{line}:{column}"
                       for key, value, line, column in unused]
            raise position_error(25, "\n".join(report), path, entry)
        cpu_type = next((v.strip('"') for k, v, _, _ in entry["attributes"] if k == "cpuType"), None)
        if cpu_type is not None and RENODE_CPU_TYPE_SINCE.get(cpu_type, (99, 0, 0)) > VERSION:
            raise position_error(38, f"Exception was thrown during construction of '{entry['name']}':\n"
                                     "Unknown CPU type\n", path, entry)


# -- the Monitor ----------------------------------------------------------------------

class Session:
    def __init__(self) -> None:
        self.variables: dict[str, str] = {}
        self.terminals: dict[str, socket.socket] = {}
        self.uart: socket.socket | None = None
        self.counts: str | None = None
        self.markers: list[str] = []

    def run(self, command: str) -> None:
        words = command.split()
        path_arg = command.split(None, 2)[-1].strip('"@') if len(words) >= 3 else ""
        if words[:2] == ["mach", "create"]:
            return
        if words[:2] == ["machine", "LoadPlatformDescription"]:
            load_platform_description(Path(path_arg))
        elif words[:2] == ["sysbus", "LoadELF"]:
            if not Path(path_arg).is_file():
                raise MonitorError(f"Could not find file '{path_arg}'")
        elif len(words) == 3 and words[0] == "sysbus.cpu" and words[1] in ("VectorTableOffset", "PerformanceInMips"):
            int(words[2], 0)
        elif words[:2] == ["sysbus.cpu", "AddHook"]:
            body = self.variables.get(words[3].lstrip("$"))
            if body is None:
                raise MonitorError(f"No such variable: {words[3]}")
            found = re.search(r"open\('([^']+)', 'a'\)", body)
            self.counts = found.group(1) if found else self.counts
            self.markers += re.findall(r"f\.write\('M ([0-9a-f]+) '", body)
        elif words[:2] == ["emulation", "CreateServerSocketTerminal"]:
            port, name = int(words[2]), words[3].strip('"')
            server = socket.socket()
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("127.0.0.1", port))
            server.listen(1)
            listening.append(port)
            self.terminals[name] = server
        elif words[:2] == ["connector", "Connect"]:
            if words[2] != "sysbus.uart0" or words[3] not in self.terminals:
                raise MonitorError(f"No such peripheral or terminal: {words[2]} {words[3]}")
            self.uart = self.terminals[words[3]]
        elif words == ["start"]:
            if self.uart is not None:
                threading.Thread(target=self.serve_uart, daemon=True).start()
        else:
            raise MonitorError(f"No such command or device: {words[0]}")

    def serve_uart(self) -> None:
        conn, _ = self.uart.accept()
        conn.sendall(b"fake-renode ready\n")
        count, buf = 0, b""
        while True:
            data = conn.recv(4096)
            if not data:
                return
            buf += data
            while b"%" in buf:
                cmd, buf = buf.split(b"%", 1)
                count = self.firmware_command(conn, cmd.decode(), count)

    def firmware_command(self, conn: socket.socket, cmd: str, count: int) -> int:
        if cmd == "mark":
            with open(self.counts, "a") as f:
                for m in self.markers:
                    count += 10
                    f.write("M %s %d\n" % (m, count))
            conn.sendall(b"marked\n")
        elif cmd.startswith("exit "):
            with open(self.counts, "a") as f:
                f.write("T %d\nX %d\nE\n" % (count, int(cmd[5:]) & 0xff))
        else:
            conn.sendall(("echo-[%s]\n" % cmd).encode())
        return count


def script_commands(text: str) -> list[tuple[str, str | None]]:
    """(command, multi-line string set by it) pairs: `set NAME` takes the \"\"\" block after it."""
    commands, lines = [], iter(text.splitlines())
    for line in lines:
        if not line.strip() or line.startswith(":"):
            continue
        if line.startswith("set ") and len(line.split()) == 2:
            if next(lines).strip() != '"""':
                raise SystemExit("fake renode: `set` without a string block")
            body = []
            for inner in lines:
                if inner.strip() == '"""':
                    break
                body.append(inner)
            commands.append((line, "\n".join(body)))
        else:
            commands.append((line.strip(), None))
    return commands


def open_telnet_monitor(port: int) -> None:
    server = socket.socket()
    try:
        server.bind(("0.0.0.0", port))
    except OSError as err:
        print("FATAL UNHANDLED EXCEPTION: System.Net.Sockets.SocketException (98): Address already in use "
              f"({err.strerror})", flush=True)
        sys.exit(1)
    server.listen(1)
    listeners.append(server)
    listening.append(port)
    print(f"12:00:00.0000 [INFO] Monitor available in telnet mode on port {port}", flush=True)


def quit_at_end_of_stdin() -> None:
    while sys.stdin.buffer.read(4096):
        pass
    script_done.wait()
    os._exit(0)


def main() -> int:
    opts = parse_args(sys.argv[1:])
    if opts["version"]:
        print(f"Renode v{'.'.join(map(str, VERSION))}.12345 (fake-build)")
        return 0
    if opts["hide_monitor"] and opts["console"]:
        print("--hide-monitor and --console cannot be set at the same time")
        return 1
    script = Path(opts["script"]).read_text() if opts["script"] else ""
    if os.environ.get("FAKE_RENODE_FAIL"):
        record_info(opts, script)
        print("12:00:00.0000 [ERROR] cpu: fake failure while loading the platform", flush=True)
        time.sleep(60)
    if opts["console"]:
        threading.Thread(target=quit_at_end_of_stdin, daemon=True).start()
    else:
        open_telnet_monitor(opts["port"] if opts["port"] >= 0 else int(os.environ.get("FAKE_RENODE_MONITOR_PORT",
                                                                                      "1234")))
    session = Session()
    for command, body in script_commands(script) + [(e, None) for e in opts["execute"]]:
        if body is not None:
            session.variables[command.split()[1]] = body
            continue
        try:
            session.run(command)
        except MonitorError as err:
            if opts["console"]:  # else the error goes to the telnet client
                print(f"There was an error executing command '{command}'\n{err}", flush=True)
            break
    record_info(opts, script)
    script_done.set()
    time.sleep(60)  # like Renode: does not quit by itself
    return 0


if __name__ == "__main__":
    sys.exit(main())
