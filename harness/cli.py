"""The `tinyperf` command line."""
from __future__ import annotations

import json
import math
import os
import signal
import sys
import threading
from dataclasses import replace
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from harness.openmodel import resolve
from platforms import catalog
from sim.elf import FirmwareImage
from tinyperf_errors import EXIT_USAGE, TinyperfError

console = Console(width=None if sys.stdout.isatty() else 240)  # logs and pipes: wide enough for the summary, no truncated figures
err_console = Console(stderr=True, soft_wrap=True)

EXIT_NO_VERDICT = 75  # sysexits EX_TEMPFAIL: samples without a verdict (emulator lost); --resume them
EXIT_TIMEOUT = 124
EXIT_INTERRUPTED = 130


class CliError(TinyperfError):
    """A one-line error the command line itself finds (exit code given per error)."""


def _platform(spec: str | None):
    """A catalog platform by name, or a platform TOML by path (harness.target)."""
    from harness.target import resolve_platform

    return resolve_platform(spec)


def _window(image: FirmwareImage, spec: str | None, required: bool = False):
    """The measurement window (harness.target's precedence); with required, a usage error when there is none."""
    from harness.target import find_window, require_window

    return require_window(image, spec) if required else find_window(image, spec)


def _firmware(target: str | None, platform, kernels: str = "ref", model: Path | None = None):
    """BENCH, ELF path or --model -> (FirmwareImage, Benchmark or None), as every command resolves it."""
    from harness.target import resolve_firmware

    return resolve_firmware(target, platform, kernels, model)


PLATFORM_HELP = "Platform: a name from 'tinyperf platforms' or a platform TOML path (default: the default platform)."
WINDOW_HELP = ("Measurement window: BEGIN:END (entry of BEGIN to entry of END) or F (return of F to its next entry); "
               "function names, C++ ones without parameters. Default: tp_mark_begin:tp_mark_end, else th_timestamp.")


class FiniteFloat(click.FloatRange):
    """A FloatRange that also refuses nan and inf: nan compares false with any
    bound, so FloatRange alone lets it through (and a nan limit never trips)."""

    name = "finite float"

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


MAX_TIMEOUT_S = 7 * 24 * 3600.0  # a week: longer is a typo, and time.monotonic() + 1e300 never arrives
SEED = click.IntRange(min=0)  # numpy's generator takes non-negative seeds
INT32 = 2**31 - 1  # the firmware parses counts as int32 (and saturates there)
MAX_INPUT_BYTES = 16 * 2**20  # exec's UART input: over ten minutes at the emulated UART's ~25 kB/s
# Emulators (or compilers) at once: each QEMU takes a core and ~100 MB, so far more than
# the cores only thrashes; a mistyped --jobs 100000 must not start that many.
JOBS = click.IntRange(min=1, max=max(64, 4 * (os.cpu_count() or 1)))


def _print_json(data) -> None:
    click.echo(json.dumps(data, indent=2))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tinyperf")
def cli() -> None:
    """tinyperf: MLPerf Tiny benchmarks on emulated Cortex-M boards, with exact instruction counts."""


@cli.command("platforms")
@click.option("--json", "as_json", is_flag=True, help="Print the catalog as JSON.")
def platforms_cmd(as_json: bool) -> None:
    """List the emulated boards."""
    boards = list(catalog().values())
    if as_json:
        _print_json([p.to_dict() for p in boards])
        return
    table = Table(title="tinyperf platforms")
    for col in ("name", "core", "QEMU machine", "clock MHz", "flash", "RAM", "UART", "description"):
        table.add_column(col)
    for p in boards:
        table.add_row(p.name + (" (default)" if p.default else ""), p.core, p.machine, f"{p.clock_mhz:g}",
                      f"{p.flash.size // 1024} KiB @0x{p.flash.base:08x}", f"{p.ram.size // 1024} KiB @0x{p.ram.base:08x}",
                      f"0x{p.uart.base:08x}", p.description)
    console.print(table)


@cli.command("exec")
@click.argument("elf", type=click.Path(path_type=Path))
@click.option("--platform", "-p", "platform_name", help=PLATFORM_HELP)
@click.option("--timeout", default=60.0, show_default=True, type=FiniteFloat(min=0.1, max=MAX_TIMEOUT_S),
              help="Seconds before the run is stopped.")
@click.option("--input", "input_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Bytes to send to the UART (default: stdin when it is not a terminal).")
@click.option("--icount", is_flag=True, help="Deterministic time: QEMU -icount, virtual time follows instructions.")
@click.option("--backend", type=click.Choice(["qemu", "renode"]), default="qemu", show_default=True,
              help="Emulator: QEMU, or Renode (optional, installed separately).")
@click.option("--until-idle", is_flag=True,
              help="Protocol firmware: end (exit 0) once every command of the input got its m-ready and the UART is quiet.")
@click.option("--window", "window_spec", metavar="BEGIN[:END]", help=WINDOW_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of streaming output.")
def exec_cmd(elf: Path, platform_name: str | None, timeout: float, input_file: Path | None, icount: bool,
             backend: str, until_idle: bool, window_spec: str | None, as_json: bool) -> None:
    """Run any firmware ELF until it exits (semihosting) or times out; print its counts.

    Exits with the firmware's exit code (0 with --until-idle once idle), 124 on timeout."""
    from harness.execute import execute

    platform = _platform(platform_name)
    firmware = FirmwareImage(elf)
    if input_file:
        with input_file.open("rb") as stream:
            data = _bounded_input(stream, str(input_file))
    elif not sys.stdin.isatty():
        data = _bounded_input(sys.stdin.buffer, "stdin")
    else:
        data = b""

    def stream(chunk: bytes) -> None:
        sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()

    window = _window(firmware, window_spec)
    result = execute(platform, firmware, data, timeout, icount, on_output=None if as_json else stream, backend=backend,
                     until_idle=until_idle, window=window)
    if as_json:
        _print_json(result.to_dict())
    else:
        if result.uart and not result.uart.endswith("\n"):
            click.echo()
        summary = (f"exit code {result.exit_code}, {result.instructions} instructions, {result.cycles} cycles "
                   f"(CPI {result.cpi}, {result.cycle_model}), {result.wall_s:.3f} s wall, {result.mips} MIPS "
                   f"on {platform.name}")
        err_console.print(f"[bold]tinyperf:[/] {summary}", highlight=False)
        for i, count in enumerate(result.windows):
            err_console.print(f"  window {i}: {count} instructions", highlight=False)
    if result.error and result.exit_code is None:
        raise CliError(result.error, EXIT_TIMEOUT)
    if result.error and result.exit_code != 0 and not result.error.startswith("firmware exited"):
        raise CliError(result.error, result.exit_code if result.exit_code and result.exit_code > 0 else 1)
    sys.exit(result.exit_code or 0)


@cli.command("selftest")
@click.option("--platform", "-p", "platform_names", multiple=True, help="Only these platforms: names or TOML paths (repeatable).")
@click.option("--rebuild", is_flag=True, help="Build the self-test firmware instead of using the prebuilt ELFs.")
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
def selftest_cmd(platform_names: tuple[str, ...], rebuild: bool, as_json: bool) -> None:
    """Check UART both ways and paper-exact instruction counts on every platform."""
    from harness.selftest import LOOP_PASSES, run_selftest

    boards = [_platform(n) for n in platform_names] or list(catalog().values())
    results = []
    with console.status("running self-tests") as status:
        for p in boards:
            status.update(f"self-test on {p.name}")
            results.append(run_selftest(p, rebuild))
    if as_json:
        _print_json([r.to_dict() for r in results])
    else:
        table = Table(title=f"tinyperf selftest ({LOOP_PASSES} loop passes)")
        for col in ("platform", "QEMU machine", "UART", "counts (alu, mmio, call)", "paper", "with -icount", "exit", "result"):
            table.add_column(col)
        for r in results:
            table.add_row(r.platform, r.machine, "ok" if r.uart_ok else "FAIL", str(r.counts), str(r.expected),
                          str(r.counts_icount), "ok" if r.exit_ok else "FAIL",
                          "[green]PASS[/]" if r.passed else f"[red]FAIL[/] {r.error or ''}")
        console.print(table)
    if not all(r.passed for r in results):
        failed = [r for r in results if not r.passed]
        reasons = "; ".join(f"{r.platform}: {r.error or 'counts, UART or exit code differ'}" for r in failed)
        raise CliError(f"selftest failed on {len(failed)} platform(s): {reasons}")


@cli.command("run")
@click.argument("benches", nargs=-1)
@click.option("--platform", "-p", "platform_name", help=PLATFORM_HELP)
@click.option("--mode", "-m", "modes", multiple=True, type=click.Choice(["perf", "verify", "accuracy", "energy"]),
              help="Repeatable; default: perf + verify.  energy: the official energy loop on modeled power.")
@click.option("--supply-v", type=click.FloatRange(min=0.5, max=5.0),
              help="Energy: supply voltage the power monitor sets (default: the platform's [power] supply_v).")
@click.option("--elf", type=click.Path(path_type=Path), help="Your firmware ELF instead of the prebuilt one (one benchmark).")
@click.option("--kernels", type=click.Choice(["ref", "opt"]), default="ref", show_default=True,
              help="Which prebuilt kernel set to run.")
@click.option("--dataset-path", type=click.Path(path_type=Path),
              help="Accuracy set in the official layout (<dir>/<id>/y_labels.csv + files).")
@click.option("--samples", "-n", type=click.IntRange(min=1), help="Inputs per benchmark (default: 10 without a dataset, all with one).")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the synthetic inputs.")
@click.option("--jobs", "-j", type=JOBS, default=os.cpu_count() or 1, show_default=True,
              help="Emulators in parallel.")
@click.option("--results", "results_dir", type=click.Path(path_type=Path), default=Path("results"), show_default=True)
@click.option("--resume", "resume_dir", type=click.Path(path_type=Path), help="Continue an interrupted run folder.")
@click.option("--fail-fast", is_flag=True, help="Stop at the first failed sample.")
@click.option("--icount", is_flag=True, help="Deterministic time (QEMU -icount), for firmware that takes timer interrupts.")
@click.option("--backend", type=click.Choice(["qemu", "renode"]), default="qemu", show_default=True,
              help="Emulator: QEMU, or Renode (optional, installed separately).")
@click.option("--window", "window_spec", metavar="BEGIN[:END]", help=WINDOW_HELP)
@click.option("--model", "model_path", type=click.Path(path_type=Path),
              help="Open division: your .tflite (alone: raw int8 tensors in and out; after a benchmark name: "
                   "in place of its model, with its inputs, data set and scoring).")
@click.option("--iterations", type=click.IntRange(min=1),
              help="With --model: inferences in the perf window (default: from the model's MACs).")
@click.option("--json", "as_json", is_flag=True, help="Print results.json to stdout instead of the table.")
def run_cmd(benches, platform_name, modes, supply_v, elf, kernels, dataset_path, samples, seed, jobs, results_dir, resume_dir,
            fail_fast, icount, backend, window_spec, model_path, iterations, as_json) -> None:
    """Run MLPerf Tiny benchmarks (kws vww ic ad by default), or your model (--model), on an emulated board."""
    from harness import run_cmd as rc
    from harness.report import memory_lines, results_document, summary_table
    from harness.runner import BenchRun, save_run_spec

    quiet = as_json or not sys.stderr.isatty()
    progress_console = Console(stderr=True)
    if backend == "renode":
        from sim.renode import renode_binary
        renode_binary()  # a missing Renode fails here, before any run folder is made
    runs = []
    if resume_dir:
        run, _ = rc.run_from_spec(resume_dir)
        run.fail_fast = fail_fast
        runs.append(run)
    else:
        platform = _platform(platform_name)
        if iterations and not model_path:
            raise CliError("--iterations needs --model: the benchmarks run the official loop counts", EXIT_USAGE)
        chosen = resolve(benches, model_path) if model_path else rc.resolve_benchmarks(benches)
        if iterations:
            chosen = [replace(b, perf_iterations=iterations) for b in chosen]
        if elf and len(chosen) != 1:
            raise CliError("--elf runs one benchmark: name it, e.g. 'tinyperf run kws --elf my.elf'", EXIT_USAGE)
        if dataset_path and not dataset_path.is_dir():
            what = "path {} is not a folder" if dataset_path.exists() else "folder {} does not exist"
            raise CliError(f"dataset {what.format(dataset_path)}: pass the folder holding ic01/ kws01/ vww01/ ad01/",
                           EXIT_USAGE)
        chosen_modes = tuple(modes or ("perf", "verify"))
        for bench in chosen:
            firmware = rc.firmware_for(bench, platform, elf, kernels)
            window = _window(firmware, window_spec, required="perf" in chosen_modes)
            run = BenchRun(bench, platform, firmware, chosen_modes,
                           rc.inputs_for(bench, dataset_path, samples, seed), Path(), jobs, fail_fast, icount,
                           backend=backend, supply_v=supply_v, window=window, window_spec=window_spec)
            runs.append((run, dataset_path, seed, samples))
        prepared = []
        for run, dataset, seed_, count in runs:
            run.run_dir = rc.new_run_dir(results_dir, run.bench, platform)
            save_run_spec(run.run_dir, rc.spec_of(run, dataset, seed_, count))
            prepared.append(run)
        runs = prepared
    results = []
    for run in runs:
        results.append(rc.execute_bench(run, progress_console, quiet))
        if not as_json:
            err_console.print(f"results: {run.run_dir}", highlight=False)
            if results[-1].energy:
                err_console.print(f"{run.bench.name} on {run.platform.name} ({results[-1].energy['loop']}, "
                                  f"{results[-1].energy['supply_v']:g} V, {results[-1].energy['power_model']}, modeled): "
                                  f"{results[-1].energy['runner_line']}", highlight=False)
    if as_json:
        _print_json(results_document(results))
    else:
        console.print(summary_table(results))
        for line in memory_lines(results):
            err_console.print(f"tinyperf: {line}", highlight=False)
    problem = rc.failure_line(results)
    if problem:
        raise CliError(problem)
    lost = rc.no_verdict_line(results, [run.run_dir for run in runs])
    if lost:
        raise CliError(lost, EXIT_NO_VERDICT)


@cli.command("build")
@click.argument("benches", nargs=-1)
@click.option("--platform", "-p", "platform_names", multiple=True, help="Platforms: names or platform TOML paths (repeatable; default: all).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("build"),
              show_default=True, help="Folder for the ELFs (<out>/<kernels>/<platform>/<bench>/<bench>.elf).")
@click.option("--kernels", type=click.Choice(["ref", "opt"]), default="ref", show_default=True,
              help="Kernel set: portable C, or DSP-optimized (M4/M7/M33/M55; portable on M0+/M3).")
@click.option("--selftest", is_flag=True, help="Also build the self-test firmware.")
@click.option("--prebuilt", is_flag=True, help="Maintainers: refresh firmware_bins/ and its manifest.")
@click.option("--jobs", "-j", type=JOBS, default=os.cpu_count() or 1, show_default=True, help="Parallel builds.")
@click.option("--model", "model_path", type=click.Path(path_type=Path),
              help="Open division: compile your .tflite (alone: the raw firmware; after a benchmark name: "
                   "in place of its model).")
def build_cmd(benches: tuple[str, ...], platform_names: tuple[str, ...], out_dir: Path, kernels: str,
              selftest: bool, prebuilt: bool, jobs: int, model_path: Path | None) -> None:
    """Build benchmark firmware (all of kws vww ic ad by default), or your model (--model), from firmware/ sources."""
    from harness.build import BENCHES, build_set, describe, publish_prebuilt
    from harness.report import check_writable

    from harness.benchmarks import get_benchmark

    if model_path and (prebuilt or selftest):
        raise CliError("--model builds one model's firmware: drop --prebuilt/--selftest", EXIT_USAGE)
    if not prebuilt:
        check_writable(out_dir, "--out")
    boards = [_platform(n) for n in platform_names] or list(catalog().values())
    if model_path:
        from harness.openmodel import build_for, firmware_id

        bench = resolve(benches, model_path)[0]
        with console.status(f"building {bench.model_file} for {len(boards)} platform(s)"):
            images = [describe(build_for(bench, board, kernels, out_dir.resolve() / kernels / board.name / bench.name),
                               board, firmware_id(bench), kernels) for board in boards]
        _print_built(images, boards)
        return
    benches = tuple(get_benchmark(b).name for b in benches)
    names = list(benches or BENCHES) + (["selftest"] if selftest or prebuilt else [])
    with console.status(f"building {len(names) * len(boards)} images"):
        if prebuilt:  # both kernel sets; the self-test firmware has no kernels
            boards = [b for b in boards if not b.prebuilt_from]  # boards that run their core's ELFs
            images = build_set(boards, names, None, "ref", jobs)
            images += build_set(boards, [n for n in names if n != "selftest"], None, "opt", jobs)
            publish_prebuilt(images)
        else:
            images = build_set(boards, names, out_dir.resolve(), kernels, jobs)
    _print_built(images, boards)


def _print_built(images, boards) -> None:
    from harness.modelinfo import record_from_elf
    from harness.portable import portable_layers, portable_line

    table = Table(title="built firmware")
    for col in ("benchmark", "model", "platform", "kernels", "flash B", "RAM B", "arena B", "ELF"):
        table.add_column(col)
    for image in images:
        table.add_row(image.benchmark, image.model or "-", image.platform, image.kernels, str(image.flash_bytes),
                      str(image.ram_bytes), str(image.arena_bytes or "-"), image.elf)
    console.print(table)
    platforms = {board.name: board for board in boards}
    for image in images:  # no silent fallback: an opt image names every layer on the portable path
        record = record_from_elf(Path(image.elf)) if image.kernels == "opt" else None
        if record is None:
            continue
        found = portable_layers(record.layers, platforms[image.platform])
        if found and all(reason == "the core has no DSP extension" for _, _, reason in found):
            err_console.print(f"tinyperf: note: {image.benchmark} on {image.platform}: every layer runs the portable "
                              "kernels (the core has no DSP extension)", highlight=False)
            continue
        for symbol, op, reason in found:
            err_console.print(f"tinyperf: note: {image.benchmark} on {image.platform}: "
                              f"{portable_line(symbol, op, reason)}", highlight=False)


@cli.command("port")
@click.option("--platform", "-p", "platform_name", help=PLATFORM_HELP)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for the kit (created; existing kit files are overwritten).")
def port_cmd(platform_name: str | None, out_dir: Path) -> None:
    """Write the port kit for a platform: what a third-party MLPerf Tiny submission
    needs to run on it (startup, linker script, UART/timer drivers, th_* functions).

    See the README's "Porting a submission" section."""
    from harness.port import write_kit

    platform = _platform(platform_name)
    try:
        files = write_kit(platform, out_dir)
    except OSError as err:
        raise CliError(f"cannot write the kit to {out_dir}: {err.strerror}; pass a writable --out folder") from None
    click.echo(f"tinyperf: port kit for {platform.name} in {out_dir}: " + " ".join(f.name for f in files))
    click.echo(f"tinyperf: in your Makefile: include {out_dir.resolve()}/port.mk", err=True)


@cli.command("profile")
@click.argument("target", metavar="[BENCH|ELF]", required=False)
@click.option("--platform", "-p", "platform_name", help=PLATFORM_HELP)
@click.option("--iterations", "-n", type=click.IntRange(min=1, max=INT32), default=3, show_default=True,
              help="Inferences in the measured window (per-inference counts are deterministic; "
                   "pass the official N, e.g. 70 for kws, to mirror 'tinyperf run').")
@click.option("--warmups", type=click.IntRange(min=0, max=INT32), default=1, show_default=True, help="Inferences before the window.")
@click.option("--outputs", "output_samples", type=click.IntRange(min=0), default=3, show_default=True,
              help="Seeded default inputs whose raw outputs are digested for 'tinyperf compare'.")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the synthetic inputs.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the profile files (default: results/<stamp>-<bench>-<platform>-profile).")
@click.option("--top", type=click.IntRange(min=1), default=15, show_default=True, help="Functions shown in the table.")
@click.option("--model", "model_path", type=click.Path(path_type=Path),
              help="Open division: profile your .tflite, built for the platform (BENCH then gives the inputs).")
@click.option("--kernels", type=click.Choice(["ref", "opt"]), default="ref", show_default=True,
              help="Kernel set of a benchmark's or --model's image.")
@click.option("--window", "window_spec", metavar="BEGIN[:END]", help=WINDOW_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print profile.json to stdout instead of the tables.")
def profile_cmd(target: str | None, platform_name: str | None, iterations: int, warmups: int, output_samples: int,
                seed: int, out_dir: Path | None, top: int, model_path: Path | None, kernels: str,
                window_spec: str | None, as_json: bool) -> None:
    """Where the perf window's instructions and cycles go: per layer and per function.

    Writes profile.json, layers.csv, functions.csv, profile.png, stacks.folded (flame-graph
    collapsed stacks, cycles) and results.json into the output folder."""
    from harness import profile as prof
    from harness.report import check_writable

    platform = _platform(platform_name)
    check_writable(out_dir or Path("results"), "--out")
    firmware, bench = _firmware(target, platform, kernels, model_path)
    window = _window(firmware, window_spec, required=True)
    with console.status(f"profiling {target or model_path} on {platform.name}"):
        result = prof.run_profile(platform, firmware, bench, iterations, warmups, output_samples, seed, window=window)
    elf = firmware.path
    out = out_dir or prof.default_out_dir(Path("results"), result.benchmark or Path(elf).stem, platform)
    prof.write_profile(result, out)
    if as_json:
        _print_json(result.to_dict())
        return
    if result.layers is not None:
        console.print(prof.layer_table(result))
    elif result.operators:
        console.print(prof.operator_table(result))
    console.print(prof.function_table(result, top))
    err_console.print(f"tinyperf: {prof.summary_line(result)}", highlight=False)
    for note in result.notes:
        err_console.print(f"tinyperf: note: {note}", highlight=False)
    err_console.print(f"profile: {out}", highlight=False)


@cli.command("compare")
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@click.option("--platform", "-p", "platform_name", help="Platform (name or TOML path) for ELF sides (default: a folder's, else the default).")
@click.option("--max-regression", type=FiniteFloat(min=0), default=2.0, show_default=True,
              help="Fail when B's cycles per inference exceed A's by more than this many percent.")
@click.option("--iterations", "-n", type=click.IntRange(min=1, max=INT32),
              help="Inferences in the window when profiling ELFs (default: a profile folder's, else 3).")
@click.option("--outputs", "output_samples", type=click.IntRange(min=0), default=3, show_default=True,
              help="Seeded inputs whose raw outputs are compared when profiling ELFs.")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the synthetic inputs.")
@click.option("--junit", "junit_file", type=click.Path(dir_okay=False, path_type=Path), help="Also write JUnit XML here.")
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True,
              help="Functions shown when there are no layers.")
@click.option("--model", "model_path", type=click.Path(path_type=Path),
              help="Open division: A and B may then be kernel sets (ref, opt) of your .tflite's image.")
@click.option("--window", "window_spec", metavar="BEGIN[:END]", help=WINDOW_HELP + " (for ELF sides)")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def compare_cmd(a: str, b: str, platform_name: str | None, max_regression: float, iterations: int | None,
                output_samples: int, seed: int, junit_file: Path | None, top: int, model_path: Path | None,
                window_spec: str | None, as_json: bool) -> None:
    """Compare two builds: per-layer (or per-function) instruction and cycle deltas, and outputs.

    A and B are result folders ('tinyperf profile' or 'tinyperf run'), ELFs of one benchmark, or a
    benchmark name (its prebuilt ELF).  Exits 1 when cycles grow more than --max-regression
    percent or any output differs."""
    from harness import compare as cmp
    from harness.report import atomic_write

    if platform_name is not None:
        _platform(platform_name)
    with console.status("comparing"):
        side_a, side_b = cmp.resolve_sides(a, b, platform_name, iterations, output_samples, seed,
                                           window_spec=window_spec, model=model_path)
    result = cmp.compare_sides(side_a, side_b, max_regression)
    if junit_file is not None:
        atomic_write(junit_file, cmp.junit_xml(result))
    if as_json:
        _print_json(result.to_dict())
    else:
        console.print(cmp.comparison_table(result, top))
        for line in cmp.summary_lines(result):
            console.print(line, highlight=False)
    if not result.passed:
        raise CliError("compare failed: " + "; ".join(result.failures))


@cli.command("serve")
@click.argument("target", metavar="[BENCH|ELF]", required=False)
@click.option("--platform", "-p", "platform_name", help=PLATFORM_HELP)
@click.option("--pace/--no-pace", default=True, show_default=True,
              help="Hold each reply until host time has caught up with the emulated time it took.")
@click.option("--link", type=click.Path(dir_okay=False, path_type=Path),
              help="Also make this symlink to the pty (removed on exit).")
@click.option("--icount", is_flag=True, help="Deterministic time: QEMU -icount, virtual time follows instructions.")
@click.option("--command-timeout", type=FiniteFloat(min=1, max=MAX_TIMEOUT_S), default=300.0, show_default=True,
              help="Seconds the board may take over one command before it is restarted (the command gets an error).")
@click.option("--energy", is_flag=True,
              help="Also serve an emulated interface board and LPM01A power monitor (the runner's energy mode).")
@click.option("--window", "window_spec", metavar="BEGIN[:END]", help=WINDOW_HELP)
@click.option("--model", "model_path", type=click.Path(path_type=Path),
              help="Open division: serve your .tflite's image (after BENCH: in place of its model).")
@click.option("--kernels", type=click.Choice(["ref", "opt"]), default="ref", show_default=True,
              help="Kernel set of the --model image.")
def serve_cmd(target: str | None, platform_name: str | None, pace: bool, link: Path | None, icount: bool,
              command_timeout: float, energy: bool, window_spec: str | None, model_path: Path | None,
              kernels: str) -> None:
    """Serve the emulated board's UART on a pseudo-terminal until Ctrl-C.

    BENCH (kws vww ic ad) is the prebuilt firmware for the platform.  Prints the
    pty's path; serial clients (pyserial, minicom, the official runner) open it
    like a real board's port.  m-lap-us lines carry emulated board time.  With
    --energy, prints `dut PATH`, `interface PATH` and `power PATH` lines instead."""
    from harness.serve import Server, check_link

    platform = _platform(platform_name)
    firmware, _bench = _firmware(target, platform, kernels, model_path)
    elf = firmware.path
    model = _energy_model(platform) if energy else None
    firmware.check_fits(platform)  # before calibration, which would report the same problem first
    if link:
        check_link(link)
    window = _window(firmware, window_spec)
    cpi = _serve_cpi(platform, firmware, icount, window)
    server = Server(platform, firmware, pace=pace, link=link, icount=icount, command_timeout=command_timeout,
                    cycles_for=(lambda n: round(n * cpi)) if cpi else (lambda n: n), exact_windows=energy,
                    window=window, memory_for=_window_memory(platform, firmware, icount) if energy else None)
    bench = None
    if model is not None:
        from harness.benchdevices import EnergyBench
        bench = EnergyBench(server, model)
    signal.signal(signal.SIGINT, _interrupt)  # also when started in the background
    try:
        if bench is not None:
            paths = bench.start()
            for kind, path in paths.items():
                click.echo(f"{kind} {path}")
            click.echo(f"tinyperf: energy bench for {elf} on {platform.name}: interface board at {paths['interface']}, "
                       f"LPM01A at {paths['power']} ({model.name}, modeled), DUT at {paths['dut']}; Ctrl-C to stop",
                       err=True)
        else:
            path = server.start()
            click.echo(path)
            click.echo(f"tinyperf: serving {elf} on {platform.name} ({platform.clock_mhz:g} MHz) at {path}"
                       + (f" (link {link})" if link else "") + f"; pacing {'on' if pace else 'off'}; Ctrl-C to stop",
                       err=True)
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("tinyperf: serve stopped", err=True)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        (bench or server).close()


@cli.command("runner", context_settings={"ignore_unknown_options": True})
@click.argument("runner_dir", type=click.Path(file_okay=False, path_type=Path))
@click.argument("runner_args", nargs=-1, type=click.UNPROCESSED)
@click.option("--bench", "target", required=True, metavar="BENCH|ELF",
              help="Firmware the emulated DUT runs: a benchmark's prebuilt image or an ELF.")
@click.option("--platform", "-p", "platform_name", help=PLATFORM_HELP)
@click.option("--pace/--no-pace", default=True, show_default=True,
              help="Hold each DUT reply until host time has caught up with the emulated time it took.")
def runner_cmd(runner_dir: Path, runner_args: tuple[str, ...], target: str, platform_name: str | None,
               pace: bool) -> None:
    """Run the official MLPerf Tiny runner's main.py, unmodified, against emulated devices.

    Example: tinyperf runner ~/tiny/benchmark/runner --bench kws -- -m e -d devices_kws_ic_vww.yaml -s datasets

    Modes p and a see the emulated DUT; mode e sees an emulated interface board and LPM01A
    (modeled power).  Ports get the USB ids of the runner's own device list."""
    from harness import launcher
    from harness.serve import Server

    args = list(runner_args)
    mode = launcher.runner_mode(args)
    if mode not in launcher.MODES:
        raise CliError(f"runner mode '{mode}' is not one of p, a, e", EXIT_USAGE)
    platform = _platform(platform_name)
    devices = launcher.load_devices(launcher.device_list(runner_dir, args))
    firmware, _bench = _firmware(target, platform)
    elf = firmware.path
    model = _energy_model(platform) if mode == "e" else None
    window = _window(firmware, None)
    cpi = _serve_cpi(platform, firmware, False, window)
    server = Server(platform, firmware, pace=pace, cycles_for=(lambda n: round(n * cpi)) if cpi else (lambda n: n),
                    exact_windows=mode == "e", window=window,
                    memory_for=_window_memory(platform, firmware, False) if mode == "e" else None)
    device = server
    try:
        if model is not None:
            from harness.benchdevices import EnergyBench
            device = EnergyBench(server, model)
            paths = device.start()
            interface = "arduino" if any(d.get("name") == "arduino" for d in devices) else None
            ports = [launcher.Port(paths["interface"], *launcher.usb_ids(devices, "interface", interface),
                                   "tinyperf emulated interface board"),
                     launcher.Port(paths["power"], *launcher.usb_ids(devices, "power", "lpm01a"),
                                   "tinyperf emulated LPM01A")]
        else:
            ports = [launcher.Port(server.start(), *launcher.usb_ids(devices, "dut"), "tinyperf emulated DUT")]
        pump = threading.Thread(target=server.serve_forever, name="serve", daemon=True)
        pump.start()
        click.echo(f"tinyperf: runner mode {mode} on {platform.name} ({elf}); ports: "
                   + ", ".join(f"{p.path} {p.vid:04x}:{p.pid:04x}" for p in ports), err=True)
        code = launcher.run_main(runner_dir, args, ports)
    finally:
        server.request_stop()
        device.close()
    if code:
        raise CliError(f"the runner exited with status {code}", code)


def _energy_model(platform):
    """The platform's power model, or a usage error naming the platforms that have one."""
    from harness.runner import power_model

    model = power_model(platform)
    if model is None:
        have = ", ".join(p.name for p in catalog().values() if p.power)
        raise CliError(f"{platform.name} has no power model ([power] table in {platform.source.name}); "
                       f"use one of: {have}", EXIT_USAGE)
    return model


def _window_memory(platform, firmware: FirmwareImage, icount: bool):
    """Per-input memory counts for exact energy windows on boards with memory timing (None elsewhere)."""
    from harness.runner import memory_per_input

    return memory_per_input(platform, firmware, icount) if platform.memory_timing.modelled else None

def _bounded_input(stream, name: str) -> bytes:
    """UART input for exec, refused past MAX_INPUT_BYTES (/dev/zero would fill memory)."""
    data = stream.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise CliError(f"{name} holds more than {MAX_INPUT_BYTES // 2**20} MiB of UART input: "
                       "the emulated UART takes about 25 kB/s; pass a smaller --input", EXIT_USAGE)
    return data


def _serve_cpi(platform, firmware: FirmwareImage, icount: bool, window) -> float | None:
    """The CPI of the firmware's official perf window, measured once before
    serving, so lap times are cycles at the platform clock as in `tinyperf run`
    (None for firmware that is not an MLPerf Tiny benchmark: then CPI 1)."""
    from harness.runner import measure_perf

    if window is None:
        click.echo("tinyperf: no measurement window in the firmware; lap times use 1 cycle per instruction", err=True)
        return None
    try:
        perf = measure_perf(None, platform, firmware, icount=icount, window=window)
    except TinyperfError as err:
        click.echo(f"tinyperf: no cycle calibration ({err}); lap times use 1 cycle per instruction", err=True)
        return None
    if perf.cpi is None:  # no block counts for the window (e.g. a backend without them)
        click.echo("tinyperf: no cycle calibration (no block counts); lap times use 1 cycle per instruction", err=True)
        return None
    click.echo(f"tinyperf: {perf.cycle_model}: CPI {perf.cpi:.4f} on the perf window; lap times are cycles "
               f"at {platform.clock_mhz:g} MHz", err=True)
    return perf.cpi


def _interrupt(signum, frame) -> None:
    """The first Ctrl-C (or SIGTERM) unwinds the command; later ones are ignored, so that its
    clean-up (emulators reaped, results flushed, the one 'interrupted' line) runs to the end
    instead of the process dying by the signal half-way."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def _fail(message: str, code: int) -> None:
    """The one line every error ends in (never wrapped, so scripts can grep it)."""
    click.echo(f"tinyperf: error: {' '.join(message.split())}", err=True)
    sys.exit(code)


def _command_path(ctx: click.Context | None) -> str:
    return ctx.command_path if ctx is not None else "tinyperf"


def main() -> None:
    """Entry point: every error is one line on stderr and a non-zero exit."""
    signal.signal(signal.SIGTERM, _interrupt)
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # a script's background job keeps ignoring it
        signal.signal(signal.SIGINT, _interrupt)
    try:
        cli.main(standalone_mode=False, prog_name="tinyperf")
    except TinyperfError as err:
        _fail(str(err), err.exit_code)
    except click.exceptions.Abort:
        err_console.print("tinyperf: interrupted", highlight=False)
        sys.exit(EXIT_INTERRUPTED)
    except click.exceptions.NoArgsIsHelpError as err:  # bare `tinyperf`: the help, as a usage error
        click.echo(err.ctx.get_help(), err=True)
        sys.exit(err.exit_code)
    except click.UsageError as err:  # click's own three lines (Usage/Try/Error) become ours
        _fail(f"{err.format_message().rstrip('.')} (see '{_command_path(err.ctx)} --help')", err.exit_code)
    except click.ClickException as err:
        _fail(err.format_message(), err.exit_code)
    except KeyboardInterrupt:
        err_console.print("tinyperf: interrupted", highlight=False)
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        sys.exit(1)
    except OSError as err:  # a file we read or write: full disk, no permission, ...
        where = f"{err.filename}: " if err.filename else ""
        _fail(f"{where}{err.strerror or err}", 1)
    except Exception as err:  # a bug of ours: still one line, the traceback on request
        if os.environ.get("TINYPERF_DEBUG"):
            raise
        _fail(f"internal error: {type(err).__name__}: {err} (set TINYPERF_DEBUG=1 for the traceback and report it)", 1)


if __name__ == "__main__":
    main()
